from django.conf import settings
from django.contrib import admin
from django.urls import path, re_path
from django.utils.translation import gettext_lazy as _

from uploads import views as upload_views

admin.site.site_header = _("KPU results portal")
admin.site.site_title = _("KPU results portal")
admin.site.index_title = _("C1 forms, scans and regions")

urlpatterns = [
    path("admin/", admin.site.urls),
]

if settings.MEDIA_URL.startswith("/"):
    # Public renditions from the local store, when no web server or bucket serves them.
    urlpatterns += [re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.+)$", upload_views.rendition)]
