"""Benchmark the public site: cached pages over HTTP, and uncached renders on Indonesia-sized data.

Part 1, HTTP, production settings, the demo data. Migrates a fresh database
`kpuportal_bench_public`, collects the static files and runs `seed_demo`
(Kalimantan Barat, 11,658 TPS, ~1,200 published readings with scans) with
KPU_PRODUCTION=1, DJANGO_DEBUG unset, DATABASE_CONN_MAX_AGE=60 (as
.env.example) and the Redis page cache on 127.0.0.1:6379 db 11 under a prefix
of its own (only db 11 is flushed, before and after). Then, all in the same
run, on loopback, `wrk -t2 -c256 --latency` for DURATION=10 s per target
(two interleaved rounds of 5 s, the order turning; req/s is the mean of the
rounds, p99 the worse) against:

- the contest page /pilkada-2018/gubernur-kalbar/, the regency page
  /pilkada-2018/gubernur-kalbar/61.71/ and a TPS page with a published reading
  and a scan, served by gunicorn with deploy/gunicorn.conf.py (2 workers, one
  per core, its 8 threads; access log on as shipped, sent to /dev/null),
  each page fetched once before (warm page cache);
- a bare Django view returning the contest page's bytes (bench/bare_urls.py,
  through bench/bare_settings.py: same settings and middleware, one view),
  in a second gunicorn with the same config;
- nginx serving the same bytes as a static file (a minimal config in a temp
  directory, access log off, worker_processes auto).

wrk sends `X-Forwarded-Proto: https`, as the TLS proxy in front does, so
production's HTTPS redirect does not answer instead of the page. Printed:
req/s and p99 of each, and the ratios cached page / bare Django and bare
Django / nginx. The machine is shared and everything (wrk included) runs on
its cores: the absolute figures move from run to run, the ratios of one run
are what compares.

Part 2, uncached renders, Indonesia-sized. Loads the national synthetic lists
of bench/import.py (~83,700 villages, ~820,000 TPS, fixed seed) into a second
database `kpuportal_bench_public_national`, creates a nationwide contest with
three pairs and publishes FORMS readings (default 2,000 random TPS plus every
TPS of the chosen village; each form entered twice through
`results.services.tally_enter`; the first publish builds every RegionResult
and CandidateResult row). Then, in a fresh process, times
`pages.region_body(contest, code, kind="page")` for the whole country, and
for the largest province, regency, district and village (most children), and
`pages.station_body` for a published TPS of that village: RUNS renders each
after one untimed render per template (Django's cached template loader, as in
production), median and max in ms, and the SQL queries of one render
(CaptureQueriesContext). Baselines from the same process: a `SELECT 1` round
trip, and rendering results/digests.html (the same base template, no data).
The aim is absolute: every level under 50 ms. A level over it is profiled
(cProfile, top functions by cumulative time).

Both databases are dropped at the end, every process started is stopped,
even on failure. Needs wrk and nginx: when missing they are installed with
apt-get (wrk, nginx-light), as deploy/install.sh does for its packages.
Run from the repository root, with PostgreSQL on 127.0.0.1:5432 (user
postgres, no password) and Redis on 127.0.0.1:6379:

    .venv/bin/python bench/public.py               # both parts, FORMS=2000, RUNS=9
    PARTS=1 .venv/bin/python bench/public.py       # HTTP only; PARTS=2 renders only
    DURATION=10 CONNECTIONS=256 .venv/bin/python bench/public.py
"""

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
national = importlib.util.module_from_spec(spec)
spec.loader.exec_module(national)

DB_DEMO = "kpuportal_bench_public"
DB_NATIONAL = national.DB_NAME = "kpuportal_bench_public_national"
REDIS_DB = 11
CACHE_PREFIX = "bench-public"
PARTS = os.environ.get("PARTS", "12")
DURATION = int(os.environ.get("DURATION", 10))
CONNECTIONS = int(os.environ.get("CONNECTIONS", 256))
FORMS = int(os.environ.get("FORMS", 2000))
RUNS = int(os.environ.get("RUNS", 9))
ROUNDS = 2  # DURATION is split into this many interleaved wrk runs per target
WORKERS = os.cpu_count() or 2
CONTEST_PATH = "/pilkada-2018/gubernur-kalbar/"
REGENCY_PATH = "/pilkada-2018/gubernur-kalbar/61.71/"
AIM_SHARE, AIM_P99_MS, AIM_RENDER_MS = 0.60, 100, 50
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


