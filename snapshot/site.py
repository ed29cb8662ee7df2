"""Every file of the public site that the snapshot holds, with what its bytes depend on.

A page's `version` changes whenever its bytes may: the data version of its
(contest, region), the form's reading, state and scans for a TPS, and the
fingerprint of the site's own templates, translations and CSS, so a deploy
that changes a template renders everything again. An unchanged version means
the previous snapshot's file is still right.
"""

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from results import pages, selectors
from results.api import api
from results.models import WHOLE_COUNTRY, Contest, Region, RegionResult
from results.models.regions import subtree_q

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LANGUAGE = "id"


@dataclasses.dataclass(frozen=True)
class SitePage:
    path: str  # the URL path, as the live site serves it
    version: str
    render: Callable[[], bytes]
    unit: str = ""  # the region or TPS it is read from, "contest id:code"; empty for the site's own pages


@dataclasses.dataclass(frozen=True)
class Unchanged:
    """A region's or TPS's files, all at the version a layer's base holds: nothing to render, link or even name.

    Nationally a build meets ~900,000 of them; naming their 3.8 million files took about 10 s of each build.
    """

    unit: str
    files: int


def file_of(path):
    """Where a URL path lives in the snapshot: /a/b/ is a/b/index.html, /api/v1/x.json is itself."""
    relative = path.lstrip("/")
    return f"{relative}index.html" if not relative or relative.endswith("/") else relative


def site_fingerprint():
    """A digest of what the pages are made with besides the data: templates, translations, CSS."""
    digest = hashlib.sha256()
    for folder, pattern in (
        (ROOT / "templates" / "results", "*.html"),
        (ROOT / "locale", "**/*.mo"),
        (ROOT / "static" / "results", "*"),
    ):
        for path in sorted(folder.glob(pattern)):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _in(language, render):
    def rendered():
        with translation.override(language):
            return render()

    return rendered


def site_pages(unchanged=None):
    """Every page of the snapshot, contest by contest, as SitePage.

    unchanged: {unit: version} of a layer's base; a region or TPS still at that version comes as one Unchanged.
    """
    unchanged = unchanged or {}
    salt = site_fingerprint()
    contests = list(Contest.objects.select_related("election", "region").order_by("pk"))
    areas = {
        (row.contest_id, row.region_code): row.version
        for row in RegionResult.objects.filter(
            region_code__in={contest.area_code for contest in contests}, contest__in=contests
        )
    }
    home_version = f"{salt}:" + ",".join(f"{c.pk}.{c.slug}.{areas.get((c.pk, c.area_code), 0)}" for c in contests)
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            home = reverse("results:home")
            yield SitePage(home, home_version, _in(language, _home))
            for name, template in (
                ("results:digests", "results/digests.html"),
                ("results:search", "results/search.html"),
            ):
                yield SitePage(reverse(name), salt, _in(language, lambda template=template: _plain(template)))
    # What a web server in front answers for an address the snapshot lacks (deploy/nginx.conf).
    yield SitePage("/404.html", salt, _in(DEFAULT_LANGUAGE, lambda: _plain("404.html")))
    yield SitePage(reverse("api-1:contests"), home_version, _in(DEFAULT_LANGUAGE, _contests_json))
    yield SitePage(reverse("api-1:openapi-json"), salt, _in(DEFAULT_LANGUAGE, _openapi_json))
    reader = _Reader()
    for contest in contests:
        yield from _contest_pages(contest, salt, reader, unchanged)


def _home():
    return render_to_string(
        "results/home.html", {"contests": selectors.contests_public(), "static_copy": True}
    ).encode()


def _plain(template):
    return render_to_string(template, {"static_copy": True}).encode()


def _contests_json():
    return pages.contests_document().encode()


def _openapi_json():
    return json.dumps(api.get_openapi_schema(path_prefix="/api/v1/")).encode()


