"""Benchmark the tally write path on Indonesia-sized data, on PostgreSQL.

Loads the national synthetic region and TPS lists of bench/import.py
(~83,700 villages, ~820,000 TPS, made from a fixed seed) into a fresh
database `kpuportal_bench_tallies`, creates a nationwide contest with three
pairs, and measures:

- publishes per second: two processes at once each publish FORMS/2 forms
  through the service (a first entry, then a second officer's equal entry,
  which publishes and moves the totals of every ancestor region, in one
  transaction each), against the same number of plain one-row INSERT
  transactions into a bare table by two processes, in the same run;
- the floor under that rate: the same statements, written out in SQL and
  sent by psycopg2 without Django, by two processes, for the same forms, on a
  copy of the database taken before the publishers start. It is what the
  database costs; what the service costs beyond it is Python's;
- the delay from a publish's commit to the whole-country total showing it
  (read from another connection right after the commit returns);
- a full `manage.py verify_integrity` (every chain, every total recomputed
  from the 820,000 TPS), with its peak RSS, once every TPS has a published
  reading: the forms the publishers did not reach are loaded in bulk (a
  first entry and an equal second entry each, digests and chains made by
  results/digests.py, rows written with COPY), then the totals are rebuilt
  by the project's own `contest_results_build`. That loader is bench-only
  and is not what is measured; verify_integrity is the real command.

The contest's totals are built once before the publishers start (a
nationwide build reads every TPS; it is timed and shown on its own), so
the publish rate is the sustained one of election night. While the
publishers run, the tables they grow are analyzed every 10 s and the
totals' tables vacuumed, as autovacuum does in production (it is off on
the machine this was written on); each publisher prints its rate every
1,000 forms.

The database is dropped at the end. Run from the repository root, with
PostgreSQL on 127.0.0.1:5432 (user postgres, no password):

    .venv/bin/python bench/tallies.py            # FORMS=20000 by default
    FORMS=100000 .venv/bin/python bench/tallies.py
    FORMS=2000 LOAD_ALL=0 .venv/bin/python bench/tallies.py   # publish rate only, quick
"""

import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
national = importlib.util.module_from_spec(spec)
spec.loader.exec_module(national)
national.DB_NAME = DB_NAME = "kpuportal_bench_tallies"
FLOOR_DB = f"{DB_NAME}_floor"
FORMS = int(os.environ.get("FORMS", 20_000))
# LOAD_ALL=0 skips the bulk loader: verify_integrity then checks only the published FORMS.
LOAD_ALL = os.environ.get("LOAD_ALL", "1") != "0"
WORKERS = 2
# A publish queues its pages' refresh for a worker, as in production: on this Redis
# database (flushed before and after), where no worker takes them.
BROKER_DB = 6

SETUP = """
import time, django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from results.aggregates import contest_results_build
from results.models import Candidate, Contest, Election
election = Election.objects.create(name="Pemilu 2024", slug="pemilu-2024", kind="general", date="2024-02-14",
                                   max_voters_per_station=300)
contest = Contest.objects.create(election=election, name="Presiden 2024", slug="presiden-2024", office="president",
                                 scope="national", reserve_share="2.0")
for number in (1, 2, 3):
    Candidate.objects.create(contest=contest, ballot_number=number, name=f"Pasangan {number}")
for name in ("bench-1", "bench-2"):
    get_user_model().objects.create_superuser(name, password=None)
# A form for every TPS (as the contest's setup makes them); the publishers take
# {forms} of them at random, listed in bench_forms.
with connection.cursor() as cursor:
    cursor.execute(
        "INSERT INTO results_tally (contest_id, station_id, created_at, state)"
        " SELECT %s, id, now(), 'empty' FROM results_pollingstation", [contest.pk]
    )
    cursor.execute(
        "CREATE TABLE bench_forms AS SELECT id AS tally_id FROM results_tally ORDER BY random() LIMIT %s", [{forms}]
    )
    cursor.execute("ANALYZE")
start = time.perf_counter()
with transaction.atomic():
    contest_results_build(contest)
print(time.perf_counter() - start)
"""

