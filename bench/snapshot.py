"""Benchmark the never-dark static snapshot: build speed, what one publish re-renders, and nginx serving it.

Part 1, Kalimantan Barat (the demo), production settings. Migrates a fresh
database `kpuportal_bench_snapshot`, collects the static files and runs
`seed_demo` (11,658 TPS, ~1,200 published readings with scans) with
KPU_PRODUCTION=1, a signing key of the run's own (KPU_SNAPSHOT_KEY_FILE),
KPU_DATA_DIR and KPU_SNAPSHOT_ROOT in a temp dir and the Redis cache on
127.0.0.1:6379 db 5 under a prefix of its own (only db 5 is flushed, before
and after). Then, each in a fresh process, wall clock with process start:

- `manage.py snapshot --full`: pages, files, total seconds and pages/s (the
  command's own figures, and the wall clock of the whole command), with the
  default (one process per core) between two with KPU_SNAPSHOT_PROCESSES=1;
- one more TPS published: the second, equal entry of a form the demo left
  waiting for it (the first TPS seed_demo names; the next one if the site's
  fingerprint moved meanwhile, i.e. other work changed a template, a
  translation or the CSS on disk, which re-renders everything by design), through
  `results.services.tally_enter` by another demo operator;
- `manage.py snapshot` (incremental): pages rendered against the expected
  count (the TPS's own 4 files: page in 2 languages, JSON, CSV; 6 for each
  ancestor region down from the contest's area: page and widget in 2
  languages, JSON, CSV; 3 for the home page in 2 languages and
  contests.json), the pages it did render (previous manifest vs new, by
  version) and its seconds (a layer over the full snapshot);
- `manage.py snapshot` with nothing changed, three times, a layer each (only
  the site's enumeration), the first two each then written out whole by
  `snapshot_compact` (every file a hard link into a full tree: with the
  build, what every build did before layers); the ratio of the mean layer
  build to the mean layer build + whole tree;
- cProfile of that no-change build and of the first PROFILE_PAGES pages of a
  full build (top functions by internal time).

Part 2, Indonesia-sized. Loads the national synthetic lists of
bench/import.py (~83,700 villages, ~820,000 TPS, fixed seed) into
`kpuportal_bench_snapshot_national`, creates a nationwide contest with three
pairs and publishes FORMS readings (default 2,000 random TPS plus every TPS of
the village with most TPS, each entered twice by two users through
`tally_enter`: bench/public.py's NATIONAL_SETUP, imported). A full national
snapshot is ~820,000 TPS x 4 + ~91,500 regions x 6, about 3.8 million files:
hours on this machine, so it is not run. Measured instead, each with the real
`snapshot_build(full=True)` stopped by its progress callback (KeyboardInterrupt)
after SLICE seconds of rendering:

- the region pages, in the build's own order (country, then code order:
  mostly village pages), pages/s from the first page to the last;
- the TPS pages: the same build with the region pages left out of
  `site_pages()` (enumerated, not rendered, before the timing starts);
- one village's slice (the village with most TPS: its pages, its TPS', its
  ancestors' and the site's own pages; every other page of the country still
  enumerated by `site_pages()` and skipped), built whole and made current,
  then built again with nothing changed, a layer over it (every page outside
  the slice still named and filtered: not the floor of a national build);
- the enumeration of the whole national site, `site_pages()` consumed in the
  bench's process, twice each, alternating: every page named, and with an
  index of every region's and TPS' version as a layer's base (each unchanged
  one a single `Unchanged`, its files not named): the floor of any national
  build, before and after;
- a minute of the national peak: a base that holds the whole national site
  as it is (its index of versions only: its files would take hours to
  render, and a layer build never opens them), MINUTE_FORMS more TPS
  published (default 5,700: ~95 a second), then `snapshot_build()` with one
  process per core, twice (the first layer set aside before the second):
  pages rendered, seconds, and the share of a minute.

Rates are given per wall second and per CPU second of the build process
(PostgreSQL's CPU not counted), since other work shares the machine.
Printed: the pages of each kind, the rates, and the projected full national
build (pages / rate per kind).

Part 3, HTTP, with the Kalimantan Barat snapshot current (a layer: the
contest page, unchanged since the base, is nginx's second try, under _base/): gunicorn
(deploy/gunicorn.conf.py, 2 workers, production env; KPU_SSL_REDIRECT=0
because nginx here speaks plain HTTP on loopback, so X-Forwarded-Proto is
http) behind nginx with deploy/nginx.conf rendered as tests/test_never_dark.py
renders it, plus, in the bench's temp copy only, a second server block on
another port serving a plain static file (it inherits the same http block:
access log, sendfile, gzip). `wrk -t2 --latency` for DURATION=10 s per target
and connection count (CONNECTIONS=64,256), in two interleaved rounds of 5 s
(the order turning), against:

- (a) the contest page /pilkada-2018/gubernur-kalbar/ through nginx with
  gunicorn alive: the one-second micro-cache, refreshed in the background;
- (c) the plain static file: the snapshot's bytes of the same page;
- then gunicorn is stopped (SIGTERM: it leaves `gunicorn-stopped` in the
  snapshot root on its way out, deploy/gunicorn.conf.py), nginx restarted
  with an empty micro-cache (a cached page would be served stale, not from
  the snapshot), and (b) the same URL, answered from the snapshot without a
  proxy attempt (X-Snapshot and the bytes checked before), interleaved again
  with (c);
- then that file is removed, as after a crash, nginx restarted again, and
  (b') the same URL: nginx tries gunicorn, marks it down for 2 s, and answers
  from the snapshot through its error page, interleaved with (c).

Printed: req/s (mean of the rounds) and p99 (worst round) of each, and the
ratios (b)/(c) (aim >= 0.9) and (a)/(c) (aim >= 0.5), each against the (c)
measured in the same phase. Everything (wrk included) shares the machine's
cores with whatever else runs: the ratios of one run are what compares.

Both databases are dropped and every process started is stopped at the end,
even on failure. Run from the repository root, with PostgreSQL on
127.0.0.1:5432 (user postgres, no password), Redis on 127.0.0.1:6379, wrk
and nginx installed:

    .venv/bin/python bench/snapshot.py                  # all parts
    PARTS=13 .venv/bin/python bench/snapshot.py         # Kalimantan Barat and HTTP only; PARTS=2 national only
    SLICE=60 FORMS=2000 DURATION=10 CONNECTIONS=64,256 .venv/bin/python bench/snapshot.py
"""

