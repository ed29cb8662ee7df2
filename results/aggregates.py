"""Keeping RegionResult and CandidateResult equal to the sum of the published readings below them.

A publish applies (new - old) to every ancestor region of its TPS in the
same transaction, locking the rows in region-code order first so that
concurrent publishes under one district neither deadlock nor lose an
update. `results_expected` recomputes everything from the TPS, for the
first build of a contest and for verify_integrity.
"""

from collections import defaultdict

from django.db.models import Count, F
from django.db.models.functions import Substr
from django.utils import timezone

from . import codes
from .models import WHOLE_COUNTRY, CandidateResult, CandidateVotes, Contest, RegionResult, Tally, VoterCount

# The RegionResult columns a reading adds to, and how to read each from C1Numbers.
TOTALS = {
    "registered": lambda numbers: numbers.registered_total,
    "voters": lambda numbers: numbers.voted_total,
    "valid_votes": lambda numbers: numbers.valid_votes,
    "invalid_votes": lambda numbers: numbers.invalid_votes,
    "total_votes": lambda numbers: numbers.total_votes,
}


def result_codes(contest, station_code):
    """The regions whose totals a TPS counts in, root of the contest's area first (the whole country first)."""
    ancestors = codes.ancestor_codes(station_code)
    if contest.scope == Contest.Scope.NATIONAL:
        return [WHOLE_COUNTRY, *ancestors]
    root = contest.region.code
    return [code for code in ancestors if code == root or code.startswith(f"{root}.")]


# Length of a dotted code at each level: 61, 61.71, 61.71.06, 61.71.06.1001.
_CODE_LENGTHS = (2, 5, 8, 13)


def _stations_per_region(contest):
    """(region code, TPS count) for every region of the contest's area: counted in the database, level by level."""
    stations = contest.stations()
    if contest.scope == Contest.Scope.NATIONAL:
        yield WHOLE_COUNTRY, stations.count()
        root = None
    else:
        root = contest.region.code
    for length in _CODE_LENGTHS:
        counted = stations.annotate(prefix=Substr("code", 1, length)).values("prefix").annotate(count=Count("pk"))
        for row in counted.values_list("prefix", "count").order_by():
            code, count = row
            if root is None or code == root or code.startswith(f"{root}."):
                yield code, count


def results_expected(contest):
    """(totals by region code, votes by (region code, candidate id)) recomputed from the stations and readings."""
    totals = defaultdict(lambda: dict.fromkeys(["stations_total", "stations_reported", *TOTALS], 0))
    votes = defaultdict(int)
    for code, count in _stations_per_region(contest):
        totals[code]["stations_total"] = count
    published = Tally.objects.filter(contest=contest, current_revision__isnull=False)
    by_revision = {}
    for revision_id, station_code, valid, invalid, total in published.values_list(
        "current_revision_id",
        "station__code",
        "current_revision__valid_votes",
        "current_revision__invalid_votes",
        "current_revision__total_votes",
    ).iterator(chunk_size=10_000):
        by_revision[revision_id] = station_code
        for code in result_codes(contest, station_code):
            row = totals[code]
            row["stations_reported"] += 1
            row["valid_votes"] += valid
            row["invalid_votes"] += invalid
            row["total_votes"] += total
    current = published.values("current_revision_id")
    for revision_id, registered, voted in (
        VoterCount.objects.filter(revision_id__in=current)
        .values_list("revision_id", "registered_total", "voted_total")
        .iterator(chunk_size=10_000)
    ):
        for code in result_codes(contest, by_revision[revision_id]):
            totals[code]["registered"] += registered
            totals[code]["voters"] += voted
    for revision_id, candidate_id, count in (
        CandidateVotes.objects.filter(revision_id__in=current)
        .values_list("revision_id", "candidate_id", "votes")
        .iterator(chunk_size=10_000)
    ):
        for code in result_codes(contest, by_revision[revision_id]):
            votes[(code, candidate_id)] += count
    candidate_ids = list(contest.candidates.values_list("pk", flat=True))
    for code in totals:
        for candidate_id in candidate_ids:
            votes.setdefault((code, candidate_id), 0)
    return dict(totals), dict(votes)