# The numbers of a form in the bench, made from its id (publishers and loader alike).
READING = """
from results.arithmetic import C1Numbers, Split, VoterRow
def reading(pk):
    votes = [pk % 90, pk % 70, pk % 50]
    total = sum(votes) + 2
    return C1Numbers(
        voter_rows=(VoterRow("dpt", Split(150, 150, 300), Split(total // 2, total - total // 2, total)),
                    VoterRow("dptb", Split(0, 0, 0), Split(0, 0, 0)), VoterRow("dpk", Split(0, 0, 0), Split(0, 0, 0))),
        ballots_received=306, ballots_spoiled=0, ballots_unused=306 - total, ballots_used=total,
        candidate_votes=dict(zip((1, 2, 3), votes)), valid_votes=sum(votes), invalid_votes=2, total_votes=total,
    )
"""

PUBLISHER = (
    """
import sys, time, django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection
from results.models import Tally
from results.services import tally_enter
"""
    + READING
    + """
first, second = (get_user_model().objects.get(username=name) for name in ("bench-1", "bench-2"))
worker, workers = int(sys.argv[1]), int(sys.argv[2])
with connection.cursor() as cursor:
    cursor.execute("SELECT tally_id FROM bench_forms ORDER BY tally_id")
    forms = [pk for (pk,) in cursor.fetchall()][worker::workers]
start = last = time.perf_counter()
for done, pk in enumerate(forms, start=1):
    form = Tally.objects.select_related("station").get(pk=pk)
    numbers = reading(pk)
    tally_enter(tally=form, numbers=numbers, entered_by=first)
    tally_enter(tally=form, numbers=numbers, entered_by=second)
    if done % 1000 == 0:  # whether the rate holds as the totals' rows are updated over and over
        now = time.perf_counter()
        rate = 1000 / (now - last)
        print(f"  publisher {worker}: {done:,} forms in {now - start:.0f} s, the last 1,000: {rate:.0f}/s", flush=True)
        last = now
"""
)

