"""seed_demo: Kalimantan Barat counted part way, every reading through the services, a second run a no-op.

Seeding enters about 1,200 forms twice through tally_enter and draws 250
scans, so the module seeds once (`demo`, rolled back when the module ends)
and each test reads it, or writes inside its own rolled-back transaction.
"""

import io
import random
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.test import TestCase, override_settings

from results.aggregates import results_drift
from results.arithmetic import c1_failures
from results.demo import INVALID_2018, TOTAL_2018, VOTES_2018, numbers_2018, region_rows, station_rows
from results.models import (
    Candidate,
    CandidateResult,
    CandidateVotes,
    Contest,
    PollingStation,
    Region,
    RegionResult,
    Tally,
    TallyRevision,
    VoterCount,
)
from results.services import tally_enter, tally_resolve
from tests.results.conftest import c1
from uploads.models import Scan


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """`seed_demo --accounts` once for the module, its scans ingested; returns what it printed."""
    root = tmp_path_factory.mktemp("demo")
    storage = override_settings(
        MEDIA_ROOT=root / "media",
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            "private": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": root / "private", "base_url": None},
            },
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    with django_db_blocker.unblock():
        storage.enable()
        # Each test's own transaction nests in this one; it is rolled back when the module ends.
        outer = transaction.atomic()
        outer.__enter__()
        out = io.StringIO()
        with TestCase.captureOnCommitCallbacks(execute=True):
            call_command("seed_demo", "--accounts", stdout=out)
    yield out.getvalue()
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)
        storage.disable()


@pytest.fixture
def governor_2018(demo, db):
    return Contest.objects.get(region__code="61")


def test_demo_holds_kalimantan_barat_and_the_2018_governor_race(governor_2018):
    regencies = Region.objects.filter(level=Region.Level.REGENCY)
    assert regencies.count() == 14
    assert regencies.get(code="61.71").name == "Kota Pontianak"
    assert regencies.get(code="61.72").name == "Kota Singkawang"
    assert Region.objects.filter(level=Region.Level.DISTRICT).count() == 174
    assert Region.objects.get(code="61.71.06.1001").name == "Bansir Laut"
    assert not Region.objects.filter(code="61.71.01.1001").exists()
    assert PollingStation.objects.count() == 11_658
    assert PollingStation.objects.aggregate(dpt=Sum("dpt"))["dpt"] == 3_436_127
    assert PollingStation.objects.filter(dpt__gt=800).count() == 0
    assert list(
        Candidate.objects.filter(contest=governor_2018).values_list("ballot_number", "name", "running_mate")
    ) == [
        (1, "Milton Crosby", "Boyman Harun"),
        (2, "Karolin Margret Natasa", "Suryadman Gidot"),
        (3, "Sutarmidji", "Ria Norsan"),
    ]


def test_the_count_is_mid_way_with_verified_readings_and_their_scans(governor_2018):
    published = Tally.objects.published().filter(contest=governor_2018).select_related("current_revision__verifies")
    assert 1_000 < published.count() < 11_658 / 5
    for form in published:
        reading = form.current_revision
        assert reading.source == TallyRevision.Source.SECOND_ENTRY and reading.verifies is not None
        assert reading.entered_by_id != reading.verifies.entered_by_id
    # All of Kota Pontianak is in but the five forms left to try; part of the rest of the province.
    assert (
        published.filter(station__code__startswith="61.71.").count()
        == PollingStation.objects.in_region("61.71").count() - 5
    )
    assert published.exclude(station__code__startswith="61.71.").exists()
    scanned = published.filter(scans__isnull=False).distinct()
    assert scanned.count() >= 200
    for form in scanned.prefetch_related("scans"):
        assert form.current_revision.scan_digests == [scan.sha256 for scan in form.scans.all()]
    assert Counter(Scan.objects.values_list("status", flat=True)) == {Scan.Status.READY: Scan.objects.count()}