import contextlib
import getpass
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_public", ROOT / "bench" / "public.py")
public = importlib.util.module_from_spec(spec)
spec.loader.exec_module(public)
national = public.national

DB_DEMO = "kpuportal_bench_snapshot"
DB_NATIONAL = national.DB_NAME = "kpuportal_bench_snapshot_national"
public.REDIS_DB = 5
public.CACHE_PREFIX = "bench-snapshot"
PARTS = os.environ.get("PARTS", "123")
DURATION = int(os.environ.get("DURATION", 10))
CONNECTIONS = [int(n) for n in os.environ.get("CONNECTIONS", "64,256").split(",")]
FORMS = int(os.environ.get("FORMS", 2000))
MINUTE_FORMS = int(os.environ.get("MINUTE_FORMS", 95 * 60))  # the national peak: ~95 publishes a second
SLICE = float(os.environ.get("SLICE", 60))
PROFILE_PAGES = int(os.environ.get("PROFILE_PAGES", 3000))
ROUNDS = 2
WORKERS = os.cpu_count() or 2
CONTEST_PATH = "/pilkada-2018/gubernur-kalbar/"
AIM_SNAPSHOT, AIM_LIVE = 0.9, 0.5
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
TEMPLATE_NAME = re.compile(r"\$\{(KPU_[A-Z_]+)\}")


# -- Processes and environment -------------------------------------------------


def snapshot_env(database, tmp, snapshot_root):
    env = public.production_env(database, tmp / "data")
    env.update(
        KPU_SNAPSHOT_ROOT=str(snapshot_root),
        KPU_SNAPSHOT_KEY_FILE=str(tmp / "snapshot_ed25519.pem"),
        KPU_SSL_REDIRECT="0",
    )
    return env


def signing_key_make(path):
    """Production signs with a key it is given: one for this run."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)


def timed(command, env):
    """(wall seconds, CPU seconds, stdout) of a command in a fresh process; exits with its output if it fails."""
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        # wait4: this child's own rusage (user + system CPU), whatever else runs on the machine.
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"{' '.join(map(str, command))} failed:\n{text}")
    return seconds, usage.ru_utime + usage.ru_stime, text


def snapshot_command(env, *args):
    """`manage.py snapshot [args]`: (wall seconds, {generation, rendered, reused, files, seconds, cpu})."""
    wall, cpu, output = timed([sys.executable, "manage.py", "snapshot", *args], env)
    match = re.search(r"(\d+)\D+?(\d+)\D+?(\d+)\D+?(\d+)\D+?([\d.]+)", output)
    if not match:
        sys.exit(f"Unexpected snapshot output: {output}")
    keys = ("generation", "rendered", "reused", "files")
    built = {key: int(value) for key, value in zip(keys, match.groups())}
    built["seconds"], built["cpu"] = float(match.group(5)), cpu
    return wall, built


def python_json(script, env, *args):
    return json.loads(public.python(script, env, *args).strip().splitlines()[-1])


# -- Part 1: Kalimantan Barat ------------------------------------------------------

PUBLISH_ONE = """
import json, sys, django
django.setup()
from django.contrib.auth import get_user_model
from results import codes
from results.demo import DEMO_OPERATORS, numbers_2018
from results.models import Contest, Tally
from results.services import tally_enter
from uploads.models import Scan

