"""Give every existing contest a slug made from its name, unique within its election."""

from django.db import migrations
from django.utils.text import slugify


def fill_contest_slug(apps, schema_editor):
    Contest = apps.get_model("results", "Contest")
    taken = set()
    for contest in Contest.objects.order_by("pk"):
        base = slugify(contest.name)[:45] or f"contest-{contest.pk}"
        slug, n = base, 1
        while (contest.election_id, slug) in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add((contest.election_id, slug))
        contest.slug = slug
        contest.save(update_fields=["slug"])


class Migration(migrations.Migration):
    dependencies = [("results", "0004_contest_slug")]

    operations = [migrations.RunPython(fill_contest_slug, migrations.RunPython.noop)]
