from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("results", "0005_fill_contest_slug")]

    operations = [
        migrations.AlterField(
            model_name="contest",
            name="slug",
            field=models.SlugField(
                verbose_name="slug",
                help_text="“gubernur-kalbar”: the contest's part of its public address.",
            ),
        ),
        migrations.AddConstraint(
            model_name="contest",
            constraint=models.UniqueConstraint(fields=("election", "slug"), name="contest_slug_unique_per_election"),
        ),
    ]