code = sys.argv[1]
contest = Contest.objects.select_related("election", "region").get(slug="gubernur-kalbar")
tally = Tally.objects.select_related("station", "pending_entry").get(contest=contest, station__code=code)
assert tally.state == Tally.State.AWAITING_SECOND, tally.state
stations = list(contest.stations().order_by("code").values_list("code", "dpt"))
numbers = numbers_2018(stations, voter_lists=contest.election.voter_lists, reserve_share=contest.reserve_share)
verifier = (get_user_model().objects.filter(username__in=DEMO_OPERATORS)
            .exclude(pk=tally.pending_entry.entered_by_id).order_by("username").first())
scans = sorted(Scan.objects.filter(tally=tally).values_list("sha256", flat=True))
revision = tally_enter(tally=tally, numbers=numbers[code], entered_by=verifier, scan_digests=scans)
assert revision.published, "the second entry did not agree with the first"
area = contest.area_code
ancestors = [c for c in codes.ancestor_codes(code) if c == area or c.startswith(area + ".")]
print(json.dumps({"area": area, "ancestors": sorted(set(ancestors))}))
"""

CHANGED = """
import json, django
django.setup()
from snapshot.services import current_dir, current_manifest, snapshot_files
now_dir = current_dir()
before_dir = now_dir.parent / f"{current_manifest()['generation'] - 1:08d}"
now, before = snapshot_files(now_dir), snapshot_files(before_dir)
changed = sorted(name for name, entry in now.items()
                 if "version" in entry and before.get(name, {}).get("version") != entry["version"])
# openapi.json's version is the site's fingerprint alone (templates, translations, CSS).
salt = "api/v1/openapi.json"
print(json.dumps({"changed": changed, "salt_moved": before[salt]["version"] != now[salt]["version"]}))
"""

COMPACT = """
import json, django
django.setup()
from snapshot.services import snapshot_compact
compacted = snapshot_compact()
print(json.dumps({"files": compacted.files, "seconds": compacted.seconds}))
"""

PROFILE = """
import cProfile, io, json, pstats, sys, time, django
django.setup()
from snapshot.services import snapshot_build

full, limit = sys.argv[1] == "full", int(sys.argv[2])
count = 0

def progress(n):
    global count
    count += n
    if limit and count >= limit:
        raise KeyboardInterrupt

profile = cProfile.Profile()
start = time.perf_counter()
try:
    profile.runcall(snapshot_build, full=full, progress=progress)
except KeyboardInterrupt:
    pass
