"""Factories with real Kalimantan Barat codes: 61 > 61.71 Kota Pontianak > 61.71.06 > 61.71.06.1001."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from results import codes
from results.models import Candidate, Contest, Election, PollingStation, Region, Tally, TallyRevision


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ["code"]

    code = "61"
    name = factory.Faker("city")
    level = factory.LazyAttribute(lambda region: codes.region_level(region.code))
    parent = factory.LazyAttribute(
        lambda region: RegionFactory(code=codes.parent_code(region.code)) if codes.parent_code(region.code) else None
    )


class PollingStationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PollingStation
        django_get_or_create = ["code"]

    village = factory.SubFactory(RegionFactory, code="61.71.06.1001", name="Bansir Laut")
    number = factory.Sequence(lambda n: n % 999 + 1)
    code = factory.LazyAttribute(lambda station: codes.station_code(station.village.code, station.number))
    dpt = 300


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True


class ElectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Election
        django_get_or_create = ["slug"]

    name = "Pilkada Serentak 2018"
    slug = "pilkada-2018"
    kind = Election.Kind.PILKADA
    date = datetime.date(2018, 6, 27)
    max_voters_per_station = 800


class ContestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contest

    election = factory.SubFactory(ElectionFactory)
    name = "Gubernur Kalimantan Barat 2018"
    slug = factory.Sequence(lambda n: f"gubernur-{n}")
    office = Contest.Office.GOVERNOR
    scope = Contest.Scope.REGIONAL
    region = factory.SubFactory(RegionFactory, code="61", name="Kalimantan Barat")
    reserve_share = Decimal("2.5")


class CandidateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Candidate

    contest = factory.SubFactory(ContestFactory)
    ballot_number = factory.Sequence(lambda n: n + 1)
    name = factory.Faker("name")
    running_mate = factory.Faker("name")


class TallyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tally
        django_get_or_create = ["contest", "station"]

    contest = factory.SubFactory(ContestFactory)
    station = factory.SubFactory(PollingStationFactory)


class TallyRevisionFactory(factory.django.DjangoModelFactory):
    """A reading whose arithmetic holds: 300 DPT, 200 voted, 190 valid, 10 invalid."""

    class Meta:
        model = TallyRevision

    tally = factory.SubFactory(TallyFactory)
    number = factory.Sequence(lambda n: n + 1)
    source = TallyRevision.Source.OFFICER_ENTRY
    entered_by = factory.SubFactory(UserFactory)
    disabled_registered_men = 2
    disabled_registered_women = 1
    disabled_registered_total = 3
    disabled_voted_men = 1
    disabled_voted_women = 1
    disabled_voted_total = 2
    ballots_received = 308
    ballots_spoiled = 3
    ballots_unused = 105
    ballots_used = 200
    valid_votes = 190
    invalid_votes = 10
    total_votes = 200
