"""Public pages as bytes, cached under the data version of their (contest, region).

A page is rendered outside any request (no request in the template), so a
view answering a visitor and a worker re-rendering after a publish write the
same bytes under the same key. The key carries the version that every
publish under the region bumps in its own transaction (RegionResult.version):
a page can never be served for numbers older than the ones it was keyed by,
and no flush is ever needed. Old keys simply expire.
"""

import csv
import dataclasses
import hashlib
import io
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models.functions import Length
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from pydantic import TypeAdapter

from kpuportal.celery import task_queue

from . import codes, digests, schemas, selectors
from .models import WHOLE_COUNTRY, RegionResult, Tally

logger = logging.getLogger(__name__)

# A day: versions move on at every publish, so an entry is either current or never read again.
CACHE_SECONDS = 24 * 3600
# Browsers and any proxy in front: fresh for 30 s, then served stale while
# they revalidate, and for a day if the portal fails.
CACHE_CONTROL = {"public": True, "max_age": 30, "stale_while_revalidate": 60, "stale_if_error": 86400}


def page_key(kind, contest_id, code, version, language):
    return f"page:{kind}:{contest_id}:{code or '*'}:{version}:{language}"


# Each process remembers a page's version for a moment: the hottest pages are asked for many times a
# second, and a version a second old is as good as the nginx micro-cache in front. 0 turns it off.
_recent_versions = {}


def _remembered(key, read):
    seconds = settings.PAGE_VERSION_MEMO_SECONDS
    now = time.monotonic()
    found = _recent_versions.get(key)
    if seconds and found and found[0] > now:
        return found[1]
    version = read()
    if seconds and version is not None:
        if len(_recent_versions) > 10_000:
            _recent_versions.clear()
        _recent_versions[key] = (now + seconds, version)
    return version


def page_version_recent(election, contest, code):
    """selectors.page_version, remembered for PAGE_VERSION_MEMO_SECONDS in this process."""
    return _remembered(
        ("region", election, contest, code),
        lambda: selectors.page_version(election_slug=election, contest_slug=contest, code=code or None),
    )


def station_version_recent(contest_id, code):
    """selectors.station_version, remembered likewise."""
    return _remembered(("tps", contest_id, code), lambda: selectors.station_version(contest_id, code))


def memory_forget():
    """Empty this process's versions and pages: after a restore, or between tests."""
    _recent_versions.clear()
    _served.clear()


# The latest pages this process served, by key. A key carries its data version, so an entry is
# never wrong, only old; the dict is emptied when it grows, rather than tracking use.
_served = {}
_SERVED_MAX = 512


def page_fetch(key, render):
    """The cached bytes under `key`, or render and keep them. A cache that is down only costs the render."""
    body = _served.get(key)
    if body is not None:
        return body
    body = _redis_fetch(key, render)
    if len(_served) >= _SERVED_MAX:
        _served.clear()
    _served[key] = body
    return body


def _redis_fetch(key, render):
    try:
        body = cache.get(key)
    except Exception:  # the cache is an optimisation: Redis down must not take the pages down
        logger.warning("page cache unreachable, rendering %s", key, exc_info=True)
        return render()
    if body is None:
        body = render()  # Http404 and any error propagate: a failure is never cached
        page_store(key, body)
    return body


def page_store(key, body):
    try:
        cache.set(key, body, CACHE_SECONDS)
    except Exception:
        logger.warning("page cache unreachable, %s not kept", key, exc_info=True)


def page_respond(request, *, response_class, key, last_modified, render, content_type):
    """A cached page with its validators: 304 when the client has it, else the bytes."""
    etag = '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
    modified = int(last_modified.timestamp()) if last_modified else None
    response = get_conditional_response(request, etag=etag, last_modified=modified)
    if response is None:
        response = response_class(page_fetch(key, render), content_type=content_type)
    response["ETag"] = etag
    if modified:
        response["Last-Modified"] = http_date(modified)
    patch_cache_control(response, **CACHE_CONTROL)
    return response


def route(contest, code=""):
    kwargs = {"election": contest.election.slug, "contest": contest.slug}
    if code and code != contest.area_code:
        kwargs["code"] = code
    return kwargs