seconds = time.perf_counter() - start
out = io.StringIO()
stats = pstats.Stats(profile, stream=out)
stats.sort_stats("tottime").print_stats(18)
stats.sort_stats("cumulative").print_stats(22)
print(json.dumps({"pages": count, "seconds": seconds, "profile": out.getvalue()}))
"""


def expected_after_publish(ancestors):
    return 4 + 6 * len(ancestors) + 3


def part_kalbar(tmp):
    """Returns the env whose snapshot is current, for part 3."""
    root = tmp / "snapshot-kalbar"
    env = snapshot_env(DB_DEMO, tmp, root)
    start = time.perf_counter()
    public.manage(env, "migrate", "-v0")
    public.manage(env, "collectstatic", "--noinput", "-v0")
    seeded = public.manage(env, "seed_demo")
    waiting = re.search(r"([\d.]+(?:, [\d.]+)*) wait for a second entry", seeded)
    if not waiting:
        sys.exit(f"seed_demo names no TPS waiting for a second entry:\n{seeded}")
    waiting = waiting.group(1).split(", ")
    print(f"Demo seeded into {DB_DEMO} in {time.perf_counter() - start:.0f} s.", flush=True)

    print("manage.py snapshot --full: one process, one per core (the default), one process again ...", flush=True)
    one_process = {**env, "KPU_SNAPSHOT_PROCESSES": "1"}
    alone = [snapshot_command(one_process, "--full")[1]]
    full_wall, full = snapshot_command(env, "--full")
    alone.append(snapshot_command(one_process, "--full")[1])
    for attempt, tps in enumerate(waiting):
        publish = json.loads(public.python(PUBLISH_ONE, env, tps).strip())
        expected = expected_after_publish(publish["ancestors"])
        one_wall, one = snapshot_command(env)
        found = json.loads(public.python(CHANGED, env).strip())
        changed = found["changed"]
        if not found["salt_moved"]:
            break
        # Other work changed a template, a translation or the CSS on disk since the last build: every page
        # is rendered again, by design. That build says nothing about one publish; try the next TPS.
        print(
            f"The site's fingerprint moved during the build after publishing {tps} (templates, translations or CSS "
            f"changed on disk): {one['rendered']} pages re-rendered by design."
            + (" Publishing the next TPS." if attempt + 1 < len(waiting) else " No TPS left to try."),
            flush=True,
        )
    # Nothing changed: a layer over the full snapshot (enumeration only), against the same build plus writing
    # it out whole (every file hard-linked into a full tree: what every build did before layers).
    print("manage.py snapshot with nothing changed, each build then written whole, twice ...", flush=True)
    none_wall, none = snapshot_command(env)
    layers, wholes = [none], []
    for _round in range(2):
        wholes.append(python_json(COMPACT, env))
        layers.append(snapshot_command(env)[1])
    print("Profiling ...", flush=True)
    # In one process: a profile of the build's parent would show it waiting for the others.
    profile_none = python_json(PROFILE, one_process, "incremental", 0)
    profile_full = python_json(PROFILE, one_process, "full", PROFILE_PAGES)
    # The profiled full build was cut short: it never became current, part 3 serves the no-change build's.

    print()
    print(
        f"Part 1: Kalimantan Barat (seed_demo), production settings, PostgreSQL, {os.cpu_count()} cores shared. "
        "Build seconds are snapshot_build's own; wall includes starting Django."
    )
    print(
        f"{'build':<40}{'rendered':>9}{'reused':>8}{'files':>8}{'build s':>9}{'wall s':>8}{'CPU s':>8}{'pages/s':>9}"
        f"{'/CPU s':>8}"
    )
    for name, wall, built in (
        ("snapshot --full", full_wall, full),
        (f"snapshot after publishing {tps}", one_wall, one),
        ("snapshot, nothing changed", none_wall, none),
    ):
        pages = built["rendered"] + built["reused"]
        print(
            f"{name:<40}{built['rendered']:>9}{built['reused']:>8}{built['files']:>8}{built['seconds']:>9.1f}"
            f"{wall:>8.1f}{built['cpu']:>8.1f}{pages / built['seconds']:>9.0f}{pages / built['cpu']:>8.0f}"
        )
    print(
        f"Full build: {full['rendered'] / full['seconds']:.0f} pages rendered/s, {full['seconds']:.1f} s in all "
        f"({full['rendered'] / full['cpu']:.0f} pages per CPU second of the build process; PostgreSQL's CPU not "
        "counted). CPU s is what the process used: on a shared machine wall / CPU shows the waiting for a core."
    )
    alone_seconds = sum(built["seconds"] for built in alone) / len(alone)
    before_after = " and ".join(f"{built['seconds']:.1f} s" for built in alone)
    print(
        f"Full build with one process: {before_after} (before and after), {full['rendered'] / alone_seconds:.0f}"
        f" pages/s; with {os.cpu_count()} (one per core): {full['seconds']:.1f} s,"
        f" {alone_seconds / full['seconds']:.2f}x as fast."
    )
    verdict = "met" if one["rendered"] == expected else "NOT met"
    print(
        f"After one publish: {one['rendered']} pages rendered, expected {expected} "
        f"(4 for the TPS + 6 x {len(publish['ancestors'])} ancestors {', '.join(publish['ancestors'])}"
        " + 3 home/contests): "
        f"{verdict}; {one['reused']} reused, {one['seconds']:.1f} s."
    )
    layer_seconds = sum(built["seconds"] for built in layers) / len(layers)
    whole_seconds = sum(whole["seconds"] for whole in wholes) / len(wholes)
    print(
        "Nothing changed, a layer over the full snapshot: "
        + ", ".join(f"{built['seconds']:.1f} s" for built in layers)
        + f"; writing one out whole ({wholes[0]['files']} files hard-linked, snapshot_compact): "
        + " and ".join(f"{whole['seconds']:.1f} s" for whole in wholes)
        + f". Layer / (layer + whole tree, what a build cost before layers): "
        f"{layer_seconds / (layer_seconds + whole_seconds):.2f}."
    )
    if one["rendered"] != expected:
        print(f"Pages whose version moved ({len(changed)}, the first 40):\n  " + "\n  ".join(changed[:40]))
    else:
        print("Rendered: " + ", ".join(changed))
    print(f"\ncProfile, incremental build with nothing changed ({profile_none['seconds']:.1f} s under the profiler):")
    print(profile_none["profile"])
    print(
        f"cProfile, full build cut after {profile_full['pages']} pages ({profile_full['seconds']:.1f} s under the "
        "profiler):"
    )
    print(profile_full["profile"])
    return env, root


# -- Part 2: Indonesia-sized --------------------------------------------------------

SLICE_SCRIPT = """
import dataclasses, json, re, sys, time, django
django.setup()
import snapshot.services as services
from snapshot.site import Unchanged, file_of

mode, seconds, region = sys.argv[1], float(sys.argv[2]), sys.argv[3]
original = services.site_pages
CODE = re.compile(r"\\d{2}(?:\\.\\d+)*")

def code_of(path):
    for part in path.strip("/").split("/"):
        part = part.removesuffix(".json").removesuffix(".csv")
        if CODE.fullmatch(part):
            return part
    return None

def page_code(page):
    return page.unit.split(":", 1)[1] if isinstance(page, Unchanged) else code_of(page.path)

def is_tps(page):
    code = page_code(page)
    return code is not None and code.count(".") == 4

def in_slice(page):
    code = page_code(page)
    return code is None or region.startswith(code) or code.startswith(region + ".")

class Stop(KeyboardInterrupt):
    pass

times, cpu, counts = [], [], []

def progress(n):  # told after each batch of pages rendered (snapshot.services.RENDER_BATCH)
    times.append(time.perf_counter())
    cpu.append(time.process_time())
    counts.append(n)
    if times[-1] - times[0] >= seconds:
        raise Stop