# The floor: the statements a publish sends, as results/services.py sends them (the fetch of
# the form, then each entry's row lock, candidates, revision, its rows and the form's update; the
# second entry also reads the form's last revision and moves the totals of every ancestor), written
# out in SQL and sent by psycopg2 alone, without Django, on a copy of the database made before the
# publishers start, for the same forms. What the service costs beyond it is Python's.
FLOOR = """
import sys, psycopg2
worker, workers = int(sys.argv[1]), int(sys.argv[2])
connection = psycopg2.connect("host=127.0.0.1 port=5432 user=postgres dbname={db}")
cursor = connection.cursor()
cursor.execute("SELECT tally_id FROM bench_forms ORDER BY tally_id")
forms = [pk for (pk,) in cursor.fetchall()][worker::workers]
cursor.execute("SELECT id FROM auth_user WHERE username IN ('bench-1', 'bench-2') ORDER BY username")
first, second = (pk for (pk,) in cursor.fetchall())
connection.commit()
connection.autocommit = True  # the fetch of the form, as Django sends it: no transaction
LOCK = (
    "SELECT t.contest_id, t.*, c.*, r.*, s.* FROM results_tally t JOIN results_contest c ON c.id = t.contest_id"
    " JOIN results_pollingstation s ON s.id = t.station_id LEFT JOIN results_region r ON r.id = c.region_id"
    " WHERE t.id = %s FOR UPDATE OF t"
)
REVISION = (
    "INSERT INTO results_tallyrevision (tally_id, number, source, reason, entered_by_id, created_at, published,"
    " verifies_id, scan_digests, digest, previous_digest, disabled_registered_men, disabled_registered_women,"
    " disabled_registered_total, disabled_voted_men, disabled_voted_women, disabled_voted_total, ballots_received,"
    " ballots_spoiled, ballots_unused, ballots_used, valid_votes, invalid_votes, total_votes)"
    " VALUES (%s, %s, %s, '', %s, now(), %s, %s, '[]', %s, %s, 0, 0, 0, 0, 0, 0, 306, 0, %s, %s, %s, 2, %s)"
    " RETURNING id"
)
ROWS = (
    "WITH rows_0 AS (INSERT INTO results_votercount (revision_id, voter_list, registered_men, registered_women,"
    " registered_total, voted_men, voted_women, voted_total) VALUES (%s, 'dpt', 150, 150, 300, %s, %s, %s),"
    " (%s, 'dptb', 0, 0, 0, 0, 0, 0), (%s, 'dpk', 0, 0, 0, 0, 0, 0))"
    " INSERT INTO results_candidatevotes (revision_id, candidate_id, votes)"
    " VALUES (%s, %s, %s), (%s, %s, %s), (%s, %s, %s)"
)
TOTALS = (
    "WITH totals AS (UPDATE results_regionresult SET changed_at = now(), version = version + 1,"
    " registered = registered + 300, voters = voters + %s, valid_votes = valid_votes + %s,"
    " invalid_votes = invalid_votes + 2, total_votes = total_votes + %s, stations_reported = stations_reported + 1"
    " WHERE id = ANY(%s) RETURNING 1)"
    " UPDATE results_candidateresult SET votes = votes"
    " + CASE candidate_id WHEN %s THEN %s WHEN %s THEN %s WHEN %s THEN %s END"
    " WHERE contest_id = %s AND region_code = ANY(%s) AND candidate_id = ANY(%s)"
)
def entry(pk, user, second_entry, votes, total):
    cursor.execute(LOCK, [pk])
    contest = cursor.fetchone()[0]
    verifies = None
    if second_entry:
        cursor.execute("SELECT * FROM results_tallyrevision WHERE tally_id = %s ORDER BY number DESC LIMIT 1", [pk])
        verifies = cursor.fetchone()[0]
    cursor.execute("SELECT ballot_number, id FROM results_candidate WHERE contest_id = %s", [contest])
    candidates = dict(cursor.fetchall())
    cursor.execute(REVISION, [pk, 1 + second_entry, "bench", user, second_entry, verifies, "0" * 64, "",
                              306 - total, total, sum(votes), total])
    revision = cursor.fetchone()[0]
    pairs = [value for ballot, count in zip((1, 2, 3), votes) for value in (revision, candidates[ballot], count)]
    cursor.execute(ROWS, [revision, total // 2, total - total // 2, total, revision, revision, *pairs])
    return contest, candidates, revision
for pk in forms:
    cursor.execute("SELECT t.*, s.* FROM results_tally t JOIN results_pollingstation s ON s.id = t.station_id"
                   " WHERE t.id = %s", [pk])
    code = dict(zip((column.name for column in cursor.description), cursor.fetchone()))["code"]
    votes = [pk % 90, pk % 70, pk % 50]
    total = sum(votes) + 2
    connection.autocommit = False
    _contest, _candidates, revision = entry(pk, first, False, votes, total)
    cursor.execute("UPDATE results_tally SET state = 'awaiting_second', pending_entry_id = %s WHERE id = %s",
                   [revision, pk])
    connection.commit()
    contest, candidates, revision = entry(pk, second, True, votes, total)
    cursor.execute("UPDATE results_tally SET state = 'published', pending_entry_id = NULL, current_revision_id = %s"
                   " WHERE id = %s", [revision, pk])
    parts = code.split(".")
    regions = ["", *(".".join(parts[:n]) for n in (1, 2, 3, 4))]
    cursor.execute("SELECT id FROM results_regionresult WHERE contest_id = %s AND region_code = ANY(%s)"
                   " ORDER BY region_code FOR UPDATE", [contest, regions])
    locked = [pk for (pk,) in cursor.fetchall()]
    deltas = [value for ballot, count in zip((1, 2, 3), votes) for value in (candidates[ballot], count)]
    cursor.execute(TOTALS, [total, sum(votes), total, locked, *deltas, contest, regions, list(candidates.values())])
    connection.commit()
    connection.autocommit = True
"""

