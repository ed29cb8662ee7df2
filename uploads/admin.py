from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from results.admin import AppendOnlyAdmin, RegencyFilter, RegionScopedAdmin
from results.selectors import user_sees_everything

from .forms import BulkUploadForm, FormPagesUploadForm
from .models import BatchFile, Scan, UploadBatch
from .services import UploadRefused, upload_bulk, upload_form_pages


def _thumbnail(scan):
    if scan is None or not scan.thumbnail:
        return "-"
    return format_html('<img class="scan-thumbnail" src="{}" alt="" loading="lazy">', scan.thumbnail.url)


@admin.register(Scan)
class ScanAdmin(AppendOnlyAdmin, RegionScopedAdmin):
    class Media:
        css = {"all": ["uploads/admin.css"]}

    region_code_path = "tally__station__code"
    list_display = ["preview", "station_code", "page", "status", "rejection_reason", "uploaded_by", "uploaded_at"]
    list_filter = ["status", RegencyFilter, "tally__contest"]
    list_select_related = ["tally__station__village", "tally__contest", "uploaded_by"]
    search_fields = ["tally__station__code", "sha256", "original_name"]
    readonly_fields = [field.name for field in Scan._meta.fields] + ["preview_large"]
    show_full_result_count = False

    @admin.display(description=_("scan"))
    def preview(self, scan):
        return _thumbnail(scan)

    @admin.display(description=_("TPS"), ordering="tally__station__code")
    def station_code(self, scan):
        return scan.tally.station.code

    @admin.display(description=_("web rendition"))
    def preview_large(self, scan):
        if not scan.web:
            return "-"
        return format_html('<a href="{}"><img class="scan-web" src="{}" alt=""></a>', scan.web.url, scan.web.url)

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="uploads_scan_upload"),
            path("bulk-upload/", self.admin_site.admin_view(self.bulk_upload_view), name="uploads_scan_bulk_upload"),
        ] + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:uploads_scan_upload")

    def _upload_page(self, request, form_class, title, upload):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = form_class(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                batch = upload(form.cleaned_data, request.user)
            except (PermissionDenied, UploadRefused) as refused:
                form.add_error(None, getattr(refused, "reason", None) or str(refused))
            else:
                messages.success(request, _("Upload received. The report below shows each file."))
                return redirect("admin:uploads_uploadbatch_change", batch.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "opts": self.opts,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/uploads/scan/upload.html", context)

    def upload_view(self, request):
        def upload(data, user):
            return upload_form_pages(
                contest=data["contest"],
                station=data["station"],
                files=[(file.name, file.read()) for file in data["files"]],
                first_page=data["first_page"],
                uploaded_by=user,
            )

        return self._upload_page(request, FormPagesUploadForm, _("Upload the pages of one C1 form"), upload)

    def bulk_upload_view(self, request):
        def upload(data, user):
            # A generator: each file is read only when its turn comes.
            files = ((file.name, file.read()) for file in data["files"])
            return upload_bulk(contest=data["contest"], files=files, uploaded_by=user)

        return self._upload_page(request, BulkUploadForm, _("Bulk upload of C1 scans"), upload)


class BatchFileInline(admin.TabularInline):
    model = BatchFile
    fields = ["name", "outcome", "reason", "scan_status", "preview"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("scan__tally__station")

    @admin.display(description=_("scan status"))
    def scan_status(self, batch_file):
        if batch_file.scan is None:
            return "-"
        scan = batch_file.scan
        status = scan.get_status_display()
        return f"{status}: {scan.rejection_reason}" if scan.rejection_reason else status

    @admin.display(description=_("scan"))
    def preview(self, batch_file):
        return _thumbnail(batch_file.scan)


# Per upload, computed in the list's one query rather than once per row.
PROGRESS = {
    "file_count": Count("files"),
    "ready_count": Count("files", filter=Q(files__scan__status=Scan.Status.READY)),
    "rejected_count": Count(
        "files",
        filter=Q(files__outcome=BatchFile.Outcome.REJECTED) | Q(files__scan__status=Scan.Status.REJECTED),
    ),
    "waiting_count": Count("files", filter=Q(files__scan__status__in=[Scan.Status.RECEIVED, Scan.Status.PROCESSING])),
}


@admin.register(UploadBatch)
class UploadBatchAdmin(AppendOnlyAdmin):
    """The upload report: one line per file, and how far ingestion has come."""

    class Media:
        css = {"all": ["uploads/admin.css"]}

    list_display = ["uploaded_at", "uploaded_by", "contest", "progress"]
    list_select_related = ["uploaded_by", "contest"]
    readonly_fields = ["contest", "uploaded_by", "uploaded_at", "progress"]
    inlines = [BatchFileInline]

    def get_queryset(self, request):
        batches = super().get_queryset(request).annotate(**PROGRESS)
        if user_sees_everything(request.user):
            return batches
        return batches.filter(uploaded_by=request.user)

    def has_add_permission(self, request):
        return False  # uploads are added through the scan upload pages

    @admin.display(description=_("progress"))
    def progress(self, batch):
        return format_html(
            '<progress class="upload-progress" value="{}" max="{}"></progress> {}',
            batch.ready_count + batch.rejected_count,
            batch.file_count,
            _("%(ready)d ready, %(rejected)d rejected, %(waiting)d waiting, of %(files)d files")
            % {
                "ready": batch.ready_count,
                "rejected": batch.rejected_count,
                "waiting": batch.waiting_count,
                "files": batch.file_count,
            },
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = self.get_object(request, object_id)
        waiting = batch.waiting_count if batch else 0
        extra_context = {
            **(extra_context or {}),
            "waiting": waiting,
            "upload_url": reverse("admin:uploads_scan_upload"),
        }
        return super().change_view(request, object_id, form_url, extra_context)
