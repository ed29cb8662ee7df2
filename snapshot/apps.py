from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SnapshotConfig(AppConfig):
    name = "snapshot"
    verbose_name = _("static snapshot")