DELAY = """
import time, django, psycopg2
django.setup()
from django.contrib.auth import get_user_model
from results.models import RegionResult, Tally
from results.services import tally_correct
form = Tally.objects.filter(current_revision__isnull=False).select_related("current_revision").first()
numbers = form.current_revision.numbers()
other = psycopg2.connect("host=127.0.0.1 port=5432 user=postgres dbname={db}")
other.autocommit = True
def country_total():
    with other.cursor() as cursor:
        cursor.execute("SELECT valid_votes FROM results_regionresult WHERE region_code = '' AND contest_id = %s",
                       [form.contest_id])
        return cursor.fetchone()[0]
before = country_total()
from dataclasses import replace
votes = dict(numbers.candidate_votes); votes[1] += 1
changed = replace(numbers, candidate_votes=votes, valid_votes=numbers.valid_votes + 1,
                  total_votes=numbers.total_votes + 1, ballots_used=numbers.ballots_used + 1,
                  ballots_unused=numbers.ballots_unused - 1)
tally_correct(tally=form, numbers=changed, entered_by=get_user_model().objects.get(username="bench-1"), reason="bench")
committed = time.perf_counter()
while country_total() == before:
    pass
print((time.perf_counter() - committed) * 1000)
"""

LOADER = (
    r"""
import io, sys, time, django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from results import digests
from results.aggregates import contest_results_build
from results.models import Candidate, CandidateResult, Contest, RegionResult, Tally
"""
    + READING
    + r"""
# Bench only: every form the publishers did not reach gets what tally_enter
# would write for a first entry and an equal second entry, in bulk.
contest = Contest.objects.get()
candidates = dict(Candidate.objects.filter(contest=contest).values_list("ballot_number", "pk"))
users = [get_user_model().objects.get(username=name).pk for name in ("bench-1", "bench-2")]
forms = list(Tally.objects.filter(contest=contest, state="empty").order_by("pk").values_list("pk", "station__code"))
now = timezone.now().isoformat()
REVISION = ("id, tally_id, number, source, reason, entered_by_id, created_at, published, verifies_id, scan_digests,"
            " digest, previous_digest, disabled_registered_men, disabled_registered_women, disabled_registered_total,"
            " disabled_voted_men, disabled_voted_women, disabled_voted_total, ballots_received, ballots_spoiled,"
            " ballots_unused, ballots_used, valid_votes, invalid_votes, total_votes")
VOTERS = ("revision_id, voter_list, registered_men, registered_women, registered_total,"
          " voted_men, voted_women, voted_total")

def copy(cursor, table, columns, lines):
    cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.StringIO("".join(lines)))

start = time.perf_counter()
for at in range(0, len(forms), 50_000):
    chunk = forms[at:at + 50_000]
    revisions, voters, votes, published = [], [], [], []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('results_tallyrevision', 'id'))"
                       " FROM generate_series(1, %s)", [2 * len(chunk)])
        ids = iter([pk for (pk,) in cursor.fetchall()])
        for pk, code in chunk:
            numbers, previous, verifies = reading(pk), "", "\\N"
            for number, source, user, flag in ((1, "officer_entry", users[0], "f"), (2, "second_entry", users[1], "t")):
                revision_id = next(ids)
                digest = digests.digest(digests.reading_document(
                    contest_id=contest.pk, station_code=code, number=number, source=source, reason="",
                    numbers=numbers, scan_digests=[], previous_digest=previous))
                revisions.append("\t".join(map(str, (
                    revision_id, pk, number, source, "", user, now, flag, verifies, "[]", digest, previous,
                    0, 0, 0, 0, 0, 0, numbers.ballots_received, numbers.ballots_spoiled, numbers.ballots_unused,
                    numbers.ballots_used, numbers.valid_votes, numbers.invalid_votes, numbers.total_votes))) + "\n")
                for row in numbers.voter_rows:
                    registered, voted = row.registered, row.voted
                    voters.append("\t".join(map(str, (
                        revision_id, row.voter_list, registered.men, registered.women, registered.total,
                        voted.men, voted.women, voted.total))) + "\n")
                for ballot, count in numbers.candidate_votes.items():
                    votes.append(f"{revision_id}\t{candidates[ballot]}\t{count}\n")
                previous, verifies = digest, revision_id
            published.append(f"{pk}\t{verifies}\n")
        copy(cursor, "results_tallyrevision", REVISION, revisions)
        copy(cursor, "results_votercount", VOTERS, voters)
        copy(cursor, "results_candidatevotes", "revision_id, candidate_id, votes", votes)
        cursor.execute("CREATE TEMP TABLE bench_published (tally_id int, revision_id int) ON COMMIT DROP")
        copy(cursor, "bench_published", "tally_id, revision_id", published)
        cursor.execute("UPDATE results_tally t SET state = 'published', current_revision_id = p.revision_id"
                       " FROM bench_published p WHERE t.id = p.tally_id")
    print(f"{at + len(chunk):,} forms loaded", file=sys.stderr, flush=True)
with connection.cursor() as cursor:
    cursor.execute("VACUUM ANALYZE")
loaded = time.perf_counter() - start
start = time.perf_counter()
with transaction.atomic():
    CandidateResult.objects.filter(contest=contest).delete()
    RegionResult.objects.filter(contest=contest).delete()
    contest_results_build(contest)
print(len(forms), loaded, time.perf_counter() - start)
"""
)

