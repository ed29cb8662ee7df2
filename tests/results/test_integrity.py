"""Anyone can prove that nothing changed silently: digests recomputed, totals recomputed."""

import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F

from results.models import ContestHead, IntegrityCheck, RegionResult, Tally, TallyRevision
from results.services import contest_head_record, tally_correct, tally_enter
from results.tasks import check_integrity
from tests.factories import CandidateFactory, ContestFactory
from tests.results.conftest import c1
from tests.uploads.test_worker import wait_for

# The README's few lines, as an outsider would run them: no Django, no code of ours.
RECOMPUTE = """
import hashlib, json, sys
reading = json.load(sys.stdin)
canonical = json.dumps(reading, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
print(hashlib.sha256(canonical.encode("utf-8")).hexdigest())
"""


@pytest.fixture
def published(kalbar, governor, officers):
    forms = []
    for station, votes in ((kalbar["tps_bansir_laut_1"], [40, 70, 80]), (kalbar["tps_bansir_laut_2"], [10, 20, 30])):
        form = Tally.objects.create(contest=governor, station=station)
        tally_enter(tally=form, numbers=c1(votes), entered_by=officers[0], scan_digests=["ab" * 32])
        tally_enter(tally=form, numbers=c1(votes), entered_by=officers[1], scan_digests=["ab" * 32])
        form.refresh_from_db()
        forms.append(form)
    return forms


def outsider_view(revision):
    """A reading as the public will download it, written out field by field from the database rows."""
    voters = {
        row.voter_list: {
            "registered": [row.registered_men, row.registered_women, row.registered_total],
            "voted": [row.voted_men, row.voted_women, row.voted_total],
        }
        for row in revision.voter_counts.all()
    }
    return {
        "contest": revision.tally.contest_id,
        "tps": revision.tally.station.code,
        "revision": revision.number,
        "source": revision.source,
        "reason": revision.reason,
        "voters": voters,
        "disabled": {
            "registered": [
                revision.disabled_registered_men,
                revision.disabled_registered_women,
                revision.disabled_registered_total,
            ],
            "voted": [revision.disabled_voted_men, revision.disabled_voted_women, revision.disabled_voted_total],
        },
        "ballots": {
            "received": revision.ballots_received,
            "spoiled": revision.ballots_spoiled,
            "unused": revision.ballots_unused,
            "used": revision.ballots_used,
        },
        "candidates": {str(row.candidate.ballot_number): row.votes for row in revision.candidate_votes.all()},
        "valid": revision.valid_votes,
        "invalid": revision.invalid_votes,
        "total": revision.total_votes,
        "scans": revision.scan_digests,
        "previous": revision.previous_digest,
    }


def test_a_digest_is_recomputed_by_a_few_lines_without_the_portal(published):
    for revision in TallyRevision.objects.all():
        script = subprocess.run(
            [sys.executable, "-c", RECOMPUTE],
            input=json.dumps(outsider_view(revision)),
            capture_output=True,
            text=True,
            check=True,
        )
        assert script.stdout.strip() == revision.digest


def test_each_revision_chains_to_the_one_before(published, officers):
    form = published[0]
    correction = tally_correct(tally=form, numbers=c1([40, 70, 81]), entered_by=officers[2], reason="recount")
    chain = list(form.revisions.order_by("number").values_list("previous_digest", "digest"))
    assert chain[0][0] == ""
    assert [previous for previous, _digest in chain[1:]] == [digest for _previous, digest in chain[:-1]]
    assert correction.previous_digest == chain[-2][1]


def test_verify_integrity_passes_on_untouched_data(published, capsys):
    call_command("verify_integrity")
    assert "4 readings and the totals of 1 contests check out." in capsys.readouterr().out


def test_an_update_behind_the_portals_back_is_caught(published):
    revision = published[0].current_revision
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE results_candidatevotes SET votes = 800 WHERE revision_id = %s AND votes = 80", [revision.pk]
        )
    with pytest.raises(CommandError, match="mismatches") as failed:
        call_command("verify_integrity", stderr=open("/dev/null", "w"))
    assert failed.value
    from results.integrity import integrity_check

    found = [str(mismatch) for mismatch in integrity_check()]
    assert (
        f"TPS 61.71.06.1001.001 revision {revision.number}: the stored reading does not match its digest"
        in "\n".join(found)
    )


def test_totals_changed_behind_the_portals_back_are_drift(published, governor):
    RegionResult.objects.filter(contest=governor, region_code="61.71").update(valid_votes=1)
    assert check_integrity.apply().get() == 1
    report = IntegrityCheck.objects.get()
    assert report.readings == 4
    assert report.mismatches == [
        {"contest": str(governor), "where": "region 61.71", "what": "valid_votes is 1, expected 250"}
    ]


def test_the_head_moves_only_when_a_published_form_changes(published, governor, officers):
    first = contest_head_record(governor)
    assert contest_head_record(governor) == first
    assert first.forms == 2
    tally_correct(tally=published[1], numbers=c1([10, 20, 31]), entered_by=officers[2], reason="recount")
    second = contest_head_record(governor)
    assert second != first and ContestHead.objects.filter(contest=governor).count() == 2


