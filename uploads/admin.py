from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, TooManyFilesSent
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, Value
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from results.access import scope_q, user_sees_everything
from results.admin_base import AppendOnlyAdmin, RegencyFilter, RegionScopedAdmin

from . import views
from .forms import BulkUploadForm, FormPagesUploadForm
from .models import BatchFile, Scan, UploadBatch
from .services import UploadRefused, batch_receive


def _thumbnail(scan):
    if scan is None or not scan.thumbnail:
        return "-"
    return format_html('<img class="scan-thumbnail" src="{}" alt="" loading="lazy">', scan.thumbnail.url)


class FiledTwiceFilter(admin.SimpleListFilter):
    """Scans whose same bytes were also uploaded for another TPS: a sign of a misfiled form."""

    title = _("filed for another TPS too")
    parameter_name = "filed_twice"

    def lookups(self, request, model_admin):
        return [("yes", _("yes"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            elsewhere = BatchFile.objects.filter(station__isnull=False).exclude(station=F("scan__tally__station"))
            return queryset.filter(pk__in=elsewhere.values("scan"))
        return queryset


@admin.register(Scan)
class ScanAdmin(AppendOnlyAdmin, RegionScopedAdmin):
    class Media:
        css = {"all": ["uploads/admin.css"]}

    region_code_path = "tally__station__code"
    list_display = ["preview", "station_code", "page", "status", "reason", "uploaded_by", "uploaded_at"]
    list_filter = ["status", FiledTwiceFilter, RegencyFilter, "tally__contest"]
    list_select_related = ["tally__station__village", "tally__contest", "uploaded_by"]
    search_fields = ["tally__station__code", "sha256", "original_name"]
    fields = [
        "tally",
        "page",
        "status",
        "reason",
        "preview_large",
        "full_size",
        "original",
        "original_name",
        "size_bytes",
        "sha256",
        "image_format",
        "width",
        "height",
        "web_sha256",
        "thumbnail_sha256",
        "full_sha256",
        "uploaded_by",
        "uploaded_at",
        "processed_at",
        "attempts",
        "filed_for",
    ]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description=_("scan"))
    def preview(self, scan):
        return _thumbnail(scan)

    @admin.display(description=_("TPS"), ordering="tally__station__code")
    def station_code(self, scan):
        return scan.tally.station.code

    @admin.display(description=_("reason for rejection"))
    def reason(self, scan):
        return scan.rejection_reason or "-"

    @admin.display(description=_("web rendition"))
    def preview_large(self, scan):
        if not scan.web:
            return "-"
        return format_html('<a href="{}"><img class="scan-web" src="{}" alt=""></a>', scan.web.url, scan.web.url)

    @admin.display(description=_("full-size rendition"))
    def full_size(self, scan):
        """Public and free of metadata, unlike the original below; blank on scans ingested before it existed."""
        if not scan.full:
            return "-"
        return format_html('<a href="{}">{}</a>', scan.full.url, _("Open the full-size image"))

    @admin.display(description=_("original file"))
    def original(self, scan):
        """Staff only, through an authorised view: the original may carry the officer's GPS position."""
        url = reverse("admin:uploads_scan_original", args=[scan.pk])
        return format_html('<a href="{}">{}</a>', url, _("Open the file as uploaded"))

    @admin.display(description=_("also uploaded for"))
    def filed_for(self, scan):
        others = (
            BatchFile.objects.filter(scan=scan)
            .exclude(station=scan.tally.station)
            .exclude(station__isnull=True)
            .select_related("station", "batch__uploaded_by")
        )
        if not others:
            return "-"
        return format_html_join(
            "",
            "<p>TPS {} · {} · {}</p>",
            ((line.station.code, line.page, line.batch) for line in others),
        )

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="uploads_scan_upload"),
            path("bulk-upload/", self.admin_site.admin_view(self.bulk_upload_view), name="uploads_scan_bulk_upload"),
            path(
                "<path:object_id>/original/",
                self.admin_site.admin_view(self.original_view),
                name="uploads_scan_original",
            ),
        ] + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:uploads_scan_upload")

    def original_view(self, request, object_id):
        return self._answer_outside_region(self._original, request, object_id)

    def _original(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        scan = self.get_object(request, object_id)
        if scan is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return views.original_response(scan)

    def _upload_page(self, request, form_class, title, upload):
        if not self.has_add_permission(request):
            raise PermissionDenied
        refused = None
        try:
            form = form_class(request.POST or None, request.FILES or None)
        except TooManyFilesSent:
            form = form_class()
            refused = UploadRefused("too_many_files", limit=settings.DATA_UPLOAD_MAX_NUMBER_FILES)
        if request.method == "POST" and form.is_bound and form.is_valid():
            try:
                batch = upload(form.cleaned_data, request.user)
            except UploadRefused as upload_refused:
                refused = upload_refused
            else:
                messages.success(request, _("Upload received. The report below shows each file."))
                return redirect("admin:uploads_uploadbatch_change", batch.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "refused": refused,
            "opts": self.opts,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/uploads/scan/upload.html", context)

    def upload_view(self, request):
        def upload(data, user):
            return batch_receive(
                contest=data["contest"],
                station=data["station"],
                files=data["files"],
                first_page=data["first_page"],
                uploaded_by=user,
            )

        return self._upload_page(request, FormPagesUploadForm, _("Upload the pages of one C1 form"), upload)

    def bulk_upload_view(self, request):
        def upload(data, user):
            return batch_receive(contest=data["contest"], files=data["files"], uploaded_by=user)

        return self._upload_page(request, BulkUploadForm, _("Bulk upload of C1 scans"), upload)


class BatchFileInline(admin.TabularInline):
    model = BatchFile
    fields = ["name", "tps", "result", "why", "preview"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        # A duplicate may point at a scan of another region: its thumbnail is not this user's to see.
        if user_sees_everything(request.user):
            visible = Value(True)
        else:
            visible = ExpressionWrapper(scope_q(request.user, "scan__tally__station__code"), BooleanField())
        lines = super().get_queryset(request).select_related("scan__tally__station", "station")
        return lines.annotate(scan_visible=visible)

    @admin.display(description=_("TPS"))
    def tps(self, line):
        return f"{line.station.code} · {line.page}" if line.station else "-"

    @admin.display(description=_("outcome"))
    def result(self, line):
        """The final word on the file: an accepted file whose scan was then rejected reads as rejected."""
        scan = line.scan
        if line.outcome == BatchFile.Outcome.ACCEPTED and scan is not None:
            if scan.status == Scan.Status.REJECTED:
                return _("rejected")
            if scan.status == Scan.Status.READY:
                return _("accepted, ready")
            return _("accepted, being checked")
        return line.get_outcome_display()

    @admin.display(description=_("reason"))
    def why(self, line):
        if line.outcome == BatchFile.Outcome.ACCEPTED and line.scan is not None and line.scan.rejection_code:
            return line.scan.rejection_reason
        return line.reason or ""

    @admin.display(description=_("scan"))
    def preview(self, line):
        return _thumbnail(line.scan) if line.scan_visible else "-"


# Per upload, computed in the list's one query rather than once per row.
PROGRESS = {
    "file_count": Count("files"),
    "ready_count": Count(
        "files", filter=Q(files__outcome=BatchFile.Outcome.ACCEPTED, files__scan__status=Scan.Status.READY)
    ),
    "rejected_count": Count(
        "files",
        filter=Q(files__outcome=BatchFile.Outcome.REJECTED)
        | Q(files__outcome=BatchFile.Outcome.ACCEPTED, files__scan__status=Scan.Status.REJECTED),
    ),
    "duplicate_count": Count("files", filter=Q(files__outcome=BatchFile.Outcome.DUPLICATE)),
    "waiting_count": Count(
        "files",
        filter=Q(
            files__outcome=BatchFile.Outcome.ACCEPTED,
            files__scan__status__in=[Scan.Status.RECEIVED, Scan.Status.PROCESSING],
        ),
    ),
}


@admin.register(UploadBatch)
class UploadBatchAdmin(AppendOnlyAdmin):
    """The upload report: one line per file, and how far unpacking and ingestion have come."""

    class Media:
        css = {"all": ["uploads/admin.css"]}

    list_display = ["uploaded_when", "uploaded_by", "contest", "progress"]
    list_select_related = ["uploaded_by", "contest"]
    fields = ["contest", "station", "uploaded_by", "uploaded_when", "progress"]
    readonly_fields = fields
    inlines = [BatchFileInline]

    def get_queryset(self, request):
        batches = super().get_queryset(request).annotate(**PROGRESS)
        if user_sees_everything(request.user):
            return batches
        return batches.filter(uploaded_by=request.user)

    def has_add_permission(self, request):
        return False  # uploads are added through the scan upload pages

    @admin.display(description=_("uploaded at"), ordering="uploaded_at")
    def uploaded_when(self, batch):
        """With its zone named (WIB), as in the title."""
        local = timezone.localtime(batch.uploaded_at)
        return f"{date_format(local, 'DATETIME_FORMAT')} {local.tzname()}"

    @admin.display(description=_("progress"))
    def progress(self, batch):
        done = batch.ready_count + batch.rejected_count + batch.duplicate_count
        counts = {
            "ready": batch.ready_count,
            "rejected": batch.rejected_count,
            "duplicates": batch.duplicate_count,
            "waiting": batch.waiting_count,
            "files": batch.file_count,
        }
        if batch.status != UploadBatch.Status.UNPACKED:
            # The number of files is known only once every zip is open.
            return format_html(
                '<progress class="upload-progress"></progress> {}',
                _("Unpacking: %(files)d files reported so far.") % counts,
            )
        return format_html(
            '<progress class="upload-progress" value="{}" max="{}"></progress> {}',
            done,
            batch.file_count,
            _(
                "%(ready)d ready, %(rejected)d rejected, %(duplicates)d duplicates, %(waiting)d waiting, "
                "of %(files)d files"
            )
            % counts,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = self.get_object(request, object_id)
        waiting = batch is not None and (batch.waiting_count or batch.status != UploadBatch.Status.UNPACKED)
        extra_context = {
            **(extra_context or {}),
            "waiting": waiting,
            "upload_url": reverse("admin:uploads_scan_upload"),
        }
        return super().change_view(request, object_id, form_url, extra_context)
