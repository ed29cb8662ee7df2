"""The bulk download: every TPS of a contest, streamed as CSV or JSON lines, with the contest's head."""

import csv
import io
import json
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from results import digests
from results.downloads import contest_stations_csv, contest_stations_jsonl, contest_stations_response
from results.models import Contest, Tally
from results.services import contest_head_record, officer_create, tally_correct, tally_enter
from tests.factories import CandidateFactory, ContestFactory, PollingStationFactory, RegionFactory
from tests.results.conftest import c1


@pytest.fixture
def clerks(kalbar):
    """Two officers of the province (they may enter any Kalbar form) and a third to correct."""
    return [officer_create(username=f"kpu-kalbar-{n}", region=kalbar["province"]) for n in (1, 2, 3)]


def publish(contest, station, votes, clerks):
    tally, _created = Tally.objects.get_or_create(contest=contest, station=station)
    tally_enter(tally=tally, numbers=c1(votes), entered_by=clerks[0], scan_digests=["c" * 64, "a" * 64])
    return tally_enter(tally=tally, numbers=c1(votes), entered_by=clerks[1], scan_digests=["c" * 64, "a" * 64])


@pytest.fixture
def results(kalbar, governor, clerks):
    """Bansir Laut 1 published then corrected, Bansir Laut 2 waiting for its second entry, Pasiran 1 published.

    Bansir Darat 1 is made last (a higher id than Pasiran) but comes before it by code;
    a TPS in Kalimantan Tengah lies outside the governor's area.
    """
    publish(governor, kalbar["tps_bansir_laut_1"], [40, 70, 884], clerks)
    form = Tally.objects.get(contest=governor, station=kalbar["tps_bansir_laut_1"])
    correction = tally_correct(tally=form, numbers=c1([40, 70, 84]), entered_by=clerks[2], reason="84, not 884")
    waiting = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_2"])
    tally_enter(tally=waiting, numbers=c1([10, 20, 30]), entered_by=clerks[0])
    pasiran = publish(governor, kalbar["tps_pasiran_1"], [5, 6, 7], clerks)
    PollingStationFactory(village=kalbar["bansir_darat"], number=1, dpt=210)
    PollingStationFactory(village=RegionFactory(code="62.01.01.2001", name="Kuala Kurun"), number=1)
    return {"correction": correction, "pasiran": pasiran}


def csv_rows(contest, **kwargs):
    return list(csv.DictReader(io.StringIO("".join(contest_stations_csv(contest, **kwargs)))))


def json_lines(contest, **kwargs):
    *lines, head = [json.loads(line) for line in "".join(contest_stations_jsonl(contest, **kwargs)).splitlines()]
    return lines, head


def published_forms(contest):
    return list(
        Tally.objects.published().filter(contest=contest).values_list("station__code", "current_revision__digest")
    )


AREA = ["61.71.06.1001.001", "61.71.06.1001.002", "61.71.06.1002.001", "61.72.01.1001.001"]


def test_every_tps_of_the_area_is_one_line_in_code_order(governor, results):
    lines, _head = json_lines(governor, chunk_size=3)
    assert [line["tps"] for line in lines] == AREA
    assert [row["tps"] for row in csv_rows(governor, chunk_size=3)] == AREA
    assert [(line["village"], line["number"]) for line in lines][2] == ("61.71.06.1002", 1)


def test_a_form_awaiting_its_second_entry_shows_its_state_and_no_numbers(governor, results):
    lines, _head = json_lines(governor)
    waiting = lines[1]
    assert waiting["state"] == "awaiting_second"
    assert waiting["digest"] is None and waiting["votes"] is None and waiting["valid_votes"] is None
    row = csv_rows(governor)[1]
    assert (
        row["state"] == "awaiting_second" and row["digest"] == "" and row["votes_1"] == "" and row["valid_votes"] == ""
    )
    never_entered = csv_rows(governor)[2]
    assert never_entered["state"] == "empty" and never_entered["dpt"] == "210" and never_entered["revision"] == ""


def test_a_line_carries_the_current_reading_with_its_digests(governor, results):
    correction = results["correction"]
    row = csv_rows(governor)[0]
    assert row["revision"] == "3" and row["source"] == "correction" and row["reason"] == "84, not 884"
    assert row["digest"] == correction.digest and row["previous_digest"] == correction.previous_digest
    assert row["scan_digests"] == ""  # the correction was read from no scan
    assert row["created_at"] == correction.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [row["votes_1"], row["votes_2"], row["votes_3"]] == ["40", "70", "84"]
    assert (row["valid_votes"], row["invalid_votes"], row["total_votes"]) == ("194", "2", "196")
    assert (row["registered"], row["voters"], row["dpt"]) == ("280", "196", "280")
    assert row["ballots_used"] == "196" and row["ballots_received"] == "287"
    pasiran = json_lines(governor)[0][3]
    assert pasiran["source"] == "second_entry" and pasiran["digest"] == results["pasiran"].digest
    assert pasiran["scan_digests"] == ["a" * 64, "c" * 64]


def test_the_last_json_line_is_the_head_over_exactly_the_published_forms(governor, results):
    _lines, head = json_lines(governor, chunk_size=1)
    forms = published_forms(governor)
    assert head == {"head": digests.head_digest(forms), "forms": 2}
    assert head["head"] == contest_head_record(governor).digest


