"""Benchmark scan ingestion: `render_scan` and the worker's `scan_ingest` against bare Pillow.

Generates N A4 C1 scans at 300 dpi (2480 x 3508 JPEG, quality 90) from a
fixed seed into bench/out/scans/, reused by later runs: light paper, printed
text, a table, handwritten figures in blue and scanner grain. Every third scan
is stored sideways (3508 x 2480) with EXIF orientation 6 or 8 and a GPS block,
as phones write them.

On the same files, in the same run, it measures:

- baseline: bare Pillow per file (open, load, LANCZOS resize to 1600 px on
  the long side, JPEG quality 82 to memory), the floor for one web rendition;
- render_scan: `uploads.imaging.render_scan(data, max_pixels=80_000_000)`
  (checks, EXIF orientation, no metadata, web JPEG and thumbnail);
- ingest: `uploads.services.scan_ingest` per stored scan (storage read,
  sha256, render_scan, renditions written, status updated) on the embedded
  defaults (SQLite and local files in a temporary directory under bench/out/,
  eager Celery). The scans are stored beforehand with `scan_store` (eager
  Celery ingests each once there, untimed), then set back to received before
  every timed round;
- peak RSS of a child process running the baseline loop and of one running
  the render_scan loop, each reading one file at a time as a worker does:
  that child's `ru_maxrss` (KiB on Linux) from os.wait4(), which is what
  getrusage(RUSAGE_CHILDREN) reports for a single child.

Each measurement runs in a child process of its own, so the parent never
holds pixels. Throughput is the best of several rounds over all files; the
two things compared are interleaved file by file, the order alternating by
file and by round, so both see the same machine (the ingest is compared to a
baseline timed that way beside it). The aim: render_scan at >= 0.8 of the
baseline's throughput.

Run from the repository root:

    .venv/bin/python bench/ingest.py [--scans 36] [--rounds 3]
"""

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SCANS = OUT / "scans"
sys.path.insert(0, str(ROOT))
# The bench writes under bench/ only: no __pycache__ beside the project's modules.
sys.dont_write_bytecode = True

SEED = 2018
SCAN_VERSION = "v1"  # part of the cached file names: change it when the drawing changes
PAGE_SIZE = (2480, 3508)  # A4 at 300 dpi
SCAN_QUALITY = 90
MAX_PIXELS = 80_000_000
WEB_LONG_SIDE = 1600
BASELINE_QUALITY = 82
AIM = 0.8

PAPER = (250, 248, 240)
INK = (30, 30, 35)
PEN = (20, 40, 140)
GRAIN = 2  # noise drawn at half resolution, scaled up: scanner grain, not pixel snow
GRAIN_ALPHA = 0.06

# Stored sideways; the transpose that makes ImageOps.exif_transpose() turn it upright.
SIDEWAYS = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


# -- The scans ----------------------------------------------------------------


