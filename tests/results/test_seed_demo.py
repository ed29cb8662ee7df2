import pytest
from django.core.management import call_command
from django.db.models import Sum

from results.models import Candidate, Contest, PollingStation, Region


@pytest.mark.django_db
def test_demo_holds_kalimantan_barat_and_the_2018_governor_race():
    call_command("seed_demo", stdout=open("/dev/null", "w"))
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
    contest = Contest.objects.get(region__code="61")
    assert list(Candidate.objects.filter(contest=contest).values_list("ballot_number", "name", "running_mate")) == [
        (1, "Milton Crosby", "Boyman Harun"),
        (2, "Karolin Margret Natasa", "Suryadman Gidot"),
        (3, "Sutarmidji", "Ria Norsan"),
    ]


@pytest.mark.django_db
def test_demo_is_deterministic_and_a_second_run_changes_nothing():
    call_command("seed_demo", "--accounts", stdout=open("/dev/null", "w"))
    first = list(PollingStation.objects.order_by("code").values_list("id", "code", "dpt"))
    names = list(Region.objects.order_by("code").values_list("code", "name"))
    call_command("seed_demo", "--accounts", stdout=open("/dev/null", "w"))
    assert list(PollingStation.objects.order_by("code").values_list("id", "code", "dpt")) == first
    assert list(Region.objects.order_by("code").values_list("code", "name")) == names
