"""The public site: thin views over results/selectors.py, answered from the page cache (results/pages.py)."""

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.clickjacking import xframe_options_exempt

from . import codes, pages, selectors
from .models import Contest

CONTENT_TYPES = {
    "page": "text/html; charset=utf-8",
    "widget": "text/html; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}


def home(request):
    context = {"contests": selectors.contests_public(), **pages.language_switch("results:home")}
    return render(request, "results/home.html", context)


def region(request, election, contest, code=""):
    """A region page at any level, or a TPS page: both live under one permalink scheme."""
    if code:
        dotted = station_code(code) or _code(codes.normalize_region_code, code)
        if dotted != code:  # KPU's undotted spelling: one permalink per region or TPS
            return redirect("results:region", election=election, contest=contest, code=dotted, permanent=True)
        if station_code(code):
            return station_response(request, election=election, contest=contest, code=code, kind="page")
    return region_response(request, election=election, contest=contest, code=code, kind="page")


@xframe_options_exempt
def widget(request, election, contest, code=""):
    """The results of one (contest, region) for another site's iframe."""
    return region_response(request, election=election, contest=contest, code=code, kind="widget")


def station_code(code):
    """The dotted TPS code if `code` spells one, else None (it may be a region's)."""
    try:
        return codes.normalize_station_code(code)
    except codes.CodeError:
        return None


def _code(normalize, code):
    try:
        return normalize(code)
    except codes.CodeError as bad:
        raise Http404(str(bad)) from bad


def region_response(request, *, election, contest, code, kind):
    """A region (code "" = the contest's whole area) as a page, a widget, JSON or CSV, from the page cache."""
    version = pages.page_version_recent(election, contest, code)
    if version is None:
        raise Http404("no such contest")
    if kind == "page" and code and code == version.area_code:  # the contest's own area: one address
        return redirect("results:region", election=election, contest=contest, permanent=True)

    def render_body():
        found = selectors.contest_get(election_slug=election, contest_slug=contest)
        return pages.region_body(found, version.code, kind=kind)

    return pages.page_respond(
        request,
        response_class=HttpResponse,
        key=pages.page_key(kind, version.contest_id, version.code, version.version, translation.get_language()),
        last_modified=version.changed_at,
        render=render_body,
        content_type=CONTENT_TYPES[kind],
    )


def station_response(request, *, election, contest, code, kind):
    """A TPS as a page, JSON or CSV: cached under its current reading, its state and its scans."""
    found = selectors.contest_area(election_slug=election, contest_slug=contest)
    if found is None:
        raise Http404("no such contest")
    contest_id, _area_code = found

    def render_body():
        return pages.station_body(selectors.contest_get(election_slug=election, contest_slug=contest), code, kind=kind)

    return pages.page_respond(
        request,
        response_class=HttpResponse,
        key=pages.page_key(
            f"tps-{kind}", contest_id, code, pages.station_version_recent(contest_id, code), translation.get_language()
        ),
        last_modified=None,
        render=render_body,
        content_type=CONTENT_TYPES[kind],
    )


def digests_howto(request):
    return render(request, "results/digests.html", pages.language_switch("results:digests"))


def search(request):
    query = request.GET.get("q", "")[:100]
    context = {"query": query, "found": search_hits(query), **pages.language_switch("results:search")}
    return render(request, "results/search.html", context)


def search_hits(query):
    """[(kind, code, name, [(contest, url)])] for a search: each hit's page in every contest covering it."""
    regions, stations = selectors.search(query)
    contests = list(Contest.objects.select_related("election", "region"))
    hits = [("tps", station.code, f"TPS {station.code}") for station in stations]
    hits += [("region", region.code, f"{region.name} ({region.code})") for region in regions]
    return [
        (kind, code, name, [(contest, pages.page_url(contest, code)) for contest in contests if contest.covers(code)])
        for kind, code, name in hits
    ]