def orientation_of(index):
    """Every third scan is sideways, alternately orientation 6 and 8; the others carry no EXIF."""
    if index % 3 != 2:
        return None
    return 6 if (index // 3) % 2 == 0 else 8


def scan_path(index):
    orientation = orientation_of(index)
    suffix = f"-o{orientation}" if orientation else ""
    return SCANS / f"{SCAN_VERSION}-c1-{index:03d}{suffix}.jpg"


def text_line(draw, rng, x, y, x_end, height=26):
    """Printed words: glyphs of two or three short strokes each."""
    while x < x_end:
        for _glyph in range(rng.randint(2, 9)):
            for _stroke in range(rng.randint(2, 3)):
                points = [(x + rng.randint(0, 14), y + rng.randint(0, height)) for _ in range(2)]
                draw.line(points, fill=INK, width=3)
            x += 18
        x += rng.randint(14, 24)


def handwritten_number(draw, rng, x, y):
    """One to three digits in ballpoint: a curved polyline each."""
    for _digit in range(rng.randint(1, 3)):
        points = [(x + rng.randint(0, 34), y + rng.randint(0, 52)) for _ in range(rng.randint(3, 6))]
        draw.line(points, fill=PEN, width=5, joint="curve")
        x += rng.randint(40, 52)


def form_draw(rng):
    """An upright C1 page: heading, a table of candidates with handwritten counts, footer."""
    page = Image.new("RGB", PAGE_SIZE, PAPER)
    draw = ImageDraw.Draw(page)
    y = 150
    for _line in range(rng.randint(6, 10)):
        text_line(draw, rng, 200, y, rng.randint(1200, 2280))
        y += 50
    top, rows, row_height = y + 60, rng.randint(22, 30), 78
    columns = [200, 380, 1300, 1700, 2000, 2280]
    for row in range(rows + 1):
        draw.line((columns[0], top + row * row_height, columns[-1], top + row * row_height), fill=INK, width=3)
    for x in columns:
        draw.line((x, top, x, top + rows * row_height), fill=INK, width=3)
    for row in range(rows):
        text_line(draw, rng, 400, top + row * row_height + 25, rng.randint(700, 1280))
        handwritten_number(draw, rng, 1740, top + row * row_height + 14)
    y = top + rows * row_height + 80
    for _line in range(rng.randint(3, 6)):
        text_line(draw, rng, 200, y, rng.randint(1200, 2280))
        y += 50
    draw.ellipse((1700, y + 40, 2050, y + 390), outline=PEN, width=8)  # the PPS stamp
    return page.filter(ImageFilter.GaussianBlur(0.7))


def grain_add(page, rng):
    """Seeded noise (Image.effect_noise cannot be seeded), blended in lightly."""
    width, height = page.width // GRAIN, page.height // GRAIN
    noise = Image.frombytes("L", (width, height), rng.randbytes(width * height)).resize(page.size)
    return Image.blend(page, Image.merge("RGB", (noise, noise, noise)), GRAIN_ALPHA)


def phone_exif(orientation):
    """What a phone writes: its make, the orientation and where it was (Pontianak)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Samsung"
    exif[ExifTags.Base.Model] = "SM-A125F"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSVersionID: b"\x02\x02\x00\x00",
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (0.0, 1.0, 34.68),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (109.0, 20.0, 33.0),
    }
    return exif


def scan_make(index):
    rng = random.Random(f"{SEED}-{index}")
    page = grain_add(form_draw(rng), rng)
    orientation = orientation_of(index)
    extra = {}
    if orientation:
        page = page.transpose(SIDEWAYS[orientation])
        extra["exif"] = phone_exif(orientation)
    out = BytesIO()
    page.save(out, "JPEG", quality=SCAN_QUALITY, **extra)
    return out.getvalue()


def scans_generate(count, rounds):
    """Child: generate the scans not cached yet."""
    SCANS.mkdir(parents=True, exist_ok=True)
    missing = [index for index in range(count) if not scan_path(index).exists()]
    started = time.perf_counter()
    for index in missing:
        partial = scan_path(index).with_suffix(".part")
        partial.write_bytes(scan_make(index))
        partial.replace(scan_path(index))
    return {"generated": len(missing), "seconds": time.perf_counter() - started}


# -- The work timed -----------------------------------------------------------


def baseline(data):
    """Bare Pillow: decode everything, LANCZOS to 1600 px, JPEG q82 into memory."""
    with Image.open(BytesIO(data)) as image:
        image.load()
        scale = WEB_LONG_SIDE / max(image.size)
        size = (round(image.width * scale), round(image.height * scale))
        web = image.resize(size, Image.Resampling.LANCZOS)
    out = BytesIO()
    web.save(out, "JPEG", quality=BASELINE_QUALITY)
    return out.getvalue()


def render(data):
    from uploads.imaging import render_scan

    return render_scan(data, max_pixels=MAX_PIXELS)


WORK = {"baseline": baseline, "render_scan": render}


def renditions_check(datas):
    """render_scan's output for an upright and a sideways scan: upright, 1600 px, no EXIF."""
    for index in (0, 2):
        renditions = render(datas[index])
        assert (renditions.width, renditions.height) == PAGE_SIZE, renditions
        with Image.open(BytesIO(renditions.web)) as web:
            assert web.height == WEB_LONG_SIDE and web.width < web.height, web.size
            assert not web.getexif() and "exif" not in web.info, "the web rendition carries EXIF"


def interleaved_rounds(items, works, rounds, before_round=None):
    """Seconds per round for each of `works` over all items, interleaved file by file.

    Each work runs on a file right after (or before: the order alternates by
    file and by round) the others, so they share whatever else the machine is
    doing at that moment rather than one loop getting a quiet spell.
    """
    names = list(works)
    times = {name: [0.0] * rounds for name in names}
    for round_number in range(rounds):
        if before_round:
            before_round(round_number)
        for index, item in enumerate(items):
            for name in names if (index + round_number) % 2 == 0 else reversed(names):
                started = time.perf_counter()
                works[name](item)
                times[name][round_number] += time.perf_counter() - started
    return times


def throughput_child(count, rounds):
    """Child: baseline and render_scan over all files, held in memory."""
    datas = [scan_path(index).read_bytes() for index in range(count)]
    renditions_check(datas)
    return interleaved_rounds(datas, WORK, rounds)


def peak_child(mode):
    """Child: one pass of one loop, reading each file only when it is its turn, as a worker does."""
    work = WORK[mode]

    def run(count, rounds):
        if mode == "render_scan":
            import uploads.imaging  # noqa: F401  (counted in the floor, not in the work)
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for index in range(count):
            work(scan_path(index).read_bytes())
        return {"floor_kib": floor}

    return run


def ingest_child(count, rounds):
    """Child, on the embedded defaults: store the scans, then time scan_ingest over all of them."""
    import django

    django.setup()
    from django.core.management import call_command

    from uploads import services
    from uploads.models import Scan

    call_command("migrate", verbosity=0)
    user, tally = ingest_fixture()
    # On the embedded defaults the ingest runs eagerly as each scan is
    # stored: an untimed warm-up. Then every timed round starts from received.
    for index in range(count):
        services.scan_store(
            data=scan_path(index).read_bytes(),
            original_name=f"{tally.station.code}-{index + 1}.jpg",
            tally=tally,
            page=index + 1,
            uploaded_by=user,
        )
    queued = list(Scan.objects.order_by("pk").values_list("pk", flat=True))
    assert len(queued) == count, f"{len(queued)} of {count} scans stored"
    ingest_reset()

    def ingest(item):
        services.scan_ingest(scan_id=item[0])

    def baseline_of(item):
        baseline(item[1])

    def before_round(round_number):
        if round_number:
            ingest_reset()

    items = [(scan_id, scan_path(index).read_bytes()) for index, scan_id in enumerate(queued)]
    times = interleaved_rounds(items, {"ingest": ingest, "baseline": baseline_of}, rounds, before_round)
    ready = Scan.objects.filter(status=Scan.Status.READY, width=PAGE_SIZE[0], height=PAGE_SIZE[1]).count()
    assert ready == count, f"{ready} of {count} scans ready and upright"
    return times


def ingest_fixture():
    """A superuser and the C1 form of TPS 61.71.06.1001.001 for the governor of Kalbar."""
    import datetime
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from results import codes
    from results.models import Contest, Election, PollingStation, Region, Tally

    user = get_user_model().objects.create_superuser("bench", "bench@example.org", None)
    parent = None
    for code, name in [
        ("61", "Kalimantan Barat"),
        ("61.71", "Kota Pontianak"),
        ("61.71.06", "Pontianak Tenggara"),
        ("61.71.06.1001", "Bansir Laut"),
    ]:
        parent = Region.objects.create(code=code, name=name, level=codes.region_level(code), parent=parent)
    station = PollingStation.objects.create(code=codes.station_code(parent.code, 1), village=parent, number=1, dpt=300)
    election = Election.objects.create(
        name="Pilkada Serentak 2018",
        slug="pilkada-2018",
        kind=Election.Kind.PILKADA,
        date=datetime.date(2018, 6, 27),
        max_voters_per_station=800,
    )
    contest = Contest.objects.create(
        election=election,
        name="Gubernur Kalimantan Barat 2018",
        office=Contest.Office.GOVERNOR,
        scope=Contest.Scope.REGIONAL,
        region=Region.objects.get(code="61"),
        reserve_share=Decimal("2.5"),
    )
    return user, Tally.objects.create(contest=contest, station=station)


def ingest_reset():
    """Back to received with no renditions, so the next round does the whole work again."""
    from django.core.files.storage import default_storage

    from uploads.models import Scan

    Scan.objects.update(
        status=Scan.Status.RECEIVED, web="", web_sha256="", thumbnail="", thumbnail_sha256="", processed_at=None
    )
    for kind in ("web", "thumbnail"):
        shutil.rmtree(Path(default_storage.location) / "scans" / kind, ignore_errors=True)


CHILDREN = {
    "generate": scans_generate,
    "throughput": throughput_child,
    "ingest": ingest_child,
    **{f"peak-{mode}": peak_child(mode) for mode in WORK},
}


# -- The parent: children and report ------------------------------------------


def child_run(mode, count, rounds, env=None):
    """Run this script as a `mode` child: (its JSON result, its peak RSS in KiB).

    The parent never holds pixels, so it stays small: a child's ru_maxrss
    starts from its parent's RSS at the fork, and would otherwise show that.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode]
    command += ["--scans", str(count), "--rounds", str(rounds)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    process.stdout.close()
    # This child's own rusage: getrusage(RUSAGE_CHILDREN) is the max over every child waited for.
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"bench/ingest.py: the {mode!r} child failed (exit code {process.returncode})")
    return json.loads(output), usage.ru_maxrss


def clean_env(data_dir):
    """The embedded defaults: no DATABASE_URL, REDIS_URL, broker or bucket from the caller's shell."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TERM") if name in os.environ}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "kpuportal.settings",
        "DJANGO_SECRET_KEY": "bench",
        "KPU_DATA_DIR": str(data_dir),
        "KPU_LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def mib(kib):
    return f"{kib / 1024:.0f} MiB"


def scans_summary(count):
    sizes = [scan_path(index).stat().st_size / 1e6 for index in range(count)]
    sideways = sum(1 for index in range(count) if orientation_of(index))
    return (
        f"{count} scans {PAGE_SIZE[0]}x{PAGE_SIZE[1]} JPEG q{SCAN_QUALITY} "
        f"({sideways} sideways with EXIF orientation 6/8 and GPS), "
        f"{min(sizes):.2f}-{max(sizes):.2f} MB, mean {sum(sizes) / count:.2f} MB, in {SCANS.relative_to(ROOT)}/"
    )


def rate_line(label, count, seconds, baseline_rate=None):
    """(scans/s of the best round, the report line)."""
    rate = count / min(seconds)
    line = f"{label:<22} {rate:6.2f} scans/s"
    if baseline_rate is not None:
        line += f"   ratio {rate / baseline_rate:.2f}"
    rounds = "/".join(f"{s:.2f}" for s in seconds)
    return rate, f"{line:<50} (rounds {rounds} s)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scans", type=int, default=36, help="how many scans (default 36)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all scans, the best counts (default 3)")
    parser.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.scans, args.rounds)))
        return

    count, rounds = args.scans, args.rounds
    generated, _kib = child_run("generate", count, rounds)
    if generated["generated"]:
        print(f"Generated {generated['generated']} scans in {generated['seconds']:.1f} s.")
    print(scans_summary(count))
    print(f"Pillow {Image.__version__}, Python {sys.version.split()[0]}, best of {rounds} rounds\n")

    times, _kib = child_run("throughput", count, rounds)
    baseline_rate, line = rate_line("baseline Pillow", count, times["baseline"])
    print(line)
    render_rate, line = rate_line("render_scan", count, times["render_scan"], baseline_rate)
    print(line)

    with tempfile.TemporaryDirectory(prefix="ingest-", dir=OUT) as data_dir:
        ingest, _kib = child_run("ingest", count, rounds, env=clean_env(data_dir))
    # Against the baseline timed beside it, file by file, in the ingest child.
    ingest_baseline_rate = count / min(ingest["baseline"])
    _rate, line = rate_line("ingest (storage + db)", count, ingest["ingest"], ingest_baseline_rate)
    print(line)
    print(f"{'':<22} (its ratio is to the baseline timed beside it there: {ingest_baseline_rate:.2f} scans/s)")

    peaks = {mode: child_run(f"peak-{mode}", count, 1) for mode in WORK}
    print(
        f"{'peak RSS':<22} baseline {mib(peaks['baseline'][1])}, render_scan {mib(peaks['render_scan'][1])}"
        f"   (after imports: {mib(peaks['baseline'][0]['floor_kib'])}, {mib(peaks['render_scan'][0]['floor_kib'])})"
    )
    ratio = render_rate / baseline_rate
    verdict = "met" if ratio >= AIM else "NOT met"
    print(f"\nrender_scan runs at {ratio:.2f} of the bare baseline's throughput: aim >= {AIM}, {verdict}.")


if __name__ == "__main__":
    main()