result = {"mode": mode}
start = time.perf_counter()
if mode in ("regions", "stations"):
    if mode == "stations":
        services.site_pages = lambda unchanged=None: (page for page in original(unchanged) if is_tps(page))
    try:
        services.snapshot_build(full=True, progress=progress)
    except Stop:
        pass
    result.update(pages=sum(counts[1:]), seconds=times[-1] - times[0], cpu=cpu[-1] - cpu[0],
                  before_first=times[0] - start)
elif mode == "enumerate":  # the whole national site, every page named, against a base that holds all of it
    rounds = {"named": [], "skipped": []}
    index = {}
    for _round in range(2):
        start = time.perf_counter()
        for page in original():
            index[page.unit or page.path] = page.version
        rounds["named"].append(time.perf_counter() - start)
        start = time.perf_counter()
        skipped = sum(isinstance(page, Unchanged) for page in original(index))
        rounds["skipped"].append(time.perf_counter() - start)
    result.update(rounds, units=len(index), unchanged=skipped)
else:  # one region's slice (every page still enumerated, only its own kept), whole, then with nothing changed
    services.site_pages = lambda unchanged=None: (page for page in original(unchanged) if in_slice(page))
    started = time.process_time()
    full = services.snapshot_build(full=True)
    middle = time.process_time()
    again = services.snapshot_build()
    result.update(full=dataclasses.asdict(full), again=dataclasses.asdict(again),
                  full_cpu=middle - started, again_cpu=time.process_time() - middle)
print(json.dumps(result))
"""


MINUTE_SCRIPT = """
import json, random, shutil, sys, time, django
django.setup()
from django.contrib.auth import get_user_model
from django.utils import timezone
from results.arithmetic import C1Numbers, Split, VoterRow
from results.models import Contest, PollingStation, Tally
from results.services import tally_enter
from snapshot import services
from snapshot.site import site_pages

forms = int(sys.argv[1])
root = services.snapshot_root()
# A base holding the whole national site as it is now: its index, not its 3.8 M files (hours to render).
# A layer build reads the base's index only, never a file of it.
index, total = {}, 0
for page in site_pages():
    index[page.unit or page.path] = page.version
    total += 1
base = root / "generations" / "00000001"
(base / "snapshot").mkdir(parents=True)
head = {"generation": 1, "as_of": timezone.now().isoformat(), "heads": {}, "total": total, "layer": total}
(base / services.MANIFEST).write_bytes(services._manifest_body({**head, "files": {}}))
(root / "generations" / "00000001.versions.json").write_text(
    json.dumps({"manifest_sha256": "", "total": total, "versions": index}))
(root / "current").symlink_to("generations/00000001")
# A minute of the national peak: `forms` more TPS published, two entries each.
contest = Contest.objects.get(slug="presiden-2024")
first, second = get_user_model().objects.filter(username__in=("bench-1", "bench-2")).order_by("username")
taken = set(Tally.objects.filter(contest=contest).values_list("station_id", flat=True))
free = [pk for pk in PollingStation.objects.values_list("pk", flat=True) if pk not in taken]
for pk in random.Random(95).sample(free, forms):
    form = Tally.objects.create(contest=contest, station_id=pk)
    votes = [pk % 90, pk % 70, pk % 50]
    total_votes = sum(votes) + 2
    numbers = C1Numbers(
        voter_rows=(VoterRow("dpt", Split(150, 150, 300), Split(total_votes // 2, total_votes - total_votes // 2,
                                                                total_votes)),
                    VoterRow("dptb", Split(0, 0, 0), Split(0, 0, 0)), VoterRow("dpk", Split(0, 0, 0), Split(0, 0, 0))),
        ballots_received=306, ballots_spoiled=0, ballots_unused=306 - total_votes, ballots_used=total_votes,
        candidate_votes=dict(zip((1, 2, 3), votes)), valid_votes=sum(votes), invalid_votes=2, total_votes=total_votes,
    )
    tally_enter(tally=form, numbers=numbers, entered_by=first)
    tally_enter(tally=form, numbers=numbers, entered_by=second)
# The same minute built twice from the same base (the first layer set aside in between): the machine is noisy.
builds = []
for attempt in range(2):
    if attempt:
        (root / "current").unlink()
        (root / "current").symlink_to("generations/00000001")
        shutil.rmtree(root / "generations" / f"{built.generation:08d}")
    start = time.perf_counter()
    built = services.snapshot_build()
    builds.append({"rendered": built.rendered, "seconds": built.seconds, "wall": time.perf_counter() - start,
                   "files": built.files, "base": built.base})
