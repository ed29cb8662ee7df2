"""Proving that nothing changed silently: every digest chain recomputed, every total recomputed from the TPS."""

import json
import threading
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connection, connections

from . import digests
from .aggregates import results_drift
from .models import Candidate, CandidateVotes, Contest, PollingStation, Tally, TallyRevision, VoterCount

# Forms read per round: their revisions, voter rows and candidate rows come in
# three queries, so memory stays flat however many readings a contest has.
FORMS_PER_CHUNK = 2000

_REVISION_COLUMNS = (
    "pk",
    "tally_id",
    "number",
    "source",
    "reason",
    "scan_digests",
    "digest",
    "previous_digest",
    "disabled_registered_men",
    "disabled_registered_women",
    "disabled_registered_total",
    "disabled_voted_men",
    "disabled_voted_women",
    "disabled_voted_total",
    "ballots_received",
    "ballots_spoiled",
    "ballots_unused",
    "ballots_used",
    "valid_votes",
    "invalid_votes",
    "total_votes",
)
_VOTER_COLUMNS = (
    "revision_id",
    "voter_list",
    "registered_men",
    "registered_women",
    "registered_total",
    "voted_men",
    "voted_women",
    "voted_total",
)


@dataclass(frozen=True)
class Mismatch:
    contest: str
    where: str
    what: str

    def __str__(self):
        return f"{self.contest} · {self.where}: {self.what}"


