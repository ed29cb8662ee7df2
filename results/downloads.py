"""Every TPS of a contest in one streamed file, CSV or JSON lines: the journalists' bulk download.

A national contest has ~820,000 TPS, so nothing here holds the contest in
memory: the TPS are read with a cursor (`.iterator`), and each chunk of them
is joined to its published readings and their votes in two more queries. The
file is written chunk by chunk while the client reads it.

Only published readings are read (`TallyRevision.objects.published()`): a
first entry waiting for its second officer shows its state and no numbers.

The contest's head: the JSON lines end with `{"head": ..., "forms": n}`, the
head over exactly the forms in the file (`digests.head_digest` over each
published form's TPS code and digest), so a journalist can recompute it from
the file alone. A CSV has no place for a trailer, so both responses carry the
latest recorded head (`ContestHead`, logged every minute when it moved) in
`X-Contest-Head`, `X-Contest-Head-Forms` and `X-Contest-Head-Recorded-At`:
it may be a minute behind the rows. See README "Bulk downloads".
"""

import csv
import dataclasses
import datetime
import hashlib
import io
import json

from django.db import connection, transaction
from django.db.models import FilteredRelation, Q, Sum
from django.http import StreamingHttpResponse

from . import codes
from .models import CandidateVotes, ContestHead, Tally, TallyRevision

# TPS per chunk: one cursor fetch and two joined queries each. At 2,000 a
# chunk is a few hundred kilobytes of output and 820,000 TPS are ~410 chunks.
CHUNK_SIZE = 2000

READING_COLUMNS = [
    "revision",
    "source",
    "reason",
    "created_at",
    "digest",
    "previous_digest",
    "scan_digests",
    "registered",
    "voters",
    "ballots_received",
    "ballots_spoiled",
    "ballots_unused",
    "ballots_used",
    "valid_votes",
    "invalid_votes",
    "total_votes",
]
STATION_COLUMNS = ["tps", "village", "number", "dpt", "state"]


@dataclasses.dataclass
class StationLine:
    """One TPS of the contest and its current published reading (None before one is published)."""

    tps: str
    number: int
    dpt: int
    state: str
    reading: dict | None  # READING_COLUMNS and "votes": {ballot number: votes}

    @property
    def village(self):
        return codes.parent_code(self.tps)


def _batched(rows, size):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _utc(moment):
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _readings(revision_ids):
    """{revision id: reading} for one chunk's current readings, in two queries."""
    if not revision_ids:
        return {}
    readings = {}
    rows = (
        TallyRevision.objects.published()
        .filter(pk__in=revision_ids)
        .annotate(registered=Sum("voter_counts__registered_total"), voters=Sum("voter_counts__voted_total"))
        .values("pk", "number", "created_at", *(c for c in READING_COLUMNS if c not in ("revision", "created_at")))
    )
    for row in rows:
        reading = {column: row[column] for column in READING_COLUMNS if column in row}
        reading["revision"] = row["number"]
        reading["created_at"] = _utc(row["created_at"])
        reading["scan_digests"] = sorted(row["scan_digests"])
        reading["votes"] = {}
        readings[row["pk"]] = reading
    votes = CandidateVotes.objects.filter(revision_id__in=readings).values_list(
        "revision_id", "candidate__ballot_number", "votes"
    )
    for revision_id, ballot_number, count in votes:
        readings[revision_id]["votes"][ballot_number] = count
    return readings


def contest_station_chunks(contest, *, chunk_size=CHUNK_SIZE):
    """Yield [StationLine] per chunk of the contest's TPS, in TPS-code order.

    The order matters: the head is hashed line by line as the TPS go by, and
    equals digests.head_digest (which sorts by code) only because TPS codes
    have one fixed width, so the database's order by code is Python's too.
    """
    stations = (
        contest.stations()
        # A LEFT JOIN to this contest's form only: a TPS without a form still gets its line.
        .annotate(form=FilteredRelation("tallies", condition=Q(tallies__contest=contest)))
        .order_by("code")
        .values_list("code", "number", "dpt", "form__state", "form__current_revision_id")
    )
    for chunk in _batched(stations.iterator(chunk_size=chunk_size), chunk_size):
        readings = _readings([revision_id for *_rest, revision_id in chunk if revision_id])
        yield [
            StationLine(code, number, dpt, state or Tally.State.EMPTY, readings.get(revision_id))
            for code, number, dpt, state, revision_id in chunk
        ]


