"""Keeping RegionResult and CandidateResult equal to the sum of the published readings below them.

A publish applies (new - old) to every ancestor region of its TPS in the
same transaction, locking the rows in region-code order first so that
concurrent publishes under one district neither deadlock nor lose an
update. `results_expected` recomputes everything from the TPS, for the
first build of a contest and for verify_integrity.
"""

from collections import defaultdict

from django.db import connection
from django.db.models import BigIntegerField, Case, Count, ExpressionWrapper, F, Sum, Value, When
from django.utils import timezone

from . import codes
from .models import WHOLE_COUNTRY, Candidate, CandidateResult, Contest, RegionResult, Tally
from .models.aggregates import version_now

# The RegionResult columns a reading adds to, and how to read each from C1Numbers.
TOTALS = {
    "registered": lambda numbers: numbers.registered_total,
    "voters": lambda numbers: numbers.voted_total,
    "valid_votes": lambda numbers: numbers.valid_votes,
    "invalid_votes": lambda numbers: numbers.invalid_votes,
    "total_votes": lambda numbers: numbers.total_votes,
}


def _in_area(contest, region_codes):
    """The given codes (ancestors first) that lie in the contest's area, the whole country first if nationwide."""
    if contest.scope == Contest.Scope.NATIONAL:
        return [WHOLE_COUNTRY, *region_codes]
    root = contest.region.code
    return [code for code in region_codes if code == root or code.startswith(f"{root}.")]


def result_codes(contest, station_code):
    """The regions whose totals a TPS counts in, root of the contest's area first (the whole country first)."""
    return _in_area(contest, codes.ancestor_codes(station_code))


def results_expected(contest):
    """(totals by region code, votes by (region code, candidate id)) recomputed from the stations and readings.

    The database sums per village (a few queries, whatever the number of
    TPS); the villages are then added up to every ancestor here, so memory
    grows with the number of regions, not of TPS or readings.
    """
    totals = defaultdict(lambda: dict.fromkeys(["stations_total", "stations_reported", *TOTALS], 0))
    votes = defaultdict(int)
    above = {}

    def counted_in(village_code):
        if village_code not in above:
            above[village_code] = _in_area(contest, [*codes.ancestor_codes(village_code), village_code])
        return above[village_code]

    village = "station__village__code"
    stations = contest.stations().values_list("village__code").annotate(Count("pk"))
    for code, count in stations.order_by():
        for region_code in counted_in(code):
            totals[region_code]["stations_total"] += count
    # Only the published reading of each form counts (current_revision).
    published = Tally.objects.filter(contest=contest, current_revision__isnull=False)
    readings = published.values_list(village).annotate(
        Count("pk"),
        Sum("current_revision__valid_votes"),
        Sum("current_revision__invalid_votes"),
        Sum("current_revision__total_votes"),
    )
    for code, reported, valid, invalid, total in readings.order_by():
        for region_code in counted_in(code):
            row = totals[region_code]
            row["stations_reported"] += reported
            row["valid_votes"] += valid
            row["invalid_votes"] += invalid
            row["total_votes"] += total
    voters = published.values_list(village).annotate(
        Sum("current_revision__voter_counts__registered_total"), Sum("current_revision__voter_counts__voted_total")
    )
    for code, registered, voted in voters.order_by():
        for region_code in counted_in(code):
            totals[region_code]["registered"] += registered or 0
            totals[region_code]["voters"] += voted or 0
    candidate = "current_revision__candidate_votes__candidate_id"
    per_candidate = published.values_list(village, candidate).annotate(Sum("current_revision__candidate_votes__votes"))
    for code, candidate_id, count in per_candidate.order_by():
        if candidate_id is None:  # a reading without candidate rows
            continue
        for region_code in counted_in(code):
            votes[(region_code, candidate_id)] += count
    candidate_ids = list(contest.candidates.values_list("pk", flat=True))
    for code in totals:
        for candidate_id in candidate_ids:
            votes.setdefault((code, candidate_id), 0)
    return dict(totals), dict(votes)


def contest_results_build(contest):
    """Write a contest's results from scratch, once, at its first publish (idempotent); True if it wrote them.

    Runs in the caller's transaction and counts every reading published in it so far.
    """
    if RegionResult.objects.filter(contest=contest).exists():
        return False
    # Two first publishes at once: the contest's row lock lets one build and
    # the other find the rows built when it gets the lock.
    Contest.objects.select_for_update().filter(pk=contest.pk).exists()
    if RegionResult.objects.filter(contest=contest).exists():
        return False
    totals, votes = results_expected(contest)
    now, version = timezone.now(), version_now()
    RegionResult.objects.bulk_create(
        [
            RegionResult(contest=contest, region_code=code, changed_at=now, version=version, **row)
            for code, row in totals.items()
        ],
        batch_size=5000,
    )
    CandidateResult.objects.bulk_create(
        [
            CandidateResult(contest=contest, region_code=code, candidate_id=candidate_id, votes=count)
            for (code, candidate_id), count in votes.items()
        ],
        batch_size=5000,
    )
    return True


