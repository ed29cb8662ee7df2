"""Raw uploads used to sit in the public store beside the renditions; move them to the private one."""

from django.core.files.storage import default_storage
from django.db import migrations


def move_raw_scans(apps, schema_editor):
    from uploads.storage import private_storage

    Scan = apps.get_model("uploads", "Scan")
    for name in Scan.objects.values_list("raw", flat=True).iterator():
        if not default_storage.exists(name):
            continue
        if not private_storage.exists(name):
            with default_storage.open(name, "rb") as raw:
                private_storage.save(name, raw)
        default_storage.delete(name)


class Migration(migrations.Migration):
    dependencies = [("uploads", "0002_scans_private_reasons_batches")]

    operations = [migrations.RunPython(move_raw_scans, migrations.RunPython.noop, elidable=True)]