# -- Tools and processes ------------------------------------------------------


def tools_install():
    """wrk and nginx, installed with apt-get when missing (as deploy/install.sh installs its packages)."""
    missing = [package for tool, package in (("wrk", "wrk"), ("nginx", "nginx-light")) if not shutil.which(tool)]
    if missing:
        print(f"Installing Debian packages: {' '.join(missing)}", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, stdout=subprocess.DEVNULL)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_start(command, *, env=None, log=None):
    """A server in a session of its own, so that its workers can be stopped with it."""
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL, start_new_session=True
    )


def server_stop(process):
    """Stop a server started here: TERM to its master, then to its process group if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


HEADERS = {"X-Forwarded-Proto": "https"}


def fetch(url):
    request = urllib.request.Request(url, headers=HEADERS)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def wait_ready(url, process, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server for {url} exited with {process.returncode}")
        try:
            return fetch(url)
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{url} not answering after {seconds} s")


def wrk(url):
    """(req/s, p99 ms, errors) from `wrk --latency` against one URL."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION // ROUNDS}s", "--latency", "--timeout", "5s"]
    for name, value in HEADERS.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    errors = []
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors.append(f"{match.group(1)} non-2xx")
    if match := re.search(r"Socket errors: (.*)", output):
        errors.append(f"socket errors: {match.group(1)}")
    return rate, p99, "; ".join(errors)


def python(script, env, *args):
    """Run a script in a fresh interpreter with Django set up by `env`; returns its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(f"bench script failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def manage(env, *args):
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def database_create(name):
    national.on_server(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    national.on_server(f"CREATE DATABASE {name}")


def database_drop(name):
    national.on_server(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def redis_flush():
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()


def production_env(database, data_dir):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "KPU_", "DATABASE_", "REDIS_", "CELERY_", "CACHE_", "GUNICORN_", "AWS_"))
    }
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        DATABASE_CONN_MAX_AGE="60",
        REDIS_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
        CACHE_KEY_PREFIX=CACHE_PREFIX,
        # The seed's scans are ingested in its own process; nothing is queued on db 11.
        CELERY_TASK_ALWAYS_EAGER="1",
        KPU_PRODUCTION="1",
        DJANGO_SECRET_KEY="bench-only-not-a-secret",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        KPU_DATA_DIR=str(data_dir),
        KPU_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="kpuportal.settings",
    )
    return env


# -- Part 1: HTTP --------------------------------------------------------------

FIND_TPS = """
import django
django.setup()
from uploads.models import Scan
scan = (Scan.objects.filter(status="ready", tally__current_revision__isnull=False, tally__state="published")
        .exclude(web="").select_related("tally__station").order_by("tally__station__code").first())