def contest_results_build(contest):
    """Write a contest's results from scratch, once, before its first publish (idempotent).

    Runs in the caller's transaction.
    """
    if RegionResult.objects.filter(contest=contest).exists():
        return
    # Two first publishes at once: the contest's row lock lets one build and
    # the other find the rows built when it gets the lock.
    Contest.objects.select_for_update().filter(pk=contest.pk).exists()
    if RegionResult.objects.filter(contest=contest).exists():
        return
    totals, votes = results_expected(contest)
    now = timezone.now()
    RegionResult.objects.bulk_create(
        [RegionResult(contest=contest, region_code=code, changed_at=now, **row) for code, row in totals.items()],
        batch_size=5000,
    )
    CandidateResult.objects.bulk_create(
        [
            CandidateResult(contest=contest, region_code=code, candidate_id=candidate_id, votes=count)
            for (code, candidate_id), count in votes.items()
        ],
        batch_size=5000,
    )


def results_apply(*, contest, station_code, old, new):
    """Add (new - old) to every ancestor's totals: O(1) statements per candidate, in the caller's transaction.

    `old` is None when the form had no published reading yet.
    """
    region_codes = result_codes(contest, station_code)
    # Lock in one fixed order (the codes sorted) before any update: two
    # publishes under the same district then queue instead of deadlocking.
    locked = list(
        RegionResult.objects.select_for_update()
        .filter(contest=contest, region_code__in=region_codes)
        .order_by("region_code")
        .values_list("pk", flat=True)
    )
    changes = {name: F(name) + (read(new) - (read(old) if old else 0)) for name, read in TOTALS.items()}
    if old is None:
        changes["stations_reported"] = F("stations_reported") + 1
    RegionResult.objects.filter(pk__in=locked).update(changed_at=timezone.now(), version=F("version") + 1, **changes)
    old_votes = old.candidate_votes if old else {}
    for ballot_number, candidate_id in contest.candidates.values_list("ballot_number", "pk"):
        delta = new.candidate_votes.get(ballot_number, 0) - old_votes.get(ballot_number, 0)
        if delta:
            CandidateResult.objects.filter(
                contest=contest, region_code__in=region_codes, candidate_id=candidate_id
            ).update(votes=F("votes") + delta)


def results_drift(contest):
    """Every stored total that differs from the recomputed one: [(region code, column, stored, expected)]."""
    totals, votes = results_expected(contest)
    if not RegionResult.objects.filter(contest=contest).exists():
        # Built at the first publish: before it, there is nothing to drift.
        reported = sum(row["stations_reported"] for row in totals.values())
        return [] if not reported else [("", "results", None, "missing")]
    drift = []
    stored = {
        row.pop("region_code"): row
        for row in RegionResult.objects.filter(contest=contest).values(
            "region_code", "stations_total", "stations_reported", *TOTALS
        )
    }
    for code in sorted(set(totals) | set(stored)):
        expected, found = totals.get(code, {}), stored.get(code, {})
        for column in sorted(set(expected) | set(found)):
            if expected.get(column, 0) != found.get(column, 0):
                drift.append((code, column, found.get(column), expected.get(column)))
    stored_votes = {
        (code, candidate_id): count
        for code, candidate_id, count in CandidateResult.objects.filter(contest=contest).values_list(
            "region_code", "candidate_id", "votes"
        )
    }
    for key in sorted(set(votes) | set(stored_votes)):
        if votes.get(key, 0) != stored_votes.get(key, 0):
            drift.append((key[0], f"candidate {key[1]}", stored_votes.get(key), votes.get(key)))
    return drift
