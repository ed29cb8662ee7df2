from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("results", "0003_region_result_version")]

    operations = [
        migrations.AddField(
            model_name="contest",
            name="slug",
            field=models.SlugField(
                null=True,
                verbose_name="slug",
                help_text="“gubernur-kalbar”: the contest's part of its public address.",
            ),
        ),
    ]