def _ancestors_lock(contest, region_codes):
    """Lock the contest's rows of these regions in one fixed order (the codes sorted); returns their ids.

    Two publishes under the same district then queue instead of
    deadlocking. A region's CandidateResult rows are only ever updated by a
    transaction holding its RegionResult row, so they need no lock of their own.
    """
    return list(
        RegionResult.objects.select_for_update()
        .filter(contest=contest, region_code__in=region_codes)
        .order_by("region_code")
        .values_list("pk", flat=True)
    )


def results_apply(*, contest, station_code, old, new, candidates=None):
    """Add (new - old) to every ancestor's totals in the caller's transaction, in a fixed number of statements.

    `old` is None when the form had no published reading yet. Call it last,
    once the form's row points at its new reading: the ancestors' rows are
    the ones every publish of the contest waits for (the whole country's or
    the province's above all), so they are held only from here to the commit.
    `candidates` maps ballot numbers to candidate ids (read from the contest
    when not given).
    """
    if candidates is None:
        candidates = dict(Candidate.objects.filter(contest=contest).order_by().values_list("ballot_number", "pk"))
    region_codes = result_codes(contest, station_code)
    locked = _ancestors_lock(contest, region_codes)
    if not locked:
        if contest_results_build(contest):
            # Built just now from the TPS, this reading included: only the versions move.
            RegionResult.objects.filter(contest=contest, region_code__in=region_codes).update(version=F("version") + 1)
            return
        locked = _ancestors_lock(contest, region_codes)
    changes = {name: read(new) - (read(old) if old else 0) for name, read in TOTALS.items()}
    changes["stations_reported"] = 0 if old else 1
    old_votes = old.candidate_votes if old else {}
    deltas = {
        candidates[number]: new.candidate_votes.get(number, 0) - old_votes.get(number, 0)
        for number in {*new.candidate_votes, *old_votes}
    }
    deltas = {candidate_id: delta for candidate_id, delta in deltas.items() if delta}
    move = _totals_move_postgresql if connection.vendor == "postgresql" else _totals_move
    move(contest=contest, locked=locked, region_codes=region_codes, changes=changes, deltas=deltas)


def _totals_move(*, contest, locked, region_codes, changes, deltas):
    """Add `changes` to the locked RegionResult rows and `deltas` (by candidate id) to their CandidateResult rows."""
    RegionResult.objects.filter(pk__in=locked).update(
        changed_at=timezone.now(),
        version=F("version") + 1,
        **{name: F(name) + change for name, change in changes.items()},
    )
    if deltas:
        # One UPDATE for every pair: CASE picks each pair's delta.
        delta = Case(
            *(When(candidate_id=candidate_id, then=Value(change)) for candidate_id, change in deltas.items()),
            output_field=BigIntegerField(),
        )
        CandidateResult.objects.filter(contest=contest, region_code__in=region_codes, candidate_id__in=deltas).update(
            votes=ExpressionWrapper(F("votes") + delta, output_field=BigIntegerField())
        )


def _totals_move_postgresql(*, contest, locked, region_codes, changes, deltas):
    """_totals_move in one statement, one round trip: the rows are locked, so every moment here is a wait for others.

    The RegionResult update rides in a WITH clause, which PostgreSQL runs to
    completion whether or not the CandidateResult update reads it.
    """
    region = RegionResult._meta
    columns = ", ".join(f"{region.get_field(name).column} = {region.get_field(name).column} + %s" for name in changes)
    totals = f"UPDATE {region.db_table} SET changed_at = %s, version = version + 1, {columns} WHERE id = ANY(%s)"
    params = [timezone.now(), *changes.values(), locked]
    if deltas:
        cases = " ".join("WHEN %s THEN %s" for _candidate in deltas)
        sql = (
            f"WITH totals AS ({totals} RETURNING 1) "
            f"UPDATE {CandidateResult._meta.db_table} SET votes = votes + CASE candidate_id {cases} END "
            "WHERE contest_id = %s AND region_code = ANY(%s) AND candidate_id = ANY(%s)"
        )
        params += [value for pair in deltas.items() for value in pair]
        params += [contest.pk, region_codes, list(deltas)]
    else:
        sql = totals
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def versions_restart():
    """After a restore: every region's data version starts again above any the portal ever used.

    The restored versions are older than pages cached since the backup; were
    they to grow again from there, a page cached for numbers the restore took
    back could answer for the new ones under the same version.
    """
    RegionResult.objects.update(version=version_now())


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