def contests_document():
    """Every contest with its area's totals: the API's contests.json."""
    contests = [
        {
            "contest": contest_ref(contest),
            "election_name": contest.election.name,
            "date": contest.election.date,
            "totals": dataclasses.asdict(totals),
            "page": page_url(contest),
            "results": api_url(contest),
        }
        for contest, totals in selectors.contests_public()
    ]
    return _CONTESTS.dump_json(_CONTESTS.validate_python(contests)).decode()


_CONTESTS = TypeAdapter(list[schemas.ContestSummary])


# The paths of a contest's pages differ only by their code: each shape (the area, a region, a TPS) is
# reversed once per language and URL configuration, and the code put in. A page links to dozens of
# regions, and reverse() for each link was about a tenth of the snapshot's rendering.
_SAMPLES = {"region": "9081726354", "tps": "9081726354.1.2.3.4"}  # valid codes of each shape, unlike any slug
_reversed = {}


def address(name, contest=None, code="", language=None):
    """reverse(name) of one of the site's pages, or of a contest's area, region or TPS page: the same path.

    In `language`, else the current one.
    """
    language = language or translation.get_language()
    slugs = shape = None
    if contest is not None:
        slugs = (contest.election.slug, contest.slug)
        if code and code != contest.area_code:
            shape = "tps" if code.count(".") == 4 else "region"
    # The URL configuration is the settings' (no request here sets its own): get_urlconf() would cost as much
    # as all the rest of this call.
    key = (name, slugs, shape, language, get_script_prefix(), settings.ROOT_URLCONF)
    path = _reversed.get(key)
    if path is None:
        if len(_reversed) > 10_000:
            _reversed.clear()
        with translation.override(language):
            path = reverse(name, kwargs=route(contest, _SAMPLES[shape] if shape else "") if contest else None)
        _reversed[key] = path = path if not shape or path.count(_SAMPLES[shape]) == 1 else ""
    if not shape:
        return path
    if not path:  # a slug holding the sample code: reversed each time
        with translation.override(language):
            return reverse(name, kwargs=route(contest, code))
    return path.replace(_SAMPLES[shape], code)


def page_url(contest, code="", language=None):
    """The permalink of a contest's area, a region or a TPS, in `language` or the current one."""
    return address("results:region", contest, code, language)


def api_url(contest, code="", fmt="json", language=None):
    """The JSON or CSV twin of a page."""
    twin = "station" if code.count(".") == 4 else ("region" if code and code != contest.area_code else "area")
    return address(f"api-1:{twin}_{fmt}", contest, code, language)


def _other_language():
    return "en" if translation.get_language() == "id" else "id"


def language_switch(url_name, kwargs=None):
    """The same page in the other language: {"switch": its address, "switch_language": its code}."""
    other = _other_language()
    with translation.override(other):
        return {"switch": reverse(url_name, kwargs=kwargs), "switch_language": other}


def _urls(contest, code):
    """The page's links: itself, its twins, feed and widget, and the same page in the other language."""
    other = _other_language()
    return {
        "here": page_url(contest, code),
        "switch": page_url(contest, code, other),
        "switch_language": other,
        "api_json": api_url(contest, code, "json"),
        "api_csv": api_url(contest, code, "csv"),
        "feed": address("results:feed", contest, code),
        "widget": address("results:widget", contest, code),
    }


def contest_ref(contest):
    return {
        "id": contest.pk,
        "election": contest.election.slug,
        "contest": contest.slug,
        "name": contest.name,
        "area_code": contest.area_code,
    }


def _shares(shares):
    return [{"ballot_number": s.candidate.ballot_number, "votes": s.votes, "percent": float(s.percent)} for s in shares]


def _area(area):
    return {
        "code": area.code,
        "name": area.name,
        "kind": str(area.kind),
        "totals": dataclasses.asdict(area.totals),
        "shares": _shares(area.shares),
        "leader": area.leader.candidate.ballot_number if area.leader else None,
        "margin": float(area.margin) if area.margin is not None else None,
    }


def _candidates(shares):
    return [
        {"ballot_number": s.candidate.ballot_number, "name": s.candidate.name, "running_mate": s.candidate.running_mate}
        for s in shares
    ]


