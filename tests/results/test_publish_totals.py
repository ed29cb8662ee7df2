"""What a publish does to the totals above it: versions, the first build, corrections that drop a pair."""

import time

import pytest
from django.db import connection

from results.aggregates import results_drift
from results.models import CandidateResult, RegionResult, Tally
from results.services import tally_correct, tally_enter
from tests.results.conftest import c1

ANCESTORS = ("61", "61.71", "61.71.06", "61.71.06.1001")


def versions(contest):
    return dict(RegionResult.objects.filter(contest=contest).values_list("region_code", "version"))


def publish(form, officers, votes):
    tally_enter(tally=form, numbers=c1(votes), entered_by=officers[0])
    return tally_enter(tally=form, numbers=c1(votes), entered_by=officers[1])


def test_each_publish_bumps_the_version_of_each_ancestor_by_one_and_no_other(kalbar, governor, officers):
    first = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"])
    publish(first, officers, [40, 70, 80])
    # The first publish builds the totals, its reading included, and counts as one change. Versions
    # start at the clock (in microseconds): above any a restore could hand out again.
    built = versions(governor)
    start = built["61.72"]
    assert start > (time.time() - 60) * 1_000_000
    assert {code: built[code] for code in ANCESTORS} == dict.fromkeys(ANCESTORS, start + 1)
    assert built["61.72.01.1001"] == start
    second = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_2"])
    publish(second, officers, [1, 2, 3])
    tally_correct(tally=second, numbers=c1([1, 2, 4]), entered_by=officers[2], reason="recount")
    after = versions(governor)
    assert {code: after[code] - built[code] for code in after if after[code] != built[code]} == dict.fromkeys(
        ANCESTORS, 2
    )


def test_the_first_publish_builds_totals_that_count_its_reading_once(kalbar, governor, officers):
    publish(Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"]), officers, [40, 70, 80])
    province = RegionResult.objects.get(contest=governor, region_code="61")
    assert (province.stations_total, province.stations_reported, province.valid_votes) == (3, 1, 190)
    assert results_drift(governor) == []


def test_a_correction_that_drops_a_pair_takes_its_votes_back(kalbar, governor, officers):
    form = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"])
    publish(form, officers, [40, 70, 80])
    tally_correct(tally=form, numbers=c1([45, 70]), entered_by=officers[2], reason="pair 3 was a misreading")
    votes = CandidateResult.objects.filter(contest=governor, region_code="61").order_by("candidate__ballot_number")
    assert list(votes.values_list("votes", flat=True)) == [45, 70, 0]
    assert RegionResult.objects.get(contest=governor, region_code="61").stations_reported == 1
    assert results_drift(governor) == []


def test_a_second_entry_is_checked_against_what_the_first_officer_typed(kalbar, governor, officers):
    """The first entry's digest seals its numbers: a row changed after it was typed cannot make a second entry agree."""
    form = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"])
    first = tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE results_candidatevotes SET votes = 81 WHERE revision_id = %s AND votes = 80", [first.pk])
    assert not tally_enter(tally=form, numbers=c1([40, 70, 81]), entered_by=officers[1]).published
    form.refresh_from_db()
    assert form.state == Tally.State.CONFLICT


@pytest.mark.postgres
def test_autovacuum_visits_the_totals_tables_after_a_thousand_dead_rows(db):
    """The ancestors' rows are updated by every publish: their dead versions must not wait for a fifth of the table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)",
            [["results_regionresult", "results_candidateresult"]],
        )
        options = dict(cursor.fetchall())
    assert set(options) == {"results_regionresult", "results_candidateresult"}
    for table, settings in options.items():
        assert {"autovacuum_vacuum_scale_factor=0", "autovacuum_vacuum_threshold=1000"} <= set(settings or ()), table