print(json.dumps(builds))
"""


def part_national(tmp):
    root = tmp / "snapshot-national"
    env = snapshot_env(DB_NATIONAL, tmp, root)
    if not (tmp / "data" / "static" / "staticfiles.json").exists():
        public.manage(env, "collectstatic", "--noinput", "-v0")
    national.OUT = tmp / "national"
    national.REGIONS_CSV, national.STATIONS_CSV = national.OUT / "regions.csv", national.OUT / "stations.csv"
    national.generate_files()
    public.database_create(DB_NATIONAL)
    try:
        start = time.perf_counter()
        public.manage(env, "migrate", "-v0")
        public.manage(env, "import_regions", str(national.REGIONS_CSV))
        public.manage(env, "import_stations", str(national.STATIONS_CSV))
        print(f"National lists loaded into {DB_NATIONAL} in {time.perf_counter() - start:.0f} s.", flush=True)
        start = time.perf_counter()
        chosen = public.python(public.NATIONAL_SETUP, env, FORMS).split()
        village, published = chosen[3], int(chosen[6])
        print(f"{published} forms published (two entries each) in {time.perf_counter() - start:.0f} s.", flush=True)
        regions = national.count_rows("results_region")
        stations = national.count_rows("results_pollingstation")
        results = {}
        # One process: the slices count pages by progress calls and CPU by the build process's own clock.
        # A build shares its rendering among one process per core (part 1 measures how much faster).
        one_process = {**env, "KPU_SNAPSHOT_PROCESSES": "1"}
        for mode in ("regions", "stations", "slice", "enumerate"):
            print(f"National snapshot: {mode} ...", flush=True)
            results[mode] = python_json(SLICE_SCRIPT, one_process, mode, SLICE, village)
        print(f"National snapshot: a minute of the peak, {MINUTE_FORMS} TPS published, then a layer ...", flush=True)
        minute_env = {**env, "KPU_SNAPSHOT_ROOT": str(tmp / "snapshot-national-minute")}
        results["minute"] = python_json(MINUTE_SCRIPT, minute_env, MINUTE_FORMS)
        national_report(results, regions, stations, published, village)
    finally:
        public.database_drop(DB_NATIONAL)
        shutil.rmtree(root, ignore_errors=True)


def national_report(results, regions, stations, published, village):
    # The whole country's page and every region's: 6 files each; 4 per TPS; 7 of the site's own.
    region_pages, tps_pages, site_pages = (regions + 1) * 6, stations * 4, 7
    total = region_pages + tps_pages + site_pages
    rate = {mode: results[mode]["pages"] / results[mode]["seconds"] for mode in ("regions", "stations")}
    cpu_rate = {mode: results[mode]["pages"] / results[mode]["cpu"] for mode in ("regions", "stations")}
    projected = region_pages / rate["regions"] + tps_pages / rate["stations"]
    projected_cpu = region_pages / cpu_rate["regions"] + tps_pages / cpu_rate["stations"]
    sliced = results["slice"]
    full, again = sliced["full"], sliced["again"]
    print()
    print(
        f"Part 2: Indonesia-sized, {regions:,} regions, {stations:,} TPS, nationwide contest, {published:,} TPS "
        f"published. A full snapshot is {total:,} pages ({region_pages:,} region, {tps_pages:,} TPS, "
        f"{site_pages} site's own). The full build was not run: hours (see the projection)."
    )
    print(f"{'slice of snapshot_build(full=True)':<44}{'pages':>8}{'wall s':>8}{'CPU s':>8}{'pages/s':>9}{'/CPU s':>8}")
    for mode, name in (("regions", "region pages (build order)"), ("stations", "TPS pages (region pages left out)")):
        row = results[mode]
        print(
            f"{name:<44}{row['pages']:>8}{row['seconds']:>8.1f}{row['cpu']:>8.1f}{rate[mode]:>9.1f}"
            f"{cpu_rate[mode]:>8.1f}"
        )
    print(f"  (TPS slice: the first TPS page came {results['stations']['before_first']:.0f} s in, after enumerating")
    print("   the ~550,000 region pages it left out)")
    print(
        f"Projected full national build, rendering alone: {projected:,.0f} s ({projected / 3600:.1f} h) at these wall "
        f"rates; {projected_cpu:,.0f} s ({projected_cpu / 3600:.1f} h) of one core at the CPU rates."
    )
    print(
        f"Village {village}'s slice (its pages, its TPS', its ancestors' and the site's own; the whole national "
        f"site enumerated, the rest skipped): whole build {full['rendered']} rendered in {full['seconds']:.1f} s "
        f"({sliced['full_cpu']:.1f} CPU s); again with nothing changed: {again['rendered']} rendered, "
        f"{again['reused']} reused, {again['seconds']:.1f} s ({sliced['again_cpu']:.1f} CPU s)."
    )
    print(
        "That no-change build names every page outside the slice (they are not in its base) and runs the bench's"
        " slice filter on each; the floor of a national layer build is the enumeration below. Writing the 3.8 M"
        " files out whole (snapshot_compact) runs beside the builds."
    )
    named, skipped = results["enumerate"]["named"], results["enumerate"]["skipped"]
    print(
        f"Enumerating the whole national site ({results['enumerate']['units']:,} regions, TPS and pages of its own),"
        " every page named (how a build enumerated before layers): "
        + " and ".join(f"{seconds:.1f} s" for seconds in named)
        + f"; as a layer over a base holding all of it ({results['enumerate']['unchanged']:,} regions and TPS"
        " unchanged, none of their files named): "
        + " and ".join(f"{seconds:.1f} s" for seconds in skipped)
        + f". Skipped / named: {sum(skipped) / sum(named):.2f}."
    )
    builds = results["minute"]
    seconds = [build["seconds"] for build in builds]
    mean = sum(seconds) / len(seconds)
    print(
        f"A minute of the national peak ({MINUTE_FORMS:,} TPS published), built as a layer over a base holding the"
        f" rest ({os.cpu_count()} processes), twice from the same base: {builds[0]['rendered']:,} pages rendered in "
        + " and ".join(f"{value:.1f} s" for value in seconds)
        + f" ({builds[0]['rendered'] / mean:.0f} pages/s): {mean / 60:.2f} of the minute it stands for."
    )


# -- Part 3: HTTP -------------------------------------------------------------------------

STATIC_SERVER = """
    # bench/snapshot.py only: a plain static file, for comparison (same http block).
    server {{
        listen 127.0.0.1:{port};
        root {www};
    }}
}}
"""


def nginx_conf(values, static_port, www):
    """deploy/nginx.conf with its ${KPU_...} filled in, plus a bench-only static server block."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    if set(TEMPLATE_NAME.findall(text)) != set(values):
        sys.exit("deploy/nginx.conf names other variables than the bench fills in")
    text = TEMPLATE_NAME.sub(lambda match: values[match[1]], text).rstrip()
    if not text.endswith("}"):
        sys.exit("deploy/nginx.conf does not end with the http block's brace")
    return text[:-1] + STATIC_SERVER.format(port=static_port, www=www)


