"""A reading goes through one service: blind double entry, conflict, resolution, correction."""

import pytest
from django.core.exceptions import PermissionDenied

from results.models import CandidateResult, RegionResult, Tally, TallyRevision
from results.services import TallyRefused, tally_correct, tally_enter, tally_resolve
from tests.results.conftest import c1


@pytest.fixture
def form(kalbar, governor):
    return Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"])


def totals(contest, code):
    row = RegionResult.objects.get(contest=contest, region_code=code)
    votes = dict(
        CandidateResult.objects.filter(contest=contest, region_code=code).values_list(
            "candidate__ballot_number", "votes"
        )
    )
    return row.stations_reported, row.valid_votes, row.invalid_votes, [votes[n] for n in sorted(votes)]


def test_a_first_entry_waits_unpublished_for_a_second_officer(form, officers):
    first = tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0])
    form.refresh_from_db()
    assert form.state == Tally.State.AWAITING_SECOND
    assert form.current_revision is None and not first.published
    assert not Tally.objects.published().exists() and not TallyRevision.objects.published().exists()


def test_equal_second_entry_publishes_and_moves_every_ancestor(form, officers, governor):
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0])
    second = tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[1])
    form.refresh_from_db()
    assert form.state == Tally.State.PUBLISHED and form.current_revision == second
    assert second.published and second.source == "second_entry" and second.verifies == form.revisions.first()
    for code in ("61", "61.71", "61.71.06", "61.71.06.1001"):
        assert totals(governor, code) == (1, 190, 2, [40, 70, 80])
    assert RegionResult.objects.get(contest=governor, region_code="61").stations_total == 3
    assert totals(governor, "61.72")[0:2] == (0, 0)


def test_nobody_verifies_their_own_entry(form, officers):
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0])
    with pytest.raises(TallyRefused, match="a different officer makes the second"):
        tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0])
    assert form.revisions.count() == 1


def test_different_entries_are_a_conflict_resolved_by_a_third_person(form, officers, governor):
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0])
    tally_enter(tally=form, numbers=c1([40, 70, 800]), entered_by=officers[1])
    form.refresh_from_db()
    assert form.state == Tally.State.CONFLICT and form.current_revision is None
    for who in officers[:2]:
        with pytest.raises(TallyRefused, match="a third person resolves them"):
            tally_resolve(tally=form, numbers=c1([40, 70, 80]), resolved_by=who, reason="the scan says 80")
    with pytest.raises(TallyRefused, match="Say why"):
        tally_resolve(tally=form, numbers=c1([40, 70, 80]), resolved_by=officers[2], reason=" ")
    resolution = tally_resolve(tally=form, numbers=c1([40, 70, 80]), resolved_by=officers[2], reason="scan: 80")
    form.refresh_from_db()
    assert form.state == Tally.State.PUBLISHED and form.current_revision == resolution
    assert totals(governor, "61") == (1, 190, 2, [40, 70, 80])


def test_a_correction_is_a_new_revision_and_the_old_one_stays_public(form, officers, governor):
    tally_enter(tally=form, numbers=c1([40, 70, 884]), entered_by=officers[0])
    verified = tally_enter(tally=form, numbers=c1([40, 70, 884]), entered_by=officers[1])
    with pytest.raises(TallyRefused, match="needs its reason"):
        tally_correct(tally=form, numbers=c1([40, 70, 84]), entered_by=officers[2], reason="")
    correction = tally_correct(
        tally=form, numbers=c1([40, 70, 84]), entered_by=officers[2], reason="84, not 884", plenary=True
    )
    assert correction.source == "plenary_correction" and correction.previous_digest == verified.digest
    assert list(TallyRevision.objects.published().filter(tally=form)) == [verified, correction]
    assert totals(governor, "61") == (1, 194, 2, [40, 70, 84])


def test_an_officer_of_another_region_cannot_enter_a_form(form, kalbar):
    from results.services import officer_create

    singkawang = officer_create(username="petugas-singkawang", region=kalbar["singkawang"])
    with pytest.raises(PermissionDenied):
        tally_enter(tally=form, numbers=c1([1, 2, 3]), entered_by=singkawang)
    assert not form.revisions.exists()


def test_a_ballot_number_the_contest_lacks_is_refused_and_nothing_is_written(form, officers):
    with pytest.raises(TallyRefused, match="ballot number 4"):
        tally_enter(tally=form, numbers=c1([1, 2, 3, 4]), entered_by=officers[0])
    assert not form.revisions.exists()
    form.refresh_from_db()
    assert form.state == Tally.State.EMPTY


def test_readings_from_different_scans_that_disagree_are_flagged(form, officers):
    first_scan, second_scan = "a" * 64, "b" * 64
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0], scan_digests=[first_scan])
    assert form.scans_disagree() is None
    tally_enter(tally=form, numbers=c1([40, 70, 81]), entered_by=officers[1], scan_digests=[second_scan])
    flag = form.scans_disagree()
    assert flag.rule == "scans_disagree"
    assert flag.message == "Readings made from different scans of this form disagree: is there a second paper?"


def test_readings_from_the_same_scan_that_disagree_are_a_conflict_not_this_flag(form, officers):
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0], scan_digests=["a" * 64])
    tally_enter(tally=form, numbers=c1([40, 70, 81]), entered_by=officers[1], scan_digests=["a" * 64])
    assert form.scans_disagree() is None