def test_every_chunk_of_forms_is_checked_and_mismatches_come_in_tps_order(published, governor):
    from results.integrity import chain_mismatches

    assert list(chain_mismatches(governor, forms_per_chunk=1)) == []
    for form in published:
        TallyRevision.objects.filter(pk=form.current_revision_id).update(valid_votes=1)
    found = [mismatch.where for mismatch in chain_mismatches(governor, forms_per_chunk=1)]
    assert found == ["TPS 61.71.06.1001.001 revision 2", "TPS 61.71.06.1001.002 revision 2"]
    checked = []
    list(chain_mismatches(governor, forms_per_chunk=1, progress=checked.append))
    assert checked == [2, 2]


def test_a_broken_chain_is_named(published, governor):
    from results.integrity import chain_mismatches

    TallyRevision.objects.filter(pk=published[1].current_revision_id).update(previous_digest="0" * 64)
    whats = [(mismatch.where, mismatch.what) for mismatch in chain_mismatches(governor)]
    assert ("TPS 61.71.06.1001.002 revision 2", "the chain is broken: previous digest differs") in whats


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_check_outside_a_transaction_reads_ahead_and_still_names_each_mismatch(kalbar, governor, officers):
    from results.integrity import chain_mismatches

    for station, votes in ((kalbar["tps_bansir_laut_1"], [40, 70, 80]), (kalbar["tps_bansir_laut_2"], [10, 20, 30])):
        form = Tally.objects.create(contest=governor, station=station)
        tally_enter(tally=form, numbers=c1(votes), entered_by=officers[0])
        tally_enter(tally=form, numbers=c1(votes), entered_by=officers[1])
    assert not connection.in_atomic_block
    checked = []
    assert list(chain_mismatches(governor, forms_per_chunk=1, progress=checked.append)) == []
    assert checked == [2, 2]
    wait_for(lambda: other_connections() == 0, "each reader to close its connection", timeout=5)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE results_votercount SET voted_total = 1 WHERE voter_list = 'dpt'")
    found = [(mismatch.where, mismatch.what) for mismatch in chain_mismatches(governor, forms_per_chunk=1)]
    assert found == [
        (f"TPS 61.71.06.1001.00{tps} revision {number}", "the stored reading does not match its digest")
        for tps in (1, 2)
        for number in (1, 2)
    ]
    # A caller that stops reading stops the readers, and they close their connections.
    mismatches = chain_mismatches(governor, forms_per_chunk=1)
    next(mismatches)
    mismatches.close()
    wait_for(lambda: other_connections() == 0, "the readers to stop and close their connections", timeout=5)


def other_connections():
    """Backends on the test database besides this one (a closed one may linger a moment, hence wait_for)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_postgresql_hashes_each_reading_as_python_does_and_leaves_it_non_ascii_text(kalbar, officers):
    """Twelve pairs (keys "10" before "2"), scans stored unsorted, reasons JSON must escape: PostgreSQL's digest.

    A reason with non-ASCII letters is escaped differently by PostgreSQL, so
    Python recomputes that one; a reading altered behind the portal's back is
    caught either way.
    """
    from results.integrity import _chunk_checked_postgresql, chain_mismatches

    contest = ContestFactory(region=kalbar["province"])
    for number in range(1, 13):
        CandidateFactory(contest=contest, ballot_number=number)
    form = Tally.objects.create(contest=contest, station=kalbar["tps_bansir_laut_1"])
    scans = ["f0" * 32, "0a" * 32, "9b" * 32]
    for officer in officers[:2]:
        tally_enter(tally=form, numbers=c1(list(range(1, 13))), entered_by=officer, scan_digests=scans)
    for votes, reason in (
        (range(2, 14), 'quotes " and \\ backslash,\ttab\nnew line \x01 and </script>'),
        (range(3, 15), "recount: rekapitulasi ulang, surat suara tercoblos dua kali — ✓ 🗳"),
    ):
        tally_correct(tally=form, numbers=c1(list(votes)), entered_by=officers[2], reason=reason)
    TallyRevision.objects.filter(tally=form, number=1).update(scan_digests=list(reversed(scans)))
    codes = (kalbar["tps_bansir_laut_1"].code,) * 2

    count, suspects = _chunk_checked_postgresql(contest, *codes)
    assert count == 4
    # Only the non-ASCII reason comes back, recomputed by Python and found whole.
    assert [(number, stored == recomputed) for _code, _form, number, stored, *_rest, recomputed in suspects] == [
        (4, True)
    ]
    assert list(chain_mismatches(contest)) == []

    TallyRevision.objects.filter(tally=form, number=3).update(valid_votes=F("valid_votes") + 1)
    TallyRevision.objects.filter(tally=form, number=4).update(reason="recount: ✓")
    assert [(mismatch.where, mismatch.what) for mismatch in chain_mismatches(contest)] == [
        (f"TPS {codes[0]} revision {number}", "the stored reading does not match its digest") for number in (3, 4)
    ]


@pytest.mark.parametrize("scans", [{"page": "ab" * 32}, [1, 2], ["ab" * 32, None], "ab" * 32, 7])
def test_scans_rewritten_into_another_shape_are_named_not_a_crash(published, governor, scans):
    """A scan list replaced behind the portal's back by an object, numbers, a null among digests, a string."""
    from results.integrity import chain_mismatches

    TallyRevision.objects.filter(pk=published[0].current_revision_id).update(scan_digests=scans)
    whats = [(mismatch.where, mismatch.what) for mismatch in chain_mismatches(governor)]
    assert whats == [("TPS 61.71.06.1001.001 revision 2", "the stored reading does not match its digest")]
