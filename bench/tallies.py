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
- the delay from a publish's commit to the whole-country total showing it
  (read from another connection right after the commit returns);
- a full `manage.py verify_integrity` (every chain, every total recomputed
  from the 820,000 TPS), with its peak RSS.

The database is dropped at the end. Run from the repository root, with
PostgreSQL on 127.0.0.1:5432 (user postgres, no password):

    .venv/bin/python bench/tallies.py            # FORMS=20000 by default
    FORMS=100000 .venv/bin/python bench/tallies.py
"""

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
national = importlib.util.module_from_spec(spec)
spec.loader.exec_module(national)
national.DB_NAME = DB_NAME = "kpuportal_bench_tallies"
FORMS = int(os.environ.get("FORMS", 20_000))
WORKERS = 2

SETUP = """
import django
django.setup()
from django.contrib.auth import get_user_model
from results.models import Candidate, Contest, Election, PollingStation, Tally
election = Election.objects.create(name="Pemilu 2024", slug="pemilu-2024", kind="general", date="2024-02-14",
                                   max_voters_per_station=300)
contest = Contest.objects.create(election=election, name="Presiden 2024", office="president", scope="national",
                                 reserve_share="2.0")
for number in (1, 2, 3):
    Candidate.objects.create(contest=contest, ballot_number=number, name=f"Pasangan {number}")
for name in ("bench-1", "bench-2"):
    get_user_model().objects.create_superuser(name, password=None)
stations = PollingStation.objects.order_by("?").values_list("pk", flat=True)[:{forms}]
Tally.objects.bulk_create([Tally(contest=contest, station_id=pk) for pk in stations], batch_size=5000)
print(contest.pk)
"""

PUBLISHER = """
import sys, time, django
django.setup()
from django.contrib.auth import get_user_model
from results.arithmetic import C1Numbers, Split, VoterRow
from results.models import Tally
from results.services import tally_enter
first, second = (get_user_model().objects.get(username=name) for name in ("bench-1", "bench-2"))
worker, workers = int(sys.argv[1]), int(sys.argv[2])
forms = list(Tally.objects.order_by("pk").values_list("pk", flat=True))[worker::workers]
for pk in forms:
    form = Tally.objects.select_related("station").get(pk=pk)
    votes = [pk % 90, pk % 70, pk % 50]
    total = sum(votes) + 2
    numbers = C1Numbers(
        voter_rows=(VoterRow("dpt", Split(150, 150, 300), Split(total // 2, total - total // 2, total)),
                    VoterRow("dptb", Split(0, 0, 0), Split(0, 0, 0)), VoterRow("dpk", Split(0, 0, 0), Split(0, 0, 0))),
        ballots_received=306, ballots_spoiled=0, ballots_unused=306 - total, ballots_used=total,
        candidate_votes=dict(zip((1, 2, 3), votes)), valid_votes=sum(votes), invalid_votes=2, total_votes=total,
    )
    tally_enter(tally=form, numbers=numbers, entered_by=first)
    tally_enter(tally=form, numbers=numbers, entered_by=second)
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

INSERTS = """
import sys, psycopg2
worker, workers, count = map(int, sys.argv[1:])
connection = psycopg2.connect("host=127.0.0.1 port=5432 user=postgres dbname={db}")
for n in range(worker, count, workers):
    with connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_plain (form, votes) VALUES (%s, %s)", [n, n % 90])
"""


def python(script, *args, capture=True):
    """Run a script in a fresh interpreter with the bench database; returns (seconds, output, peak RSS MiB)."""
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", script, *map(str, args)],
            cwd=ROOT,
            env={**national.django_env(), "DJANGO_SETTINGS_MODULE": "kpuportal.settings"},
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
    env = {**national.django_env(), "DJANGO_SETTINGS_MODULE": "kpuportal.settings"}
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
    try:
        print("loading the national lists ...", flush=True)
        national.manage("migrate", "-v0")
        national.manage("import_regions", national.REGIONS_CSV)
        national.manage("import_stations", national.STATIONS_CSV)
        stations = national.count_rows("results_pollingstation")
        python(SETUP.replace("{forms}", str(FORMS)))

        connection = psycopg2.connect(f"{national.PG_SERVER} dbname={DB_NAME}")
        with connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_plain (form int, votes int)")
        connection.close()
        plain = in_parallel(INSERTS.replace("{db}", DB_NAME), WORKERS, FORMS)
        print(f"publishing {FORMS:,} forms with {WORKERS} processes ...", flush=True)
        publish = in_parallel(PUBLISHER, WORKERS)
        _seconds, delay_ms, _rss = python(DELAY.replace("{db}", DB_NAME))
        verify_run = national.manage("verify_integrity")
        verify_seconds, verify_output, verify_rss = verify_run.seconds, verify_run.output, verify_run.rss_mib

        print()
        print(f"{stations:,} TPS, {FORMS:,} forms published by {WORKERS} processes, PostgreSQL")
        print(f"plain INSERT transactions   {FORMS / plain:8.0f} /s   (baseline, {plain:.1f} s)")
        print(
            f"publishes (2 entries each)  {FORMS / publish:8.0f} /s   ratio {plain / publish:.3f} of the baseline"
            f"   aim >= 500/s: {'met' if FORMS / publish >= 500 else 'not met'}"
        )
        print(f"commit -> whole-country total visible: {float(delay_ms):.1f} ms (same transaction)")
        print(
            f"verify_integrity            {verify_seconds:8.1f} s    peak RSS {verify_rss:.0f} MiB"
            f"   aim < 60 s: {'met' if verify_seconds < 60 else 'not met'}"
        )
        print(f"  ({verify_output.splitlines()[-1]})")
    finally:
        national.drop_database()


if __name__ == "__main__":
    main()