def test_forms_are_left_for_the_demo_officers_to_try(governor_2018, demo):
    first_five = Tally.objects.filter(station__code__startswith="61.71.06.").order_by("station__code")[:5]
    assert [form.state for form in first_five] == ["awaiting_second", "awaiting_second", "conflict", "empty", "empty"]
    assert all(form.scans.exists() for form in first_five)
    assert "61.71.06.1001.003 has two entries that disagree" in demo
    User = get_user_model()
    for name in ("officer-pontianak", "officer-pontianak-2", "officer-pontianak-3"):
        officer = User.objects.get(username=name)
        assert officer.officer.region.code == "61.71" and officer.check_password("kpu-demo-officer")
        assert name in demo
    first, second, third = (
        User.objects.get(username=name) for name in ("officer-pontianak", "officer-pontianak-2", "officer-pontianak-3")
    )
    waiting, _other, conflict, empty, _last = first_five
    numbers = waiting.pending_entry.numbers()
    assert tally_enter(tally=waiting, numbers=numbers, entered_by=first).published
    tally_enter(tally=empty, numbers=c1([10, 20, 30]), entered_by=first)
    assert tally_enter(tally=empty, numbers=c1([10, 20, 30]), entered_by=second).published
    tally_resolve(tally=conflict, numbers=conflict.pending_entry.numbers(), resolved_by=third, reason="scan")
    conflict.refresh_from_db()
    assert conflict.state == Tally.State.PUBLISHED


def test_the_province_totals_are_the_sums_of_the_published_readings(governor_2018):
    current = Tally.objects.published().filter(contest=governor_2018).values("current_revision")
    revisions = TallyRevision.objects.filter(pk__in=current)
    sums = revisions.aggregate(valid=Sum("valid_votes"), invalid=Sum("invalid_votes"), total=Sum("total_votes"))
    voters = VoterCount.objects.filter(revision__in=revisions).aggregate(
        registered=Sum("registered_total"), voted=Sum("voted_total")
    )
    province = RegionResult.objects.get(contest=governor_2018, region_code="61")
    assert (province.valid_votes, province.invalid_votes, province.total_votes) == (
        sums["valid"],
        sums["invalid"],
        sums["total"],
    )
    assert (province.registered, province.voters) == (voters["registered"], voters["voted"])
    assert (province.stations_total, province.stations_reported) == (11_658, revisions.count())
    votes = dict(
        CandidateVotes.objects.filter(revision__in=revisions)
        .values_list("candidate__ballot_number")
        .annotate(total=Sum("votes"))
    )
    assert (
        dict(
            CandidateResult.objects.filter(contest=governor_2018, region_code="61").values_list(
                "candidate__ballot_number", "votes"
            )
        )
        == votes
    )
    assert sum(votes.values()) == province.valid_votes > 0
    assert results_drift(governor_2018) == []


def test_a_second_run_changes_nothing(governor_2018):
    def state():
        return (
            list(Region.objects.order_by("code").values_list("code", "name")),
            list(PollingStation.objects.order_by("code").values_list("id", "code", "dpt")),
            list(Tally.objects.order_by("pk").values_list("pk", "state", "current_revision")),
            TallyRevision.objects.count(),
            list(Scan.objects.order_by("pk").values_list("sha256", flat=True)),
            list(RegionResult.objects.order_by("pk").values_list("region_code", "valid_votes", "stations_reported")),
        )

    before = state()
    out = io.StringIO()
    call_command("seed_demo", "--accounts", stdout=out)
    assert state() == before
    assert "0 published" in out.getvalue() and "0 scans stored" in out.getvalue()


def test_the_numbers_of_every_tps_add_up_to_the_2018_plenary_and_hold_together():
    rng = random.Random(2018)
    _regions, villages = region_rows(rng)
    stations = [(f"{village}.{number:03d}", dpt) for village, number, dpt in station_rows(rng, villages)]
    numbers = numbers_2018(stations, voter_lists=("dpt", "dpph", "dptb"), reserve_share=2.5)
    assert numbers == numbers_2018(stations, voter_lists=("dpt", "dpph", "dptb"), reserve_share=2.5)
    assert len(numbers) == 11_658
    for number, votes in VOTES_2018.items():
        assert sum(form.candidate_votes[number] for form in numbers.values()) == votes
    assert sum(form.valid_votes for form in numbers.values()) == 2_588_541
    assert sum(form.invalid_votes for form in numbers.values()) == INVALID_2018 == 54_933
    assert sum(form.total_votes for form in numbers.values()) == TOTAL_2018 == 2_643_474
    assert sum(form.registered_total for form in numbers.values()) == 3_436_127
    for (code, dpt), form in zip(stations, numbers.values()):
        assert form.total_votes <= dpt == form.dpt_registered
        assert c1_failures(form, max_voters_per_station=800, reserve_share=2.5) == [], code
