"""The journalists' API: JSON and CSV twins that agree with each other and the totals, and an honest OpenAPI."""

import csv
import hashlib
import io
import json

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from results.models import CandidateResult, RegionResult, Tally
from results.services import tally_correct, tally_enter
from tests.results.conftest import c1

API = "/api/v1/pilkada-2018"


@pytest.fixture
def counted(kalbar, governor, officers):
    first, second, third = officers
    for station, votes in (("tps_bansir_laut_1", [40, 70, 80]), ("tps_bansir_laut_2", [10, 20, 30])):
        form = Tally.objects.create(contest=governor, station=kalbar[station])
        tally_enter(tally=form, numbers=c1(votes), entered_by=first)
        tally_enter(tally=form, numbers=c1(votes), entered_by=second)
    tally_correct(tally=form, numbers=c1([11, 20, 30]), entered_by=third, reason="salah baca")
    return governor


def rows(response):
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("code", ["", "61.71", "61.71.06", "61.71.06.1001"])
def test_json_csv_and_totals_agree_at_every_level(client, counted, code):
    path = f"{API}/{counted.slug}/{code}" if code else f"{API}/{counted.slug}"
    document = client.get(f"{path}.json").json()
    table = rows(client.get(f"{path}.csv"))
    region_code = code or "61"
    stored = RegionResult.objects.get(contest=counted, region_code=region_code)
    votes = dict(
        CandidateResult.objects.filter(contest=counted, region_code=region_code).values_list(
            "candidate__ballot_number", "votes"
        )
    )
    area = document["area"]
    assert area["code"] == table[0]["code"] == region_code
    assert area["totals"]["valid_votes"] == int(table[0]["valid_votes"]) == stored.valid_votes
    assert {share["ballot_number"]: share["votes"] for share in area["shares"]} == votes
    assert [int(table[0][f"votes_{n}"]) for n in (1, 2, 3)] == [votes[n] for n in (1, 2, 3)]
    assert round(sum(share["percent"] for share in area["shares"]), 2) == 100.0
    below = document["stations"] or document["children"]
    assert [line["code"] for line in below] == [row["code"] for row in table[1:]]


def test_a_tps_json_lets_anyone_recompute_every_digest(client, counted):
    document = client.get(f"{API}/{counted.slug}/tps/61.71.06.1001.002.json").json()
    assert [revision["number"] for revision in document["revisions"]] == [3, 2]
    for revision in document["revisions"]:
        canonical = json.dumps(revision["document"], sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        assert hashlib.sha256(canonical.encode()).hexdigest() == revision["digest"]
    assert document["current"]["digest"] == document["revisions"][0]["digest"]
    assert document["revisions"][0]["previous_digest"] == document["revisions"][1]["digest"]
    change = document["revisions"][0]["changes"][0]
    assert change["what"].startswith("1. Milton Crosby") and (change["old"], change["new"]) == (10, 11)
    table = rows(client.get(f"{API}/{counted.slug}/tps/61.71.06.1001.002.csv"))
    assert [row["digest"] for row in table] == [revision["digest"] for revision in document["revisions"]]
    assert [row["current"] for row in table] == ["1", "0"]


def test_the_api_is_readable_from_any_site_and_read_only(client, counted):
    response = client.get(f"{API}/{counted.slug}.json", headers={"origin": "https://newsroom.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert client.post(f"{API}/{counted.slug}.json").status_code == 405


def test_an_unknown_contest_region_or_tps_is_a_json_404(client, counted):
    for path in ("/api/v1/pemilu-1999/x.json", f"{API}/{counted.slug}/62.json", f"{API}/{counted.slug}/tps/1.json"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "detail" in response.json()


def test_the_openapi_description_names_every_twin(client, counted):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/{election}/{contest}.json",
        "/api/v1/{election}/{contest}/{code}.csv",
        "/api/v1/{election}/{contest}/tps/{code}.json",
        "/api/v1/{election}/{contest}/tps.jsonl",
        "/api/v1/search.json",
    } <= set(paths)
    docs = client.get("/api/v1/docs").content.decode()
    assert "cdn" not in docs and "/static/ninja/" in docs


def test_the_served_openapi_holds_for_whatever_is_asked(counted, settings):
    """No 500 and no answer outside the description, for any parameters schemathesis makes up.

    Driven by hand rather than by schemathesis' pytest plugin, which does not run under pytest 9.
    """
    settings.ALLOWED_HOSTS = ["localhost"]
    # As Django's test client does: a request must not close the test's transaction's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        check_every_operation()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def check_every_operation():
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def holds(case):
            case.call_and_validate()

        holds()
