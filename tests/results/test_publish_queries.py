"""A publish costs the same few statements however many pairs a contest has: the write path's budget."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from results.models import CandidateResult, RegionResult, Tally
from results.services import tally_correct, tally_enter
from tests.factories import CandidateFactory, ContestFactory, PollingStationFactory
from tests.results.conftest import c1

# Statements per call, savepoints left out: on PostgreSQL a reading's rows go
# in one statement and the totals move in two; SQLite takes one more for the rows.
FIRST_ENTRY_MOST = 6
SECOND_ENTRY_MOST = 10


def statements(context):
    return [query["sql"] for query in context.captured_queries if "SAVEPOINT" not in query["sql"]]


def publish_statements(contest, station, officers, pairs):
    """(first entry, second entry, correction) statements for a form of `contest` with `pairs` pairs."""
    form = Tally.objects.create(contest=contest, station=station)
    votes, corrected = list(range(10, 10 + pairs)), list(range(20, 20 + pairs))
    with CaptureQueriesContext(connection) as first:
        tally_enter(tally=form, numbers=c1(votes), entered_by=officers[0])
    with CaptureQueriesContext(connection) as second:
        tally_enter(tally=form, numbers=c1(votes), entered_by=officers[1])
    with CaptureQueriesContext(connection) as correction:
        tally_correct(tally=form, numbers=c1(corrected), entered_by=officers[2], reason="recount")
    return statements(first), statements(second), statements(correction)


def test_a_publish_takes_as_many_statements_for_twelve_pairs_as_for_three(kalbar, officers):
    counts = []
    for pairs, station in ((3, kalbar["tps_bansir_laut_1"]), (12, kalbar["tps_bansir_laut_2"])):
        contest = ContestFactory(region=kalbar["province"])
        for number in range(1, pairs + 1):
            CandidateFactory(contest=contest, ballot_number=number)
        # The contest's totals are built at its first publish: count a later one.
        warm = Tally.objects.create(
            contest=contest, station=PollingStationFactory(village=kalbar["bansir_laut"], number=3)
        )
        tally_enter(tally=warm, numbers=c1([1] * pairs), entered_by=officers[0])
        tally_enter(tally=warm, numbers=c1([1] * pairs), entered_by=officers[1])
        counts.append([len(sql) for sql in publish_statements(contest, station, officers, pairs)])
        assert CandidateResult.objects.get(contest=contest, region_code="61", candidate__ballot_number=pairs).votes == (
            1 + 20 + pairs - 1
        )
    assert counts[0] == counts[1]
    first, second, _correction = counts[0]
    assert first <= FIRST_ENTRY_MOST and second <= SECOND_ENTRY_MOST


@pytest.mark.postgres
def test_the_ancestors_are_locked_after_every_other_write_of_the_publish(kalbar, governor, officers):
    warm = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_2"])
    tally_enter(tally=warm, numbers=c1([1, 2, 3]), entered_by=officers[0])
    tally_enter(tally=warm, numbers=c1([1, 2, 3]), entered_by=officers[1])
    _first, second, _correction = publish_statements(governor, kalbar["tps_bansir_laut_1"], officers, 3)
    locks = [index for index, sql in enumerate(second) if "results_regionresult" in sql and "FOR UPDATE" in sql]
    assert len(locks) == 1
    # Only the totals move after the lock: the rows every publish waits for are held briefly.
    assert all("results_regionresult" in sql or "results_candidateresult" in sql for sql in second[locks[0] :])
    assert RegionResult.objects.get(contest=governor, region_code="61").stations_reported == 2