def _code_ranges(contest, size):
    """(first, last) TPS codes of successive runs of `size` of the contest's forms with readings, in code order.

    One query numbers the forms in code order and returns only the codes that
    open or close a run: a national contest has 820,000 forms in about 400
    runs, and asking for each run's codes in turn took 5 s of a 44 s check.
    The rows of a run are then fetched by code range, never by a long list
    of ids. Forms without a reading (most of them early in the count, each
    TPS has one from the start) have nothing to check.
    """
    revision, tally, station = (model._meta for model in (TallyRevision, Tally, PollingStation))
    sql = f"""
        SELECT code, (n - 1) %% %s = 0, n %% %s = 0 OR n = forms
          FROM (SELECT s.code, row_number() OVER (ORDER BY s.code) AS n, count(*) OVER () AS forms
                  FROM {tally.db_table} t JOIN {station.db_table} s ON s.id = t.station_id
                 WHERE t.contest_id = %s
                   AND EXISTS (SELECT 1 FROM {revision.db_table} r WHERE r.tally_id = t.id)) numbered
         WHERE (n - 1) %% %s = 0 OR n %% %s = 0 OR n = forms
         ORDER BY code
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [size, size, contest.pk, size, size])
        bounds = cursor.fetchall()
    for code, opens, closes in bounds:
        if opens:
            first = code
        if closes:
            yield first, code


def _chunk_rows(contest, first, last, ids=None):
    """The readings of the forms from TPS `first` to `last` (only revisions `ids` if given), in TPS and revision order.

    One plain tuple each: (TPS code, revision id, form id, number, source,
    reason, scans, digest, previous digest, the 13 numbers of the revision
    row, voter rows as (list, registered m/w/t, voted m/w/t), votes as
    (ballot number, votes)).
    """
    codes = (first, last)
    revisions = TallyRevision.objects.filter(tally__contest=contest, tally__station__code__range=codes)
    voter_rows = VoterCount.objects.filter(
        revision__tally__contest=contest, revision__tally__station__code__range=codes
    )
    candidate_rows = CandidateVotes.objects.filter(
        revision__tally__contest=contest, revision__tally__station__code__range=codes
    )
    if ids is not None:
        revisions = revisions.filter(pk__in=ids)
        voter_rows, candidate_rows = voter_rows.filter(revision__in=ids), candidate_rows.filter(revision__in=ids)
    revisions = list(
        revisions.order_by("tally__station__code", "number").values_list("tally__station__code", *_REVISION_COLUMNS)
    )
    voters = defaultdict(list)
    for revision_id, voter_list, *counts in voter_rows.values_list(*_VOTER_COLUMNS):
        voters[revision_id].append((voter_list, counts[:3], counts[3:]))
    candidates = defaultdict(list)
    for revision_id, ballot_number, votes in candidate_rows.values_list(
        "revision_id", "candidate__ballot_number", "votes"
    ):
        candidates[revision_id].append((ballot_number, votes))
    return [(*row, voters[row[1]], candidates[row[1]]) for row in revisions]


def _recomputed(contest, row):
    """The digest of a _chunk_rows reading, recomputed from its stored numbers; None if it cannot be one.

    The portal only ever stores a list of scan digests: anything else was
    written behind its back and matches no digest (sorting it could even fail).
    """
    code, _id, _tally_id, number, source, reason, scans, _stored, previous_digest, *numbers, voters, candidates = row
    if not isinstance(scans, list) or not all(isinstance(scan, str) for scan in scans):
        return None
    document = digests.reading_layout(
        contest_id=contest.pk,
        station_code=code,
        number=number,
        source=source,
        reason=reason,
        numbers=digests.numbers_layout(
            voters=voters,
            disabled=(numbers[0:3], numbers[3:6]),
            ballots=numbers[6:10],
            candidates=candidates,
            votes=numbers[10:],
        ),
        scan_digests=scans,
        previous_digest=previous_digest,
    )
    return digests.digest(document)


def _chunk_checked(contest, first, last):
    """(readings, suspects) for the forms from TPS `first` to `last`, every digest recomputed here.

    A suspect is (TPS code, form id, number, stored digest, previous digest,
    the digest it should chain to, the recomputed digest); here every reading is one.
    """
    rows = _chunk_rows(contest, first, last)
    chained_to, suspects = {}, []
    for row in rows:
        code, _id, tally_id, number, *_, stored, previous_digest = row[:9]
        suspects.append(
            (code, tally_id, number, stored, previous_digest, chained_to.get(tally_id, ""), _recomputed(contest, row))
        )
        chained_to[tally_id] = stored
    return len(rows), suspects


def _canonical_sql():
    """The canonical text of a reading (results/digests.py) built by PostgreSQL from the rows of revision `r`.

    Keys in sorted order, no spaces; strings through to_json, which escapes as
    Python's json does except that it leaves non-ASCII characters as they are:
    such a reading (or scans that are not all strings) is left to Python.
    """
    revision, voter, votes, candidate = (
        model._meta for model in (TallyRevision, VoterCount, CandidateVotes, Candidate)
    )

    def column(name, alias="r", meta=revision):
        return f"{alias}.{meta.get_field(name).column}"

    def triple(prefix, alias="r", meta=revision):
        """`prefix`_men, _women and _total, as JSON array items."""
        return " || ',' || ".join(column(f"{prefix}_{part}", alias, meta) for part in ("men", "women", "total"))

    voters = f"""(SELECT coalesce(string_agg(
                    to_json(v.voter_list)::text || ':{{"registered":[' || {triple("registered", "v", voter)}
                    || '],"voted":[' || {triple("voted", "v", voter)} || ']}}',
                    ',' ORDER BY v.voter_list COLLATE "C"), '')
                 FROM {voter.db_table} v WHERE v.revision_id = r.id)"""
    candidates = f"""(SELECT coalesce(string_agg('"' || c.ballot_number || '":' || cv.votes, ','
                                                ORDER BY c.ballot_number::text COLLATE "C"), '')
                     FROM {votes.db_table} cv JOIN {candidate.db_table} c ON c.id = cv.candidate_id
                    WHERE cv.revision_id = r.id)"""
    scans = f"""(CASE WHEN jsonb_typeof({column("scan_digests")}) = 'array'
                       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements({column("scan_digests")}) e
                                        WHERE jsonb_typeof(e) <> 'string')
                 THEN (SELECT coalesce(string_agg(to_json(x)::text, ',' ORDER BY x COLLATE "C"), '')
                         FROM jsonb_array_elements_text({column("scan_digests")}) x) END)"""
    return f"""'{{"ballots":{{"received":' || {column("ballots_received")}
        || ',"spoiled":' || {column("ballots_spoiled")} || ',"unused":' || {column("ballots_unused")}
        || ',"used":' || {column("ballots_used")}
        || '}},"candidates":{{' || {candidates}
        || '}},"contest":' || t.contest_id
        || ',"disabled":{{"registered":[' || {triple("disabled_registered")}
        || '],"voted":[' || {triple("disabled_voted")}
        || ']}},"invalid":' || {column("invalid_votes")}
        || ',"previous":' || to_json({column("previous_digest")})::text
        || ',"reason":' || to_json({column("reason")})::text
        || ',"revision":' || {column("number")}
        || ',"scans":[' || {scans}
        || '],"source":' || to_json({column("source")})::text
        || ',"total":' || {column("total_votes")}
        || ',"tps":' || to_json(s.code)::text
        || ',"valid":' || {column("valid_votes")}
        || ',"voters":{{' || {voters} || '}}}}'"""


def _chunk_checked_postgresql(contest, first, last):
    """_chunk_checked with the hashing done by PostgreSQL: only the suspects come back to Python.

    Building and hashing 1.6 million documents in Python took most of a
    national check; PostgreSQL does it next to the rows and returns the few
    readings whose digest or chain is off, plus those it leaves to Python
    (their recomputed digest is None).
    """
    revision, tally, station = (model._meta for model in (TallyRevision, Tally, PollingStation))
    sql = f"""
        WITH readings AS (
            SELECT s.code, r.id, r.tally_id, r.number, r.digest, r.previous_digest,
                   coalesce(lag(r.digest) OVER (PARTITION BY r.tally_id ORDER BY r.number), '') AS chained_to,
                   {_canonical_sql()} AS canonical
              FROM {revision.db_table} r
              JOIN {tally.db_table} t ON t.id = r.tally_id
              JOIN {station.db_table} s ON s.id = t.station_id
             WHERE t.contest_id = %s AND s.code BETWEEN %s AND %s
        ), checked AS (
            SELECT code, id, tally_id, number, digest, previous_digest, chained_to,
                   CASE WHEN octet_length(canonical) = char_length(canonical)
                        THEN encode(sha256(convert_to(canonical, 'UTF8')), 'hex') END AS recomputed
              FROM readings
        )
        SELECT (SELECT count(*) FROM checked),
               (SELECT json_agg(json_build_array(code, id, tally_id, number, digest, previous_digest, chained_to,
                                                 recomputed) ORDER BY code, number)
                  FROM checked
                 WHERE recomputed IS DISTINCT FROM digest OR previous_digest <> chained_to)::text
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [contest.pk, first, last])
        count, found = cursor.fetchone()
    suspects = json.loads(found) if found else []
    left_to_python = [revision_id for _code, revision_id, *_rest, recomputed in suspects if recomputed is None]
    if left_to_python:
        rows = {row[1]: row for row in _chunk_rows(contest, first, last, ids=left_to_python)}
    return count, [
        (code, tally_id, number, stored, previous_digest, chained_to, recomputed or _recomputed(contest, rows[rev_id]))
        for code, rev_id, tally_id, number, stored, previous_digest, chained_to, recomputed in suspects
    ]