print(scan.tally.station.code)
"""

NGINX_CONF = """
worker_processes auto;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types {{ text/html html; }}
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
    }}
}}
"""


def part_http(tmp):
    data_dir = tmp / "data"
    env = production_env(DB_DEMO, data_dir)
    database_create(DB_DEMO)
    redis_flush()
    servers = []
    try:
        start = time.perf_counter()
        manage(env, "migrate", "-v0")
        manage(env, "collectstatic", "--noinput", "-v0")
        manage(env, "seed_demo")
        tps = python(FIND_TPS, env).strip()
        print(f"Demo seeded into {DB_DEMO} in {time.perf_counter() - start:.0f} s; TPS page: {tps}.", flush=True)

        site_port, bare_port, nginx_port = free_port(), free_port(), free_port()
        gunicorn = [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "kpuportal.wsgi"]
        common = {"GUNICORN_WORKERS": str(WORKERS)}
        site_log = open(tmp / "gunicorn-site.log", "wb")  # noqa: SIM115 (closed with the temp dir)
        servers.append(
            server_start(gunicorn, env={**env, **common, "GUNICORN_BIND": f"127.0.0.1:{site_port}"}, log=site_log)
        )
        site = f"http://127.0.0.1:{site_port}"
        targets = {
            "contest page": site + CONTEST_PATH,
            "regency page (61.71)": site + REGENCY_PATH,
            f"TPS page ({tps})": f"{site}/pilkada-2018/gubernur-kalbar/{tps}/",
        }
        bodies = {}
        for name, url in targets.items():
            status, body = wait_ready(url, servers[0])
            if status != 200:
                sys.exit(f"{url}: HTTP {status}")
            bodies[name] = body
        contest_body = bodies["contest page"]
        body_file = tmp / "www" / "contest.html"
        body_file.parent.mkdir()
        body_file.write_bytes(contest_body)

        bare_env = {
            **env,
            **common,
            "GUNICORN_BIND": f"127.0.0.1:{bare_port}",
            "DJANGO_SETTINGS_MODULE": "bench.bare_settings",
            "BENCH_BARE_BODY": str(body_file),
        }
        servers.append(server_start(gunicorn, env=bare_env, log=open(tmp / "gunicorn-bare.log", "wb")))  # noqa: SIM115
        targets["bare Django view"] = f"http://127.0.0.1:{bare_port}/"

        # Readable by nginx's workers whatever user they run as.
        for path in (tmp, tmp / "www", body_file):
            path.chmod(0o755 if path.is_dir() else 0o644)
        (tmp / "nginx.conf").write_text(NGINX_CONF.format(tmp=tmp, port=nginx_port))
        nginx = ["nginx", "-p", str(tmp), "-e", str(tmp / "nginx-error.log"), "-c", str(tmp / "nginx.conf")]
        servers.append(server_start(nginx))
        targets["nginx static file"] = f"http://127.0.0.1:{nginx_port}/contest.html"
        for name, process in (("bare Django view", servers[1]), ("nginx static file", servers[2])):
            status, body = wait_ready(targets[name], process)
            if status != 200 or body != contest_body:
                sys.exit(f"{targets[name]}: HTTP {status}, {'same' if body == contest_body else 'other'} bytes")

        # Interleaved rounds, the order turning each round, so every target sees the same machine.
        runs = {name: [] for name in targets}
        names = list(targets)
        for round_ in range(ROUNDS):
            print(f"wrk round {round_ + 1}/{ROUNDS}: {DURATION // ROUNDS} s per target ...", flush=True)
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                runs[name].append(wrk(targets[name]))
        results = {
            name: (
                sum(rate for rate, _p99, _errors in found) / len(found),
                max(p99 for _rate, p99, _errors in found),
                "; ".join(errors for _rate, _p99, errors in found if errors),
            )
            for name, found in runs.items()
        }
        http_report(targets, results, bodies, contest_body)
    finally:
        for process in reversed(servers):
            server_stop(process)
        redis_flush()
        database_drop(DB_DEMO)


def http_report(targets, results, bodies, contest_body):
    bare = results["bare Django view"][0]
    static = results["nginx static file"][0]
    print()
    print(
        f"Part 1: HTTP on loopback, wrk -t2 -c{CONNECTIONS}, {DURATION} s per target in {ROUNDS} interleaved "
        f"rounds (req/s: mean, p99: worst round), gunicorn {WORKERS} workers x 8 threads "
        f"(deploy/gunicorn.conf.py), PostgreSQL, Redis page cache, {os.cpu_count()} cores shared with wrk and nginx."
    )
    print("Figures are from this one run on a shared machine: compare the ratios, not the absolute req/s.")
    print(f"{'target':<42}{'bytes':>8}{'req/s':>10}{'p99 ms':>9}{'/ bare':>8}   aims")
    for name in targets:
        rate, p99, errors = results[name]
        size = len(bodies.get(name, contest_body))
        line = f"{name:<42}{size:>8}{rate:>10.0f}{p99:>9.1f}{rate / bare:>8.2f}"
        if name in bodies:
            share_ok = "met" if rate / bare >= AIM_SHARE else "NOT met"
            p99_ok = "met" if p99 < AIM_P99_MS else "NOT met"
            line += f"   >= {AIM_SHARE:.0%} of bare: {share_ok}; p99 < {AIM_P99_MS} ms: {p99_ok}"
        if errors:
            line += f"   ({errors})"
        print(line)
    print(f"bare Django / nginx static: {bare / static:.2f}  (the bare view and nginx serve the contest page's bytes)")


# -- Part 2: uncached renders, Indonesia-sized ------------------------------------

NATIONAL_SETUP = """
import random, sys, django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection
from results.arithmetic import C1Numbers, Split, VoterRow
from results.models import Candidate, Contest, Election, PollingStation, Tally
from results.services import tally_enter

