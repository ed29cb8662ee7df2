"""Regions and TPS read together, as the snapshot reads them, are the pages each one read alone would be."""

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from results import pages, selectors
from results.models import WHOLE_COUNTRY, Contest, Tally
from results.services import tally_correct, tally_enter
from tests.factories import CandidateFactory, ContestFactory
from tests.results.conftest import c1
from uploads.models import Scan

REGIONS = ["61", "61.71", "61.71.06", "61.71.06.1001", "61.71.06.1002", "61.72", "61.72.01.1001"]
STATIONS = ["61.71.06.1001.001", "61.71.06.1001.002", "61.72.01.1001.001"]


@pytest.fixture
def forms(kalbar, governor, officers):
    """A corrected TPS, one read from two scans that disagree (flagged), and one waiting for its second entry.

    Each published form has a ready scan: its rows only, as ingest leaves them; a page only links the files.
    """
    first, second, third = officers
    corrected = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"])
    for officer in (first, second):
        tally_enter(tally=corrected, numbers=c1([40, 70, 80]), entered_by=officer)
    tally_correct(tally=corrected, numbers=c1([41, 70, 80]), entered_by=third, reason="recount")
    flagged = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_2"])
    for officer in (first, second):
        tally_enter(tally=flagged, numbers=c1([10, 20, 30]), entered_by=officer, scan_digests=["a" * 64])
    tally_correct(tally=flagged, numbers=c1([10, 20, 31]), entered_by=third, reason="page 2", scan_digests=["b" * 64])
    for page, (form, digest) in enumerate(((corrected, "c"), (flagged, "a"), (flagged, "b")), start=1):
        Scan.objects.create(
            sha256=digest * 64,
            tally=form,
            page=page,
            raw=f"raw/{digest}.jpg",
            original_name=f"{digest}.jpg",
            size_bytes=1,
            uploaded_by=first,
            status=Scan.Status.READY,
            web=f"scans/{digest}.webp",
            web_sha256=digest * 64,
        )
    waiting = Tally.objects.create(contest=governor, station=kalbar["tps_pasiran_1"])
    tally_enter(tally=waiting, numbers=c1([9, 9, 9]), entered_by=officers[0].__class__.objects.create_superuser("su"))
    return governor


def bodies(contest, code, page, kinds):
    """Every form of a page, in both languages where it has words: what the snapshot writes from one read."""
    body = pages.station_body if code.count(".") == 4 else pages.region_body
    found = []
    for language in ("id", "en"):
        with translation.override(language):
            found += [body(contest, code, kind=kind, static_copy=True, page=page) for kind in kinds]
    return found


def test_regions_read_together_are_the_pages_read_one_by_one(forms):
    together = selectors.region_pages(forms, [*REGIONS, "62", "61.71.06.1001"])  # outside the area, twice
    assert list(together) == REGIONS
    for code in REGIONS:
        alone = selectors.region_page(forms, code)
        assert together[code] == alone
        kinds = ("page", "widget", "json", "csv")
        assert bodies(forms, code, together[code], kinds) == bodies(forms, code, alone, kinds)


def test_tps_read_together_are_the_pages_read_one_by_one(forms):
    together = selectors.station_pages(forms, [*STATIONS, "62.01.01.1001.001"])
    assert list(together) == STATIONS
    assert [failure.rule for failure in together["61.71.06.1001.002"].failures] == ["scans_disagree"]
    assert len(together["61.71.06.1001.001"].revisions) == 2 and together["61.72.01.1001.001"].current is None
    assert [scan.page for scan in together["61.71.06.1001.002"].scans] == [2, 3]
    for code in STATIONS:
        alone = selectors.station_page(forms, code)
        assert together[code] == alone
        kinds = ("page", "json", "csv")
        assert bodies(forms, code, together[code], kinds) == bodies(forms, code, alone, kinds)


def test_the_whole_country_and_its_provinces_are_read_together(kalbar):
    national = ContestFactory(scope=Contest.Scope.NATIONAL, region=None, slug="presiden")
    CandidateFactory(contest=national, ballot_number=1)
    together = selectors.region_pages(national, [WHOLE_COUNTRY, "61", "61.71"])
    assert [child.code for child in together[WHOLE_COUNTRY].children] == ["61"]
    assert [child.code for child in together["61"].children] == ["61.71", "61.72"]
    assert together[WHOLE_COUNTRY] == selectors.region_page(national, WHOLE_COUNTRY)
    regional = ContestFactory(region=kalbar["province"], slug="gubernur")
    with pytest.raises(Http404):  # a regional contest has no page for the whole country
        selectors.region_page(regional, WHOLE_COUNTRY)
    assert selectors.region_pages(regional, [WHOLE_COUNTRY, "61"]).keys() == {"61"}


def test_reading_many_regions_or_tps_takes_as_many_queries_as_reading_two(forms):
    """The snapshot reads a thousand pages' regions and TPS at a time: the queries must not grow with them.

    (A form read from several scans costs a few more: its readings are compared, and such forms are rare.)
    """
    counts = []
    for read, few, many in (
        (selectors.region_pages, ["61.71.06", "61.71.06.1001"], REGIONS),
        (selectors.station_pages, STATIONS[:1], [STATIONS[0], STATIONS[2]]),
    ):
        for codes in (few, many):
            with CaptureQueriesContext(connection) as queries:
                read(forms, codes)
            counts.append(len(queries))
    assert counts[0] == counts[1] and counts[2] == counts[3], counts