def _contest_pages(contest, salt, reader, unchanged):
    root = contest.area_code
    versions = dict(RegionResult.objects.filter(contest=contest).values_list("region_code", "version"))
    regions = Region.objects.all() if root == WHOLE_COUNTRY else Region.objects.filter(subtree_q(root))
    codes = ([WHOLE_COUNTRY] if root == WHOLE_COUNTRY else []) + list(
        regions.order_by("code").values_list("code", flat=True)
    )
    languages = [language for language, _name in settings.LANGUAGES]
    for code in codes:
        version, unit = f"{salt}:{versions.get(code, 0)}", f"{contest.pk}:{code}"
        if unchanged.get(unit) == version:
            yield Unchanged(unit, 2 * len(languages) + 2)
            continue
        for language in languages:
            yield SitePage(
                _address(contest, "page", code, language),
                version,
                _Render(reader, "region", contest, code, "page", language),
                unit,
            )
            yield SitePage(
                _address(contest, "widget", code, language),
                version,
                _Render(reader, "region", contest, code, "widget", language),
                unit,
            )
        for kind in ("json", "csv"):
            yield SitePage(
                _address(contest, kind, code, DEFAULT_LANGUAGE),
                version,
                _Render(reader, "region", contest, code, kind, DEFAULT_LANGUAGE),
                unit,
            )
    stations = selectors.station_versions(contest)
    for code in contest.stations().order_by("code").values_list("code", flat=True).iterator(chunk_size=5000):
        version, unit = f"{salt}:{stations.get(code, 'none')}", f"{contest.pk}:{code}"
        if unchanged.get(unit) == version:
            yield Unchanged(unit, len(languages) + 2)
            continue
        for language in languages:
            yield SitePage(
                _address(contest, "page", code, language),
                version,
                _Render(reader, "tps", contest, code, "page", language),
                unit,
            )
        for kind in ("json", "csv"):
            yield SitePage(
                _address(contest, kind, code, DEFAULT_LANGUAGE),
                version,
                _Render(reader, "tps", contest, code, kind, DEFAULT_LANGUAGE),
                unit,
            )


def _address(contest, kind, code, language):
    """The URL path of a region's or TPS's page, widget, JSON or CSV in `language`."""
    if kind == "page":
        return pages.page_url(contest, code, language)
    if kind == "widget":
        return pages.address("results:widget", contest, code, language)
    return pages.api_url(contest, code, kind, language)


class _Reader:
    """The regions and TPS a build renders, read a batch at a time (selectors.region_pages, station_pages).

    Read one by one, each cost six to ten queries, about half of a build's time;
    a batch of a hundred or more costs about as many queries as one.
    """

    def __init__(self):
        self.read = {}

    def ahead(self, renders):
        """Read together every region and TPS these renders need; what the last batch read and they need is kept."""
        kept, wanted = {}, {}
        for render in renders:
            key = render.key
            if key in self.read:
                kept[key] = self.read[key]
            elif key not in kept:
                wanted.setdefault((render.kind, render.contest.pk), (render.contest, []))[1].append(render.code)
                kept[key] = None
        for (kind, contest_id), (contest, codes) in wanted.items():
            batch = selectors.region_pages if kind == "region" else selectors.station_pages
            kept.update({(kind, contest_id, code): page for code, page in batch(contest, codes).items()})
        self.read = kept

    def page(self, render):
        found = self.read.get(render.key)
        if found is None:  # not read ahead, or gone since: read alone, with its Http404
            single = selectors.region_page if render.kind == "region" else selectors.station_page
            found = single(render.contest, render.code)
            self.read = {render.key: found}
        return found


@dataclasses.dataclass(frozen=True, eq=False)
class _Render:
    """One file of a region or TPS: its page in a language, widget, JSON or CSV."""

    reader: _Reader
    kind: str  # "region" or "tps"
    contest: Contest
    code: str
    form: str  # "page", "widget", "json" or "csv"
    language: str

    @property
    def key(self):
        return (self.kind, self.contest.pk, self.code)

    def __call__(self):
        body = pages.region_body if self.kind == "region" else pages.station_body
        with translation.override(self.language):
            return body(self.contest, self.code, kind=self.form, static_copy=True, page=self.reader.page(self))


def read_ahead(pages_due):
    """Read the regions and TPS of pages about to be rendered, together: a few queries for hundreds of them."""
    renders = [page.render for page in pages_due if isinstance(page.render, _Render)]
    for reader in {id(render.reader): render.reader for render in renders}.values():
        reader.ahead([render for render in renders if render.reader is reader])