INSERTS = """
import sys, psycopg2
worker, workers, count = map(int, sys.argv[1:])
connection = psycopg2.connect("host=127.0.0.1 port=5432 user=postgres dbname={db}")
for n in range(worker, count, workers):
    with connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_plain (form, votes) VALUES (%s, %s)", [n, n % 90])
"""


def bench_env():
    broker = f"redis://127.0.0.1:6379/{BROKER_DB}"
    return {**national.django_env(), "DJANGO_SETTINGS_MODULE": "kpuportal.settings", "CELERY_BROKER_URL": broker}


def broker_flush():
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=BROKER_DB).flushdb()


# The tables a publish inserts into or updates, and what autovacuum does to them in production.
# This machine's PostgreSQL runs with autovacuum off. Without fresh statistics the planner keeps
# treating the tables as empty: the foreign-key checks at each COMMIT, planned once per connection,
# scan the revisions sequentially, and the publish rate fell from 72/s to 22/s over the first 14,000
# publishes. The totals' rows are updated by every publish: small tables, vacuumed as often.
GROWING_TABLES = {
    "results_tally": "ANALYZE",
    "results_tallyrevision": "ANALYZE",
    "results_votercount": "ANALYZE",
    "results_candidatevotes": "ANALYZE",
    "results_regionresult": "VACUUM ANALYZE",
    "results_candidateresult": "VACUUM ANALYZE",
}
ANALYZE_EVERY_SECONDS = 10


@contextmanager
def analyzing(tables, database=DB_NAME):
    """Run each table's maintenance every ANALYZE_EVERY_SECONDS while the block runs, as autovacuum would."""
    stop = threading.Event()

    def analyze():
        connection = psycopg2.connect(f"{national.PG_SERVER} dbname={database}")
        connection.autocommit = True
        with connection.cursor() as cursor:
            while not stop.wait(ANALYZE_EVERY_SECONDS):
                for table, command in tables.items():
                    cursor.execute(f"{command} {table}")
        connection.close()

    thread = threading.Thread(target=analyze, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def python(script, *args, capture=True):
    """Run a script in a fresh interpreter with the bench database; returns (seconds, output, peak RSS MiB)."""
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", script, *map(str, args)],
            cwd=ROOT,
            env=bench_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        output.seek(0)
        text = output.read().decode("utf-8", "replace").strip()
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"bench script failed:\n{text}")
    return seconds, text, usage.ru_maxrss / 1024


def in_parallel(script, workers, *extra):
    """Seconds for `workers` processes running `script WORKER WORKERS ...` at once."""
    env = bench_env()
    start = time.perf_counter()
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(n), str(workers), *map(str, extra)], cwd=ROOT, env=env)
        for n in range(workers)
    ]
    codes = [process.wait() for process in processes]
    if any(codes):
        sys.exit(f"a parallel bench process failed: {codes}")
    return time.perf_counter() - start


