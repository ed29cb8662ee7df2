"""Scans of C1 forms and the uploads that brought them."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .reasons import Reason
from .storage import get_private_storage


class Scan(models.Model):
    """One scanned page of a C1 form, stored once by the sha256 of its bytes.

    The raw file is written before the row is committed and is never
    overwritten or deleted; ingestion only adds renditions beside it. The raw
    file lives in the private store; the renditions in the public one.
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
    raw = models.FileField(_("raw file"), max_length=200, editable=False, storage=get_private_storage)
    original_name = models.CharField(_("file name"), max_length=255)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED)
    # The sweeper re-queues scans whose status has not moved for a while.
    status_changed_at = models.DateTimeField(_("status changed at"), auto_now_add=True)
    rejection_code = models.CharField(_("reason for rejection"), max_length=40, blank=True)
    rejection_params = models.JSONField(_("details of the reason"), default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(_("ingest attempts"), default=0)
    image_format = models.CharField(_("format"), max_length=8, blank=True)
    width = models.PositiveIntegerField(_("width (px)"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height (px)"), null=True, blank=True)
    web = models.FileField(_("web rendition"), max_length=200, blank=True, editable=False)
    web_sha256 = models.CharField(_("web rendition SHA-256"), max_length=64, blank=True, editable=False)
    thumbnail = models.FileField(_("thumbnail"), max_length=200, blank=True, editable=False)
    thumbnail_sha256 = models.CharField(_("thumbnail SHA-256"), max_length=64, blank=True, editable=False)
    # Blank on scans ingested before it existed: the page shows the web rendition instead.
    full = models.FileField(_("full-size rendition"), max_length=200, blank=True, editable=False)
    full_sha256 = models.CharField(_("full-size rendition SHA-256"), max_length=64, blank=True, editable=False)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("C1 scan")
        verbose_name_plural = _("C1 scans")
        ordering = ["tally", "page", "uploaded_at"]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="scan_status_age")]

    def __str__(self):
        return f"{self.tally.station.code} p.{self.page} ({self.sha256[:12]})"

    @property
    def rejection_reason(self):
        """In the reader's language; None unless rejected."""
        return Reason(self.rejection_code, self.rejection_params) if self.rejection_code else None


class UploadBatch(models.Model):
    """What one officer sent in one go: the pages of one form, or a bulk set of files.

    The request only keeps what arrived (the Arrival rows, their bytes in the
    private store); a task then unpacks, names and stores each file, writing
    the report (BatchFile rows) line by line.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("received")
        UNPACKING = "unpacking", _("unpacking")
        UNPACKED = "unpacked", _("unpacked")

    contest = models.ForeignKey(
        "results.Contest", verbose_name=_("contest"), on_delete=models.PROTECT, related_name="+"
    )
    # Set for the pages of one form; empty for a bulk upload, whose file names say the TPS.
    station = models.ForeignKey(
        "results.PollingStation",
        verbose_name=_("TPS"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    first_page = models.PositiveSmallIntegerField(_("first page"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED)
    # The sweeper queues again an upload whose status has not moved for a while.
    status_changed_at = models.DateTimeField(_("status changed at"), auto_now_add=True)
    attempts = models.PositiveSmallIntegerField(_("unpack attempts"), default=0)

    class Meta:
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")
        ordering = ["-uploaded_at"]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="batch_status_age")]

    def __str__(self):
        # In the portal's zone, named (WIB), as every time the admin shows.
        return f"{self.uploaded_by} · {timezone.localtime(self.uploaded_at):%Y-%m-%d %H:%M %Z}"


class Arrival(models.Model):
    """One file as it arrived in the upload request (an image or a zip), kept by its sha256."""

    batch = models.ForeignKey(UploadBatch, verbose_name=_("upload"), on_delete=models.CASCADE, related_name="arrivals")
    position = models.PositiveIntegerField(_("position"))
    name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"))
    blob = models.FileField(_("file"), max_length=200, storage=get_private_storage)
    is_zip = models.BooleanField(_("zip archive"), default=False)
    unpacked = models.BooleanField(_("unpacked"), default=False)

    class Meta:
        verbose_name = _("arrived file")
        verbose_name_plural = _("arrived files")
        ordering = ["batch", "position"]
        constraints = [models.UniqueConstraint(fields=["batch", "position"], name="arrival_position_unique")]

    def __str__(self):
        return self.name


class BatchFile(models.Model):
    """One file of an upload and what became of it."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        DUPLICATE = "duplicate", _("duplicate")
        REJECTED = "rejected", _("rejected")

    batch = models.ForeignKey(UploadBatch, verbose_name=_("upload"), on_delete=models.CASCADE, related_name="files")
    # Which arrived file this line is, and which member of it (0: the file itself).
    # Unique, so that an unpack task run again skips the lines it wrote before.
    arrival = models.ForeignKey(
        Arrival, verbose_name=_("arrived file"), on_delete=models.CASCADE, null=True, related_name="lines"
    )
    member = models.PositiveIntegerField(_("member of the zip"), default=0)
    name = models.CharField(_("file name"), max_length=255)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    reason_code = models.CharField(_("reason"), max_length=40, blank=True)
    reason_params = models.JSONField(_("details of the reason"), default=dict, blank=True)
    # The TPS and page this file was uploaded for; a duplicate may differ from its scan's.
    station = models.ForeignKey(
        "results.PollingStation",
        verbose_name=_("TPS"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    page = models.PositiveSmallIntegerField(_("page"), null=True, blank=True)
    scan = models.ForeignKey(
        Scan, verbose_name=_("scan"), on_delete=models.PROTECT, null=True, blank=True, related_name="batch_files"
    )

    class Meta:
        verbose_name = _("uploaded file")
        verbose_name_plural = _("uploaded files")
        ordering = ["batch", "id"]
        constraints = [models.UniqueConstraint(fields=["arrival", "member"], name="batch_file_member_unique")]

    def __str__(self):
        return f"{self.name}: {self.get_outcome_display()}"

    @property
    def reason(self):
        """In the reader's language; None when there is nothing to say."""
        return Reason(self.reason_code, self.reason_params) if self.reason_code else None
