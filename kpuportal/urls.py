from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("KPU results portal")
admin.site.site_title = _("KPU results portal")
admin.site.index_title = _("C1 forms, scans and regions")

urlpatterns = [
    path("admin/", admin.site.urls),
]

# Development only; in production scans are served by nginx or the bucket.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
