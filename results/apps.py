from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResultsConfig(AppConfig):
    name = "results"
    verbose_name = _("Results")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .models import Contest
        from .selectors import contest_areas_forget

        post_save.connect(contest_areas_forget, sender=Contest, dispatch_uid="contest-areas-forget-on-save")
        post_delete.connect(contest_areas_forget, sender=Contest, dispatch_uid="contest-areas-forget-on-delete")