def region_document(page):
    """The region page as the API's RegionResults."""
    is_village = page.level == codes.VILLAGE
    document = {
        "contest": contest_ref(page.contest),
        "candidates": _candidates(page.area.shares),
        "level": page.level,
        "breadcrumbs": [list(crumb) for crumb in page.breadcrumbs],
        "area": _area(page.area),
        "children": [] if is_village else [_area(child) for child in page.children],
        "stations": [
            {
                "code": line.code,
                "number": line.number,
                "state": line.state,
                "valid_votes": line.valid_votes,
                "shares": _shares(line.shares),
            }
            for line in page.children
        ]
        if is_village
        else [],
        "page": page_url(page.contest, page.code),
    }
    return schemas.RegionResults.model_validate(document)


def _revision(page, revision, changes):
    document = digests.reading_document(
        contest_id=page.contest.pk,
        station_code=page.station.code,
        number=revision.number,
        source=revision.source,
        reason=revision.reason,
        numbers=revision.numbers(),
        scan_digests=revision.scan_digests,
        previous_digest=revision.previous_digest,
    )
    return {
        "number": revision.number,
        "source": revision.source,
        "reason": revision.reason,
        "created_at": revision.created_at,
        "digest": revision.digest,
        "previous_digest": revision.previous_digest,
        "scan_digests": list(revision.scan_digests),
        "document": document,
        "changes": [{"what": str(what), "old": old, "new": new} for what, old, new in changes],
    }


def station_document(page):
    """The TPS page as the API's StationResults."""
    current = next(((r, c) for r, c in page.revisions if r == page.current), None)
    document = {
        "contest": contest_ref(page.contest),
        "candidates": _candidates(page.shares),
        "code": page.station.code,
        "number": page.station.number,
        "village_code": page.station.village.code,
        "dpt": page.station.dpt,
        "state": page.tally.state if page.tally else Tally.State.EMPTY,
        "breadcrumbs": [list(crumb) for crumb in page.breadcrumbs],
        "shares": _shares(page.shares),
        "current": _revision(page, *current) if current else None,
        "flags": [{"rule": failure.rule, "message": str(failure.message)} for failure in page.failures],
        "revisions": [_revision(page, revision, changes) for revision, changes in page.revisions],
        "scans": [
            {
                "page": scan.page,
                "sha256": scan.sha256,
                "web": scan.web.url,
                "web_sha256": scan.web_sha256,
                "full": (scan.full or scan.web).url,
                "full_sha256": scan.full_sha256 or scan.web_sha256,
            }
            for scan in page.scans
        ],
        "page": page_url(page.contest, page.station.code),
    }
    return schemas.StationResults.model_validate(document)


_TOTAL_COLUMNS = [
    "stations_reported",
    "stations_total",
    "registered",
    "voters",
    "valid_votes",
    "invalid_votes",
    "total_votes",
]