forms = int(sys.argv[1])
election = Election.objects.create(name="Pemilu 2024", slug="pemilu-2024", kind="general", date="2024-02-14",
                                   max_voters_per_station=300)
contest = Contest.objects.create(election=election, name="Presiden 2024", slug="presiden-2024", office="president",
                                 scope="national", reserve_share="2.0")
for number in (1, 2, 3):
    Candidate.objects.create(contest=contest, ballot_number=number, name=f"Pasangan {number}")
first, second = (get_user_model().objects.create_superuser(name, password=None) for name in ("bench-1", "bench-2"))

def largest(level):
    # The region of a level with the most children (regions, or TPS below a village): the heaviest page.
    with connection.cursor() as cursor:
        if level == 4:
            cursor.execute("SELECT r.code FROM results_region r JOIN results_pollingstation s ON s.village_id = r.id "
                           "GROUP BY r.code ORDER BY count(*) DESC, r.code LIMIT 1")
        else:
            cursor.execute("SELECT p.code FROM results_region p JOIN results_region c ON c.parent_id = p.id "
                           "WHERE p.level = %s GROUP BY p.code ORDER BY count(*) DESC, p.code LIMIT 1", [level])
        return cursor.fetchone()[0]

chosen = {level: largest(level) for level in (1, 2, 3, 4)}
village = list(PollingStation.objects.filter(village__code=chosen[4]).values_list("pk", flat=True))
ids = list(PollingStation.objects.values_list("pk", flat=True))
sample = sorted(set(random.Random(2024).sample(ids, forms)) | set(village))
Tally.objects.bulk_create([Tally(contest=contest, station_id=pk) for pk in sample], batch_size=5000)
for form in Tally.objects.filter(contest=contest).select_related("station").order_by("pk"):
    pk = form.pk
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
tps = (Tally.objects.filter(contest=contest, station__village__code=chosen[4], state="published")
       .order_by("station__code").values_list("station__code", flat=True).first())
print(" ".join([chosen[1], chosen[2], chosen[3], chosen[4], tps, str(len(village)), str(len(sample))]))
"""

RENDER = """
import cProfile, io, json, pstats, statistics, sys, time, django
django.setup()
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from results import pages
from results.models import Contest

runs = int(sys.argv[1])
province, regency, district, village, tps, village_stations = sys.argv[2:8]
aim = float(sys.argv[8])
contest = Contest.objects.select_related("election", "region").get(slug="presiden-2024")

def select_one():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()

targets = [
    ("SELECT 1 round trip (baseline)", select_one),
    ("digests.html, no data (baseline)", lambda: render_to_string("results/digests.html")),
    ("whole country", lambda: pages.region_body(contest, "", kind="page")),
    (f"province {province}", lambda: pages.region_body(contest, province, kind="page")),
    (f"regency {regency}", lambda: pages.region_body(contest, regency, kind="page")),
    (f"district {district}", lambda: pages.region_body(contest, district, kind="page")),
    (f"village {village} ({village_stations} TPS)", lambda: pages.region_body(contest, village, kind="page")),
    (f"TPS {tps}", lambda: pages.station_body(contest, tps, kind="page")),
]
for _name, render in targets:  # templates compiled and connection open, as in a worker that served once
    render()
