from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _

from kpuportal import health
from results.api import api
from snapshot import views as snapshot_views
from uploads import views as upload_views

admin.site.site_header = _("KPU results portal")
admin.site.site_title = _("KPU results portal")
admin.site.index_title = _("C1 forms, scans and regions")

urlpatterns = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("snapshot/public-key.pem", snapshot_views.public_key, name="snapshot-public-key"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
if settings.MEDIA_URL.startswith("/"):
    # Public renditions from the local store, when no web server or bucket serves them.
    urlpatterns += [re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.+)$", upload_views.rendition)]

# The public site: Indonesian at /, English at /en/, so every page is one
# cacheable URL per language (no cookie, no Accept-Language guessing).
urlpatterns += i18n_patterns(path("", include("results.urls")), prefix_default_language=False)
