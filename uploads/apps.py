from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = _("C1 scans and uploads")

    def ready(self):
        # Services queue tasks by name: register them in every process, not
        # only in workers (where Celery's autodiscovery would find them).
        from . import tasks  # noqa: F401