rows = []
for name, render in targets:
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        body = render()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    with CaptureQueriesContext(connection) as queries:
        body = render()
    size = len(body) if isinstance(body, bytes) else 0
    sql = sum(float(query["time"]) for query in queries.captured_queries) * 1000
    rows.append({"name": name, "median": statistics.median(times), "max": max(times), "cpu": statistics.median(cpu),
                 "queries": len(queries), "sql": sql, "bytes": size})
    if statistics.median(times) >= aim:
        profile = cProfile.Profile()
        profile.runcall(render)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
        rows[-1]["profile"] = out.getvalue()
        rows[-1]["sql_each"] = [(q["sql"][:300], q["time"]) for q in queries.captured_queries]
print(json.dumps(rows))
"""


def part_renders(tmp):
    data_dir = tmp / "data"
    env = production_env(DB_NATIONAL, data_dir)
    env.pop("REDIS_URL")  # region_body and station_body never touch the cache; nothing else should here
    if not (data_dir / "static" / "staticfiles.json").exists():
        manage(env, "collectstatic", "--noinput", "-v0")
    # The national files go to this run's temp dir: bench/out/ may be read by another bench right now.
    national.OUT = tmp / "national"
    national.REGIONS_CSV, national.STATIONS_CSV = national.OUT / "regions.csv", national.OUT / "stations.csv"
    national.generate_files()
    database_create(DB_NATIONAL)
    try:
        start = time.perf_counter()
        manage(env, "migrate", "-v0")
        manage(env, "import_regions", str(national.REGIONS_CSV))
        manage(env, "import_stations", str(national.STATIONS_CSV))
        print(f"National lists loaded into {DB_NATIONAL} in {time.perf_counter() - start:.0f} s.", flush=True)
        start = time.perf_counter()
        chosen = python(NATIONAL_SETUP, env, FORMS).split()
        province, regency, district, village, tps, village_stations, published = chosen
        print(f"{published} forms published (two entries each) in {time.perf_counter() - start:.0f} s.", flush=True)
        rows = json.loads(
            python(RENDER, env, RUNS, province, regency, district, village, tps, village_stations, AIM_RENDER_MS)
        )
        stations = national.count_rows("results_pollingstation")
        renders_report(rows, stations, published)
    finally:
        database_drop(DB_NATIONAL)


def renders_report(rows, stations, published):
    baseline = next(row for row in rows if row["name"].startswith("digests"))["median"]
    print()
    print(
        f"Part 2: uncached renders (pages.region_body / station_body, kind='page'), {stations:,} TPS, "
        f"nationwide contest, {published} TPS published; {RUNS} renders each, one process, PostgreSQL."
    )
    print("Wall ms of the whole render; CPU ms of this Python process in it; SQL ms as Django timed the queries of one")
    print("more render (round trips included). The machine is shared: wall - CPU - SQL is mostly waiting for a core.")
    print(
        f"{'render':<42}{'median ms':>10}{'max ms':>8}{'CPU ms':>8}{'queries':>8}{'SQL ms':>8}{'bytes':>7}"
        f"{'/ digests':>10}   aim < 50 ms"
    )
    for row in rows:
        line = (
            f"{row['name']:<42}{row['median']:>10.2f}{row['max']:>8.2f}{row['cpu']:>8.2f}{row['queries']:>8}"
            f"{row['sql']:>8.1f}{row['bytes']:>7}"
        )
        if "baseline" not in row["name"]:
            line += f"{row['median'] / baseline:>9.0f}x   {'met' if row['median'] < AIM_RENDER_MS else 'NOT met'}"
        print(line)
    for row in rows:
        if "profile" in row:
            print(f"\n{row['name']}: {row['median']:.1f} ms median, over the aim. Queries of one render:")
            for sql, seconds in row["sql_each"]:
                print(f"  {float(seconds) * 1000:7.1f} ms  {sql}")
            print(row["profile"])


def main():
    tools_install()
    with tempfile.TemporaryDirectory(prefix="bench-public-") as name:
        tmp = Path(name)
        if "1" in PARTS:
            part_http(tmp)
        if "2" in PARTS:
            part_renders(tmp)


if __name__ == "__main__":
    main()
