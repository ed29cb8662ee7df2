"""Totals kept at publish equal the sums over the TPS: nationwide, under random sequences, under concurrency."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from results.aggregates import results_drift
from results.models import WHOLE_COUNTRY, CandidateResult, Contest, RegionResult, Tally
from results.services import TallyRefused, tally_correct, tally_enter, tally_resolve
from tests.factories import CandidateFactory, ContestFactory, PollingStationFactory, RegionFactory, UserFactory
from tests.results.conftest import c1

ROOT = Path(__file__).resolve().parents[2]


def test_a_nationwide_contest_counts_abroad_and_the_whole_country(kalbar):
    abroad = PollingStationFactory(village=RegionFactory(code="99.01.01.1001", name="Kuala Lumpur"), number=1)
    president = ContestFactory(
        scope=Contest.Scope.NATIONAL, region=None, office=Contest.Office.PRESIDENT, name="Presiden 2024"
    )
    for number in (1, 2, 3):
        CandidateFactory(contest=president, ballot_number=number)
    first, second = UserFactory(is_superuser=True), UserFactory(is_superuser=True)
    for station, votes in ((abroad, [5, 6, 7]), (kalbar["tps_pasiran_1"], [1, 2, 3])):
        form = Tally.objects.create(contest=president, station=station)
        tally_enter(tally=form, numbers=c1(votes), entered_by=first)
        tally_enter(tally=form, numbers=c1(votes), entered_by=second)
    country = RegionResult.objects.get(contest=president, region_code=WHOLE_COUNTRY)
    assert (country.stations_total, country.stations_reported, country.valid_votes) == (4, 2, 24)
    assert RegionResult.objects.get(contest=president, region_code="99").valid_votes == 18
    assert RegionResult.objects.get(contest=president, region_code="61.72").valid_votes == 6
    votes = CandidateResult.objects.filter(contest=president, region_code=WHOLE_COUNTRY)
    assert sorted(votes.values_list("candidate__ballot_number", "votes")) == [(1, 6), (2, 8), (3, 10)]
    assert results_drift(president) == []


# One step of a random sequence: which form, which action, which numbers.
steps = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["enter", "enter_other", "resolve", "correct"]),
        st.lists(st.integers(0, 250), min_size=3, max_size=3),
    ),
    min_size=1,
    max_size=12,
)


@pytest.mark.postgres
@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps)
def test_totals_equal_the_sums_over_the_tps_after_any_sequence(kalbar, officers, sequence):
    contest = ContestFactory(region=kalbar["province"])
    for number in (1, 2, 3):
        CandidateFactory(contest=contest, ballot_number=number)
    stations = [kalbar["tps_bansir_laut_1"], kalbar["tps_bansir_laut_2"], kalbar["tps_pasiran_1"]]
    forms = [Tally.objects.create(contest=contest, station=station) for station in stations]
    anyone = UserFactory(is_superuser=True)
    for index, action, votes in sequence:
        form = forms[index]
        user = {"enter": officers[0], "enter_other": officers[1]}.get(action, officers[2])
        if form.station.code.startswith("61.72"):
            user = anyone if action in ("resolve", "correct") else UserFactory(is_superuser=True)
        try:
            if action in ("enter", "enter_other"):
                tally_enter(tally=form, numbers=c1(votes), entered_by=user)
            elif action == "resolve":
                tally_resolve(tally=form, numbers=c1(votes), resolved_by=user, reason="from the scan")
            else:
                tally_correct(tally=form, numbers=c1(votes), entered_by=user, reason="recount")
        except TallyRefused:
            pass
    assert results_drift(contest) == []


CONCURRENT_PUBLISHER = """
import sys, django
django.setup()
from django.contrib.auth import get_user_model
from results.models import Tally
from results.services import tally_enter
from tests.results.conftest import c1
first, second = (get_user_model().objects.get(username=name) for name in ("root-1", "root-2"))
for pk in map(int, sys.argv[1:]):
    form = Tally.objects.get(pk=pk)
    votes = [pk % 50, 2 * (pk % 40), 3 * (pk % 30)]
    tally_enter(tally=form, numbers=c1(votes), entered_by=first)
    tally_enter(tally=form, numbers=c1(votes), entered_by=second)
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_publishes_under_one_district_lose_nothing(kalbar, governor):
    village = kalbar["bansir_laut"]
    stations = [PollingStationFactory(village=village, number=n, dpt=300) for n in range(3, 43)]
    forms = [Tally.objects.create(contest=governor, station=station) for station in stations]
    for name in ("root-1", "root-2"):
        UserFactory(username=name, is_superuser=True)
    db = connection.settings_dict
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "kpuportal.settings",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "KPU_DATA_DIR": os.environ.get("KPU_DATA_DIR", "/tmp"),
        "KPU_LOG_LEVEL": "WARNING",
    }
    chunks = [[str(form.pk) for form in forms[n::4]] for n in range(4)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_PUBLISHER, *chunk], cwd=ROOT, env=env, stderr=subprocess.PIPE
        )
        for chunk in chunks
    ]
    for process in processes:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
    district = RegionResult.objects.get(contest=governor, region_code="61.71.06")
    assert district.stations_reported == 40
    assert results_drift(governor) == []
