"""Uploads made before unpacking moved into a task were unpacked in their request already."""

from django.db import migrations


def mark_unpacked(apps, schema_editor):
    apps.get_model("uploads", "UploadBatch").objects.update(status="unpacked")


class Migration(migrations.Migration):
    dependencies = [("uploads", "0003_move_raw_scans_to_private_store")]

    operations = [migrations.RunPython(mark_unpacked, migrations.RunPython.noop, elidable=True)]