def main():
    national.generate_files()
    national.create_database()
    broker_flush()
    try:
        print("loading the national lists ...", flush=True)
        national.manage("migrate", "-v0")
        national.manage("import_regions", national.REGIONS_CSV)
        national.manage("import_stations", national.STATIONS_CSV)
        stations = national.count_rows("results_pollingstation")
        _seconds, build_seconds, _rss = python(SETUP.replace("{forms}", str(FORMS)))

        connection = psycopg2.connect(f"{national.PG_SERVER} dbname={DB_NAME}")
        with connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_plain (form int, votes int)")
        connection.close()
        plain = in_parallel(INSERTS.replace("{db}", DB_NAME), WORKERS, FORMS)
        print(f"the floor: a publish's statements without Django, {FORMS:,} forms, {WORKERS} processes ...", flush=True)
        national.on_server(f"CREATE DATABASE {FLOOR_DB} TEMPLATE {DB_NAME}")
        try:
            with analyzing(GROWING_TABLES, FLOOR_DB):
                floor = in_parallel(FLOOR.replace("{db}", FLOOR_DB), WORKERS)
        finally:
            national.on_server(f"DROP DATABASE IF EXISTS {FLOOR_DB} WITH (FORCE)")
        print(f"publishing {FORMS:,} forms with {WORKERS} processes ...", flush=True)
        with analyzing(GROWING_TABLES):
            publish = in_parallel(PUBLISHER, WORKERS)
        _seconds, delay_ms, _rss = python(DELAY.replace("{db}", DB_NAME))
        loaded_forms = load_seconds = rebuild_seconds = 0
        if LOAD_ALL:
            print("loading a published reading for every other TPS (bench-only bulk loader) ...", flush=True)
            _seconds, loaded, _rss = python(LOADER)
            loaded_forms, load_seconds, rebuild_seconds = loaded.splitlines()[-1].split()
        verify_run = national.manage("verify_integrity")
        verify_seconds, verify_output, verify_rss = verify_run.seconds, verify_run.output, verify_run.rss_mib
        readings = national.count_rows("results_tallyrevision")
        published = national.count_rows("results_tally WHERE current_revision_id IS NOT NULL")

        plain_rate = FORMS / plain
        # One plain INSERT transaction, as one of the WORKERS processes saw it.
        plain_ms = plain / (FORMS / WORKERS) * 1000
        print()
        print(f"{stations:,} TPS, {FORMS:,} forms published by {WORKERS} processes, PostgreSQL")
        print(f"plain INSERT transactions   {plain_rate:8.0f} /s   (baseline, {plain:.1f} s; {plain_ms:.2f} ms each)")
        print(
            f"publishes (2 entries each)  {FORMS / publish:8.0f} /s   ratio {plain / publish:.3f} of the baseline"
            f"   aim >= 500/s: {'met' if FORMS / publish >= 500 else 'not met'}"
        )
        print(
            f"  the floor, same statements without Django {FORMS / floor:8.0f} /s   ratio {plain / floor:.3f} of the"
            f" baseline; the service reaches {floor / publish:.2f} of it"
        )
        print(
            f"commit -> whole-country total visible: {float(delay_ms):.1f} ms (same transaction),"
            f" {float(delay_ms) / plain_ms:.2f} plain INSERT transactions"
        )
        print(f"first build of the national totals (before publishing): {float(build_seconds):.1f} s")
        print(
            f"bulk-loaded {int(loaded_forms):,} more forms in {float(load_seconds):.0f} s (bench-only),"
            f" totals rebuilt by contest_results_build in {float(rebuild_seconds):.1f} s"
        )
        print(
            f"verify_integrity            {verify_seconds:8.1f} s    peak RSS {verify_rss:.0f} MiB"
            f"   aim < 60 s: {'met' if verify_seconds < 60 else 'not met'}"
        )
        print(
            f"  {readings:,} readings ({published:,} forms published): {readings / verify_seconds:,.0f} readings/s,"
            f" ratio {readings / verify_seconds / plain_rate:.1f} of the plain INSERT rate"
        )
        print(f"  ({verify_output.splitlines()[-1]})")
    finally:
        national.drop_database()
        broker_flush()


if __name__ == "__main__":
    main()
