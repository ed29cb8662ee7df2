"""Officers: accounts bound to the one region they may work in."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .regions import Region


class Officer(models.Model):
    """A district officer's account and the one region it may work in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="officer"
    )
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="officers")

    class Meta:
        verbose_name = _("officer")
        verbose_name_plural = _("officers")

    def __str__(self):
        return f"{self.user} · {self.region}"