def nginx_start(tmp, env, front_port, static_port, upstream_port):
    state = tmp / "nginx"
    shutil.rmtree(state, ignore_errors=True)  # an empty micro-cache
    state.mkdir()
    values = {
        "KPU_NGINX_LISTEN": f"127.0.0.1:{front_port}",
        "KPU_NGINX_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "KPU_NGINX_USER": getpass.getuser(),
        "KPU_NGINX_DIR": str(state),
        "KPU_DATA_DIR": env["KPU_DATA_DIR"],
        "KPU_MEDIA_ROOT": str(Path(env["KPU_DATA_DIR"]) / "media"),
        "KPU_PRIVATE_ROOT": str(Path(env["KPU_DATA_DIR"]) / "private"),
        "KPU_SNAPSHOT_ROOT": env["KPU_SNAPSHOT_ROOT"],
    }
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_conf(values, static_port, tmp / "www"))
    command = ["nginx", "-p", str(state), "-c", str(conf), "-e", "stderr"]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    if checked.returncode:
        sys.exit(f"nginx -t: {checked.stderr}")
    log = open(tmp / "nginx-error.log", "ab")  # noqa: SIM115 (closed with the temp dir)
    return public.server_start([*command, "-g", "daemon off;"], log=log)


def get(url):
    """(status, headers, body), without raising on HTTP errors."""
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_until(check, what, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


def wrk(url, connections, seconds):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s", url]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    errors = []
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors.append(f"{match.group(1)} non-2xx")
    if match := re.search(r"Socket errors: (.*)", output):
        errors.append(f"socket errors: {match.group(1)}")
    return rate, p99, "; ".join(errors)


def rounds(targets):
    """{(name, connections): (mean req/s, worst p99, errors)}, interleaved rounds, the order turning."""
    runs = {}
    names = list(targets)
    for connections in CONNECTIONS:
        for round_ in range(ROUNDS):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                runs.setdefault((name, connections), []).append(wrk(targets[name], connections, DURATION // ROUNDS))
    return {
        key: (
            sum(rate for rate, _p99, _e in found) / len(found),
            max(p99 for _rate, p99, _e in found),
            "; ".join(e for _r, _p, e in found if e),
        )
        for key, found in runs.items()
    }


def part_http(tmp, env, root):
    # The current snapshot is a layer: the page is its own or, unchanged since the base, its base's.
    name = f"{CONTEST_PATH.strip('/')}/index.html"
    body = next(path for path in (root / "current" / name, root / "current/_base" / name) if path.exists()).read_bytes()
    www = tmp / "www"
    www.mkdir(exist_ok=True)
    (www / "contest.html").write_bytes(body)
    servers = []
    try:
        upstream, front_port, static_port = public.free_port(), public.free_port(), public.free_port()
        gunicorn_env = {**env, "GUNICORN_WORKERS": str(WORKERS), "GUNICORN_BIND": f"127.0.0.1:{upstream}"}
        gunicorn = public.server_start(
            [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "kpuportal.wsgi"],
            env=gunicorn_env,
            log=open(tmp / "gunicorn.log", "wb"),  # noqa: SIM115 (closed with the temp dir)
        )
        servers.append(gunicorn)
        wait_until(lambda: get(f"http://127.0.0.1:{upstream}/health/live")[0] == 200, "gunicorn")
        nginx = nginx_start(tmp, env, front_port, static_port, upstream)
        servers.append(nginx)
        front, static = f"http://127.0.0.1:{front_port}{CONTEST_PATH}", f"http://127.0.0.1:{static_port}/contest.html"
        wait_until(lambda: get(static)[0] == 200, "nginx")
        status, headers, live_body = get(front)
        if status != 200 or "X-Snapshot" in headers:
            sys.exit(f"live page through nginx: HTTP {status}, X-Snapshot {headers.get('X-Snapshot')}")
        wait_until(lambda: get(front)[1].get("X-Cache") == "HIT", "a micro-cache hit")
        if get(static)[2] != body:
            sys.exit("the static file is not the snapshot's bytes")
        print("wrk: nginx micro-cache (gunicorn alive) and static file ...", flush=True)
        alive = rounds({"(a) live, micro-cached": front, "(c) static file": static})

        public.server_stop(nginx)
        public.server_stop(gunicorn)
        nginx = nginx_start(tmp, env, front_port, static_port, upstream)
        servers.append(nginx)
        wait_until(lambda: get(static)[0] == 200, "nginx again")
        status, headers, answer = get(front)
        if status != 200 or "X-Snapshot" not in headers or answer != body:
            sys.exit(
                f"with gunicorn down: HTTP {status}, X-Snapshot {headers.get('X-Snapshot')}, "
                f"{'same' if answer == body else 'other'} bytes than the snapshot file"
            )
        generation = headers["X-Snapshot"]
        flag = root / "gunicorn-stopped"
        if not flag.exists():
            sys.exit(f"gunicorn stopped without leaving {flag} for nginx")
        print("wrk: nginx from the snapshot (gunicorn stopped) and static file ...", flush=True)
        dead = rounds({"(b) snapshot, gunicorn down": front, "(c) static file": static})
        # A crash leaves no word: nginx tries the proxy, marks it down, and falls back.
        flag.unlink()
        public.server_stop(nginx)
        nginx = nginx_start(tmp, env, front_port, static_port, upstream)
        servers.append(nginx)
        wait_until(lambda: get(static)[0] == 200, "nginx once more")
        if get(front)[2] != body:
            sys.exit("with gunicorn crashed: not the snapshot's bytes")
        print("wrk: nginx from the snapshot (gunicorn crashed) and static file ...", flush=True)
        crashed = rounds({"(b') snapshot, gunicorn crashed": front, "(c) static file": static})
    finally:
        for process in reversed(servers):
            public.server_stop(process)

    print()
    print(
        f"Part 3: HTTP on loopback, {CONTEST_PATH} of the Kalimantan Barat snapshot, wrk -t2, {DURATION} s per "
        f"target in {ROUNDS} interleaved rounds (req/s: mean, p99: worst round); nginx deploy/nginx.conf "
        f"(worker_processes auto), gunicorn {WORKERS} workers x 8 threads; {os.cpu_count()} cores shared by all."
    )
    print(
        f"Bytes: live page {len(live_body):,}, snapshot page and static file {len(body):,} "
        f"(X-Snapshot: {generation}); no Accept-Encoding, so no gzip."
    )
    print(f"{'target':<32}{'conns':>6}{'req/s':>10}{'p99 ms':>9}{'/ (c)':>7}   aim")
    for connections in CONNECTIONS:
        for phase, name, aim in (
            (alive, "(a) live, micro-cached", AIM_LIVE),
            (alive, "(c) static file", None),
            (dead, "(b) snapshot, gunicorn down", AIM_SNAPSHOT),
            (dead, "(c) static file", None),
            (crashed, "(b') snapshot, gunicorn crashed", None),
            (crashed, "(c) static file", None),
        ):
            rate, p99, errors = phase[(name, connections)]
            baseline = phase[("(c) static file", connections)][0]
            line = f"{name:<32}{connections:>6}{rate:>10.0f}{p99:>9.1f}{rate / baseline:>7.2f}"
            if aim:
                line += f"   >= {aim}: {'met' if rate / baseline >= aim else 'NOT met'}"
            if errors:
                line += f"   ({errors})"
            print(line)
    print(
        "Each ratio is against the (c) run interleaved with it: gunicorn alive for (a); for (b) stopped, which "
        "leaves gunicorn-stopped for nginx (deploy/gunicorn.conf.py); for (b') that file removed, as after a crash."
    )


def main():
    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as name:
        tmp = Path(name)
        tmp.chmod(0o755)  # nginx's workers read the snapshot and the static file
        (tmp / "data").mkdir()
        signing_key_make(tmp / "snapshot_ed25519.pem")
        public.redis_flush()
        try:
            if "1" in PARTS or "3" in PARTS:
                public.database_create(DB_DEMO)
                try:
                    env, root = part_kalbar(tmp)
                    if "3" in PARTS:
                        part_http(tmp, env, root)
                finally:
                    public.database_drop(DB_DEMO)
            if "2" in PARTS:
                part_national(tmp)
        finally:
            public.redis_flush()


if __name__ == "__main__":
    main()
