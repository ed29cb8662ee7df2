from django.db import migrations

# Every publish updates the totals of each ancestor region: the whole country's and the province's
# rows thousands of times an hour. Left to autovacuum's default (a fifth of the table dead before
# it comes), their dead versions pile up and every publish slows down; bench/tallies.py holds the
# rate flat only by vacuuming these two small tables every few seconds. Here autovacuum comes as
# soon as a thousand row versions are dead, without pausing.
SETTINGS = "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0"
TABLES = ("results_regionresult", "results_candidateresult")


def vacuumed_often(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET ({SETTINGS})")


def vacuumed_by_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        names = ", ".join(setting.split(" = ")[0] for setting in SETTINGS.split(", "))
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET ({names})")


class Migration(migrations.Migration):
    dependencies = [("results", "0006_contest_slug_required")]

    operations = [migrations.RunPython(vacuumed_often, vacuumed_by_default)]
