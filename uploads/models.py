"""Scans of C1 forms and the uploads that brought them."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Scan(models.Model):
    """One scanned page of a C1 form, stored once by the sha256 of its bytes.

    The raw file is written before the row is committed and is never
    overwritten or deleted; ingestion only adds renditions beside it.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("received")
        PROCESSING = "processing", _("processing")
        READY = "ready", _("ready")
        REJECTED = "rejected", _("rejected")

    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True, editable=False)
    tally = models.ForeignKey(
        "results.Tally", verbose_name=_("C1 form"), on_delete=models.PROTECT, related_name="scans"
    )
    page = models.PositiveSmallIntegerField(_("page"), default=1, validators=[MinValueValidator(1)])
    raw = models.FileField(_("raw file"), max_length=200, editable=False)
    original_name = models.CharField(_("file name"), max_length=255)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED)
    # The sweeper re-queues scans whose status has not moved for a while.
    status_changed_at = models.DateTimeField(_("status changed at"), auto_now_add=True)
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("ingest attempts"), default=0)
    image_format = models.CharField(_("format"), max_length=8, blank=True)
    width = models.PositiveIntegerField(_("width (px)"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height (px)"), null=True, blank=True)
    web = models.FileField(_("web rendition"), max_length=200, blank=True, editable=False)
    web_sha256 = models.CharField(_("web rendition SHA-256"), max_length=64, blank=True, editable=False)
    thumbnail = models.FileField(_("thumbnail"), max_length=200, blank=True, editable=False)
    thumbnail_sha256 = models.CharField(_("thumbnail SHA-256"), max_length=64, blank=True, editable=False)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("C1 scan")
        verbose_name_plural = _("C1 scans")
        ordering = ["tally", "page", "uploaded_at"]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="scan_status_age")]

    def __str__(self):
        return f"{self.tally.station.code} p.{self.page} ({self.sha256[:12]})"


class UploadBatch(models.Model):
    """What one officer sent in one go: the pages of one form, or a bulk set of files."""

    contest = models.ForeignKey(
        "results.Contest", verbose_name=_("contest"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")
        ordering = ["-uploaded_at"]

    def __str__(self):
        return f"{self.uploaded_by} · {self.uploaded_at:%Y-%m-%d %H:%M}"


class BatchFile(models.Model):
    """One file of an upload and what became of it."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        DUPLICATE = "duplicate", _("duplicate")
        REJECTED = "rejected", _("rejected")

    batch = models.ForeignKey(UploadBatch, verbose_name=_("upload"), on_delete=models.CASCADE, related_name="files")
    name = models.CharField(_("file name"), max_length=255)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    reason = models.TextField(_("reason"), blank=True)
    scan = models.ForeignKey(
        Scan, verbose_name=_("scan"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("uploaded file")
        verbose_name_plural = _("uploaded files")
        ordering = ["batch", "id"]

    def __str__(self):
        return f"{self.name}: {self.get_outcome_display()}"