def test_csv_and_json_lines_give_the_same_numbers(governor, results):
    lines, _head = json_lines(governor, chunk_size=2)
    rows = csv_rows(governor, chunk_size=2)
    for line, row in zip(lines, rows, strict=True):
        votes = line["votes"] or {}
        assert {n: row[f"votes_{n}"] for n in ("1", "2", "3")} == {n: str(votes.get(n, "")) for n in ("1", "2", "3")}
        for column in ("tps", "state", "digest", "valid_votes", "invalid_votes", "total_votes", "registered"):
            assert row[column] == ("" if line[column] is None else str(line[column]))
    assert lines[3]["votes"] == {"1": 5, "2": 6, "3": 7}


def test_the_download_is_a_streamed_attachment_named_for_the_contest(governor, results):
    head = contest_head_record(governor)
    response = contest_stations_response(governor, "csv")
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="pilkada-2018-{governor.slug}-tps.csv"'
    assert response["Cache-Control"] == "public, max-age=60"
    assert response["X-Contest-Head"] == head.digest and response["X-Contest-Head-Forms"] == "2"
    assert response["X-Contest-Head-Recorded-At"] == head.recorded_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0].startswith("tps,village,number,dpt,state,revision,source,reason,created_at,digest")
    jsonl = contest_stations_response(governor, "jsonl")
    assert jsonl["Content-Type"] == "application/x-ndjson"
    assert jsonl["Content-Disposition"] == f'attachment; filename="pilkada-2018-{governor.slug}-tps.jsonl"'
    assert json.loads(b"".join(jsonl.streaming_content).splitlines()[-1]) == {"head": head.digest, "forms": 2}


def test_the_api_serves_the_download(client, governor, results):
    response = client.get(f"/api/v1/pilkada-2018/{governor.slug}/tps.jsonl")
    assert response.status_code == 200 and response.streaming
    assert [json.loads(line).get("tps") for line in b"".join(response.streaming_content).splitlines()] == [
        *AREA,
        None,
    ]


def test_a_contest_without_a_reading_lists_its_tps_and_the_empty_head(kalbar, governor):
    lines, head = json_lines(governor)
    assert [line["state"] for line in lines] == ["empty"] * 3
    assert head == {"head": digests.head_digest([]), "forms": 0}
    assert "X-Contest-Head" not in contest_stations_response(governor, "csv")


def test_a_nationwide_contest_lists_the_tps_of_every_province(kalbar, clerks):
    president = ContestFactory(scope=Contest.Scope.NATIONAL, region=None, office=Contest.Office.PRESIDENT)
    for number in (1, 2, 3):
        CandidateFactory(contest=president, ballot_number=number)
    PollingStationFactory(village=RegionFactory(code="11.01.01.2001", name="Keude Bakongan"), number=1)
    publish(president, kalbar["tps_pasiran_1"], [100, 50, 25], clerks)
    rows = csv_rows(president)
    assert [row["tps"] for row in rows] == ["11.01.01.2001.001", *AREA[:2], "61.72.01.1001.001"]
    assert rows[-1]["votes_1"] == "100"


def test_queries_grow_with_the_chunks_not_with_the_tps(kalbar, governor, clerks):
    stations = [kalbar["tps_bansir_laut_1"], kalbar["tps_bansir_laut_2"], kalbar["tps_pasiran_1"]]
    stations += [PollingStationFactory(village=kalbar["bansir_darat"], number=n) for n in range(1, 10)]
    for station in stations:
        publish(governor, station, [1, 2, 3], clerks)

    def queries(chunk_size):
        with CaptureQueriesContext(connection) as captured:
            lines, head = json_lines(governor, chunk_size=chunk_size)
        assert len(lines) == 12 and head["forms"] == 12
        return len(captured.captured_queries)

    one_chunk = queries(12)
    per_chunk = queries(6) - one_chunk
    assert per_chunk > 0 and one_chunk < 12
    for chunk_size, chunks in ((4, 3), (3, 4), (1, 12)):
        assert queries(chunk_size) == one_chunk + per_chunk * (chunks - 1)


@pytest.mark.postgres
@pytest.mark.skipif(not settings.USING_POSTGRES, reason="the REPEATABLE READ snapshot is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_reading_published_during_a_download_stays_out_of_it(kalbar, governor, clerks):
    """The rows and the head come from one snapshot, even when a publish lands between two chunks."""
    publish(governor, kalbar["tps_bansir_laut_1"], [40, 70, 80], clerks)
    before = digests.head_digest(published_forms(governor))
    stream = contest_stations_jsonl(governor, chunk_size=1)
    first = next(stream)

    def publish_elsewhere():
        try:
            publish(governor, kalbar["tps_pasiran_1"], [5, 6, 7], clerks)
        finally:
            connection.close()

    thread = threading.Thread(target=publish_elsewhere)
    thread.start()
    thread.join()
    *lines, head = [json.loads(line) for line in (first + "".join(stream)).splitlines()]
    assert [line["state"] for line in lines] == ["published", "empty", "empty"]
    assert head == {"head": before, "forms": 1}
    assert json_lines(governor)[1]["forms"] == 2
