"""The public site's addresses: one permalink per contest, region and TPS, in Indonesian or under /en/."""

from django.urls import path, register_converter

from . import feeds, views


class CodeConverter:
    """A region or TPS code, dotted or KPU's undotted: 61.71.06.1001.001 or 6171061001001."""

    regex = r"[0-9][0-9.]*"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(CodeConverter, "code")

app_name = "results"
urlpatterns = [
    path("", views.home, name="home"),
    path("cari/", views.search, name="search"),
    path("cek-digest/", views.digests_howto, name="digests"),
    path("<slug:election>/<slug:contest>/", views.region, name="region"),
    path("<slug:election>/<slug:contest>/widget/", views.widget, name="widget"),
    path("<slug:election>/<slug:contest>/<code:code>/", views.region, name="region"),
    path("<slug:election>/<slug:contest>/<code:code>/widget/", views.widget, name="widget"),
    path("<slug:election>/<slug:contest>/feed/", feeds.ContestFeed(), name="feed"),
    path("<slug:election>/<slug:contest>/<code:code>/feed/", feeds.ContestFeed(), name="feed"),
]