def _csv(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def region_csv(page):
    """The region and each region (or TPS) below it, one line each: the same numbers as the JSON twin."""
    numbers = [share.candidate.ballot_number for share in page.area.shares]
    header = [
        "code",
        "name",
        "level",
        *_TOTAL_COLUMNS,
        *(f"votes_{n}" for n in numbers),
        *(f"percent_{n}" for n in numbers),
    ]

    def line(area, level):
        totals = dataclasses.asdict(area.totals)
        return [
            area.code,
            area.name,
            level,
            *(totals[column] for column in _TOTAL_COLUMNS),
            *(share.votes for share in area.shares),
            *(f"{share.percent:.2f}" for share in area.shares),
        ]

    rows = [line(page.area, page.level)]
    if page.level == codes.VILLAGE:
        for station in page.children:
            reported = station.valid_votes is not None
            rows.append(
                [
                    station.code,
                    f"TPS {station.number:03d}",
                    "tps",
                    int(reported),
                    1,
                    *[""] * 2,
                    station.valid_votes if reported else "",
                    *[""] * 2,
                    *((share.votes if reported else "") for share in station.shares),
                    *((f"{share.percent:.2f}" if reported else "") for share in station.shares),
                ]
            )
    else:
        rows += [line(child, page.level + 1) for child in page.children]
    return _csv(header, rows)


def station_csv(page):
    """Every published reading of the TPS, newest first: what each revision said and its digest."""
    numbers = [share.candidate.ballot_number for share in page.shares]
    header = [
        "tps",
        "revision",
        "source",
        "created_at",
        "reason",
        "valid_votes",
        "invalid_votes",
        "total_votes",
        *(f"votes_{n}" for n in numbers),
        "digest",
        "previous_digest",
        "scan_digests",
        "current",
    ]
    rows = []
    for revision, _changes in page.revisions:
        reading = revision.numbers()
        rows.append(
            [
                page.station.code,
                revision.number,
                revision.source,
                revision.created_at.isoformat(),
                revision.reason,
                reading.valid_votes,
                reading.invalid_votes,
                reading.total_votes,
                *(reading.candidate_votes.get(n, 0) for n in numbers),
                revision.digest,
                revision.previous_digest,
                " ".join(revision.scan_digests),
                int(revision == page.current),
            ]
        )
    return _csv(header, rows)


def region_body(contest, code, *, kind, static_copy=False, page=None):
    """One region's page in one of its forms: "page", "widget", "json" or "csv".

    `static_copy`: for the snapshot, the page says so in a banner. `page`: the
    region already read (the snapshot writes six files from one read).
    """
    page = page or selectors.region_page(contest, code)
    if kind == "json":
        return region_document(page).model_dump_json().encode()
    if kind == "csv":
        return region_csv(page)
    template = {"page": "results/region.html", "widget": "results/widget.html"}[kind]
    context = {"page": page, "contest": contest, "zone_code": code or WHOLE_COUNTRY, **_urls(contest, code)}
    return render_to_string(
        template, {**context, "static_copy": static_copy, "as_of": page.area.totals.changed_at}
    ).encode()


def station_body(contest, station_code, *, kind, static_copy=False, page=None):
    page = page or selectors.station_page(contest, station_code)
    if kind == "json":
        return station_document(page).model_dump_json().encode()
    if kind == "csv":
        return station_csv(page)
    context = {"page": page, "contest": contest, "zone_code": station_code, **_urls(contest, station_code)}
    as_of = page.current.created_at if page.current else None
    return render_to_string("results/station.html", {**context, "static_copy": static_copy, "as_of": as_of}).encode()


# The pages everyone opens on election night: the contest's area, the provinces, the regencies and
# cities (codes of at most five characters: "", "61", "61.71").
HOT_CODE_LENGTH = len("61.71")
# The hot pages are rendered ahead at most once a second per contest: the first publish of a
# second queues the refresh for its end, and the publishes within that second ride along.
REFRESH_SECONDS = 1
# A page whose numbers moved longer ago than this is left to its next visitor.
REFRESH_WINDOW_SECONDS = 60
REFRESH_PAGES = "results.tasks.refresh_pages"


def pages_refresh_soon(contest_id):
    """Queue the contest's refresh for a second from now, unless one is queued already.

    At election-night rates a contest sees many publishes a second: one
    message a second instead of one a publish, for the broker and the worker.
    """
    try:
        if not cache.add(f"pages-refresh-queued:{contest_id}", 1, REFRESH_SECONDS):
            return
    except Exception:
        logger.warning("page cache unreachable: no page rendered ahead", exc_info=True)
        return
    task_queue(REFRESH_PAGES, contest_id, countdown=REFRESH_SECONDS)


def pages_refresh(contest):
    """Render into the cache, in every language, the hot pages whose numbers moved in the last minute.

    A page already cached under its current version is skipped, so a visitor
    that came first, or an earlier refresh, is never repeated. Returns how
    many pages were rendered.
    """
    since = timezone.now() - timedelta(seconds=REFRESH_WINDOW_SECONDS)
    moved = (
        RegionResult.objects.alias(code_length=Length("region_code"))
        .filter(contest=contest, code_length__lte=HOT_CODE_LENGTH, changed_at__gte=since)
        .order_by("region_code")
        .values_list("region_code", "version")
    )
    keys = {
        page_key("page", contest.pk, code, version, language): (code, language)
        for code, version in moved
        for language, _name in settings.LANGUAGES
    }
    try:
        cached = cache.get_many(list(keys))
    except Exception:
        logger.warning("page cache unreachable: no page rendered ahead", exc_info=True)
        return 0
    rendered = 0
    for key, (code, language) in keys.items():
        if key in cached:
            continue
        with translation.override(language):
            page_store(key, region_body(contest, code, kind="page"))
        rendered += 1
    return rendered
