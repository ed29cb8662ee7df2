import pytest

from results.models import CandidateVotes, TallyRevision, VoterCount
from results.services import tally_revision_add
from tests.factories import CandidateFactory, TallyFactory, TallyRevisionFactory, UserFactory


@pytest.fixture
def tally(kalbar):
    return TallyFactory(station=kalbar["tps_bansir_laut_1"])


def reading(tally, **numbers):
    return TallyRevisionFactory.build(tally=tally, entered_by=None, number=None, **numbers)


def test_readings_are_numbered_in_order_and_earlier_ones_stay(tally):
    officer = UserFactory(is_superuser=True)
    first = tally_revision_add(revision=reading(tally), entered_by=officer)
    second = tally_revision_add(
        revision=reading(tally, source=TallyRevision.Source.PLENARY_CORRECTION, reason="84, not 884"),
        entered_by=officer,
    )
    assert (first.number, second.number) == (1, 2)
    assert list(tally.revisions.values_list("number", "source")) == [(1, "officer_entry"), (2, "plenary_correction")]


def test_an_officer_cannot_add_a_reading_outside_their_region(kalbar, tally):
    from django.core.exceptions import PermissionDenied

    from results.services import officer_create

    singkawang = officer_create(username="petugas-singkawang", region=kalbar["singkawang"])
    with pytest.raises(PermissionDenied):
        tally_revision_add(revision=reading(tally), entered_by=singkawang)
    assert not TallyRevision.objects.exists()
    pontianak = officer_create(username="petugas-pontianak", region=kalbar["pontianak"])
    assert tally_revision_add(revision=reading(tally), entered_by=pontianak).number == 1


def test_a_stored_reading_cannot_be_added_again_as_an_edit(tally):
    revision = tally_revision_add(revision=reading(tally), entered_by=UserFactory(is_superuser=True))
    revision.valid_votes = 1
    with pytest.raises(ValueError, match="append-only"):
        tally_revision_add(revision=revision, entered_by=UserFactory(is_superuser=True))
    revision.refresh_from_db()
    assert revision.valid_votes == 190


def test_a_stored_reading_is_checked_with_its_contest_rules(tally):
    revision = tally_revision_add(revision=reading(tally), entered_by=UserFactory(is_superuser=True))
    for row, (registered, voted) in {
        "dpt": ((140, 150, 290), (90, 100, 190)),
        "dpph": ((5, 5, 10), (5, 5, 10)),
    }.items():
        VoterCount.objects.create(
            revision=revision,
            voter_list=row,
            registered_men=registered[0],
            registered_women=registered[1],
            registered_total=registered[2],
            voted_men=voted[0],
            voted_women=voted[1],
            voted_total=voted[2],
        )
    for number, votes in ((1, 40), (2, 70), (3, 80)):
        CandidateVotes.objects.create(
            revision=revision, candidate=CandidateFactory(contest=tally.contest, ballot_number=number), votes=votes
        )
    assert revision.failures() == []
    CandidateVotes.objects.filter(candidate__ballot_number=3).update(votes=800)
    assert {failure.rule for failure in revision.failures()} == {"candidates_sum_to_valid"}
    CandidateVotes.objects.filter(candidate__ballot_number=3).update(votes=801)
    assert {failure.rule for failure in revision.failures()} == {
        "candidates_sum_to_valid",
        "candidate_within_station_maximum",
    }