# Threads checking chunks, each on a connection of its own: PostgreSQL checks
# chunks on both cores while this thread reports.
READERS = 2


def _chunks_checked(contest, ranges):
    """(readings, suspects) for each range of forms, in order; on PostgreSQL checked by READERS threads.

    Reader i checks ranges i, i + READERS, ... on one connection, closed when
    it is done (a connection a chunk cost 4 s of a national check). Results
    are small (a count, and suspects only where something is wrong), so
    readers run ahead freely; if the caller stops reading they stop too.
    Inside a transaction (a caller's atomic block, a test) another connection
    would not see its rows: the chunks are then checked here, one after the other.
    """
    if connection.vendor != "postgresql":
        for first, last in ranges:
            yield _chunk_checked(contest, first, last)
        return
    if connection.in_atomic_block:
        for first, last in ranges:
            yield _chunk_checked_postgresql(contest, first, last)
        return
    ranges = list(ranges)
    checked = [Future() for _range in ranges]
    stopped = threading.Event()

    def read(start):
        try:
            for index in range(start, len(ranges), READERS):
                if stopped.is_set():
                    return
                try:
                    checked[index].set_result(_chunk_checked_postgresql(contest, *ranges[index]))
                except BaseException as error:
                    checked[index].set_exception(error)
                    return
        finally:
            connections[DEFAULT_DB_ALIAS].close()

    readers = [threading.Thread(target=read, args=(start,), daemon=True) for start in range(READERS)]
    for reader in readers:
        reader.start()
    try:
        for future in checked:
            yield future.result()
    finally:
        stopped.set()
        for reader in readers:
            reader.join()


def chain_mismatches(contest, *, progress=None, forms_per_chunk=FORMS_PER_CHUNK):
    """Each reading whose stored digest is not the digest of what is stored, or whose chain is broken.

    Works on plain rows, a chunk of forms at a time, not on model instances:
    a national contest has more than a million and a half readings.
    """
    name = str(contest)
    for count, suspects in _chunks_checked(contest, _code_ranges(contest, forms_per_chunk)):
        for code, _tally_id, number, stored, previous_digest, chained_to, recomputed in suspects:
            where = f"TPS {code} revision {number}"
            if previous_digest != chained_to:
                yield Mismatch(name, where, "the chain is broken: previous digest differs")
            if recomputed != stored:
                yield Mismatch(name, where, "the stored reading does not match its digest")
        if progress:
            progress(count)


def integrity_check(*, contests=None, progress=None):
    """Every mismatch in the chains and the totals of the given contests (all by default)."""
    mismatches = []
    for contest in contests if contests is not None else Contest.objects.select_related("region"):
        mismatches += chain_mismatches(contest, progress=progress)
        for code, column, stored, expected in results_drift(contest):
            mismatches.append(
                Mismatch(
                    str(contest), f"region {code or 'whole country'}", f"{column} is {stored}, expected {expected}"
                )
            )
    return mismatches