def _snapshot(generate):
    """Run a download's generator inside one read-only transaction, so its rows and its head agree.

    A StreamingHttpResponse iterates after the view has returned, so the
    transaction is opened here, by the generator itself, when the first byte
    is asked for, and ends with the last (or when the client goes away and
    the server closes the generator). On PostgreSQL it is one REPEATABLE READ
    snapshot; on SQLite a transaction is a snapshot already. Inside a
    transaction that has run queries (a test's) the isolation level can no
    longer be set: the outer one holds.

    Even at READ COMMITTED the lines would agree with each other, since the
    one cursor statement carries each form's state and current revision id
    and revisions never change; the snapshot makes that a guarantee of the
    transaction rather than of the query's shape.
    """

    def snapshot(*args, **kwargs):
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost and connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield from generate(*args, **kwargs)

    snapshot.__doc__ = generate.__doc__
    return snapshot


class _Head:
    """The head over the published forms as they go by: equal to digests.head_digest over them, in TPS-code order."""

    def __init__(self):
        self.sha256 = hashlib.sha256()
        self.forms = 0

    def add(self, line):
        if line.reading is not None:
            self.sha256.update(f"{line.tps} {line.reading['digest']}\n".encode())
            self.forms += 1

    def hexdigest(self):
        return self.sha256.hexdigest()


def _ballot_numbers(contest):
    return list(contest.candidates.order_by("ballot_number").values_list("ballot_number", flat=True))


@_snapshot
def contest_stations_csv(contest, *, chunk_size=CHUNK_SIZE):
    """The contest's TPS as CSV text, a header then one chunk of lines at a time."""
    numbers = _ballot_numbers(contest)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*STATION_COLUMNS, *READING_COLUMNS, *(f"votes_{n}" for n in numbers)])
    for chunk in contest_station_chunks(contest, chunk_size=chunk_size):
        for line in chunk:
            reading = line.reading
            if reading is None:
                values = [""] * (len(READING_COLUMNS) + len(numbers))
            else:
                values = [
                    *(" ".join(reading[c]) if c == "scan_digests" else reading[c] for c in READING_COLUMNS),
                    *(reading["votes"].get(n, "") for n in numbers),
                ]
            writer.writerow([line.tps, line.village, line.number, line.dpt, line.state, *values])
        yield out.getvalue()
        out.seek(0)
        out.truncate()


@_snapshot
def contest_stations_jsonl(contest, *, chunk_size=CHUNK_SIZE):
    """The contest's TPS as JSON lines, one chunk of lines at a time, then the head over them."""
    head = _Head()
    for chunk in contest_station_chunks(contest, chunk_size=chunk_size):
        lines = []
        for line in chunk:
            head.add(line)
            document = {"tps": line.tps, "village": line.village, "number": line.number, "dpt": line.dpt}
            document["state"] = line.state
            reading = line.reading or {}
            document.update((column, reading.get(column)) for column in READING_COLUMNS)
            # JSON keys are strings: the ballot number as text, as in the digests.
            document["votes"] = {str(n): votes for n, votes in sorted(reading["votes"].items())} if reading else None
            lines.append(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n")
        yield "".join(lines)
    yield json.dumps({"head": head.hexdigest(), "forms": head.forms}, separators=(",", ":")) + "\n"


_FORMATS = {
    "csv": (contest_stations_csv, "text/csv; charset=utf-8"),
    "jsonl": (contest_stations_jsonl, "application/x-ndjson"),
}


def contest_stations_response(contest, fmt, *, chunk_size=CHUNK_SIZE):
    """Every TPS of the contest as a streamed attachment, "csv" or "jsonl", with the latest recorded head."""
    generate, content_type = _FORMATS[fmt]
    response = StreamingHttpResponse(generate(contest, chunk_size=chunk_size), content_type=content_type)
    filename = f"{contest.election.slug}-{contest.slug}-tps.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "public, max-age=60"
    head = ContestHead.objects.filter(contest=contest).order_by("-recorded_at", "-id").first()
    if head is not None:
        response["X-Contest-Head"] = head.digest
        response["X-Contest-Head-Forms"] = str(head.forms)
        response["X-Contest-Head-Recorded-At"] = _utc(head.recorded_at)
    return response
