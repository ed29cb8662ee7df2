"""Benchmark scan ingestion: `render_scan` and the worker's `scan_ingest` against bare Pillow.

Generates N A4 C1 scans at 300 dpi (2480 x 3508 JPEG, quality 90) from a
fixed seed into bench/out/scans/, reused by later runs: light paper, printed
text, a table, handwritten figures in blue and scanner grain. Every third scan
is stored sideways (3508 x 2480) with EXIF orientation 6 or 8 and a GPS block,
as phones write them.

On the same files, in the same run, it measures:

- baseline: bare Pillow per file (open, load, the whole image as a JPEG
  quality 85 to memory, LANCZOS resize to 1600 px on the long side, JPEG
  quality 82 to memory), the floor for a full-size and a web rendition;
- baseline_web: the same without the full-size JPEG, the floor for one web
  rendition (the baseline before render_scan made a full-size rendition);
- render_scan: `uploads.imaging.render_scan(data, max_pixels=36_000_000)`
  (checks, EXIF orientation, no metadata, web JPEG, thumbnail and `full`
  JPEG, full size for these scans: smaller only for a progressive JPEG too
  large to decode whole within the memory budget);
- ingest: `uploads.services.scan_ingest` per stored scan (storage read,
  sha256, render_scan, renditions written, status updated) on the embedded
  defaults (SQLite and local files in a temporary directory under bench/out/,
  eager Celery). The scans are stored beforehand with `scan_store` (eager
  Celery ingests each once there, untimed), then set back to received before
  every timed round;
- peak RSS of a child process running each loop (baseline, baseline_web,
  render_scan), each reading one file at a time as a worker does:
  that child's `ru_maxrss` (KiB on Linux) from os.wait4(), which is what
  getrusage(RUSAGE_CHILDREN) reports for a single child;
- peak RSS on hostile files, made once into bench/out/hostile/ (large RGBA,
  RGB and 16-bit PNGs, a 40 MB JPEG, TIFFs and WebPs at the pixel limit or
  at the lower limit render_scan gives them): a fresh child per file and per
  measurement, for the bare floor (Python and PIL imported), a bare Pillow
  decode (open and load) and render_scan, read from the child's own VmHWM.
  Printed in MiB and as ratios to the floor and to the bare decode, with the
  size of the `full` rendition of each accepted file and a verdict on the
  aim: every accepted file under 300 MiB in a worker (whose floor, Django
  and Celery loaded, is measured too).

Each measurement runs in a child process of its own, so the parent never
holds pixels. Throughput is the best of several rounds over all files; the
two things compared are interleaved file by file, the order alternating by
file and by round, so both see the same machine (the ingest is compared to a
baseline timed that way beside it). The aim: render_scan at >= 0.8 of the
baseline's throughput, and every accepted hostile file under 300 MiB.

Run from the repository root:

    .venv/bin/python bench/ingest.py [--scans 36] [--rounds 3]
"""

import argparse
import json
import math
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
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
MAX_PIXELS = 36_000_000  # settings.SCAN_MAX_PIXELS by default
WEB_LONG_SIDE = 1600
BASELINE_QUALITY = 82
BASELINE_FULL_QUALITY = 85
AIM = 0.8
AIM_PEAK_MIB = 300
HOSTILE = OUT / "hostile"
HOSTILE_VERSION = "v1"  # part of the cached file names: change it when a hostile file changes

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
    """Bare Pillow: decode everything, the whole image as JPEG q85, LANCZOS to 1600 px, JPEG q82, into memory."""
    return baseline_web(data, full=True)


def baseline_web(data, full=False):
    """Bare Pillow: decode everything, LANCZOS to 1600 px, JPEG q82 into memory."""
    with Image.open(BytesIO(data)) as image:
        image.load()
        if full:
            image.save(BytesIO(), "JPEG", quality=BASELINE_FULL_QUALITY)
        scale = WEB_LONG_SIDE / max(image.size)
        size = (round(image.width * scale), round(image.height * scale))
        web = image.resize(size, Image.Resampling.LANCZOS)
    out = BytesIO()
    web.save(out, "JPEG", quality=BASELINE_QUALITY)
    return out.getvalue()


def render(data):
    from uploads.imaging import render_scan

    return render_scan(data, max_pixels=MAX_PIXELS)


WORK = {"baseline": baseline, "baseline_web": baseline_web, "render_scan": render}


def renditions_check(datas):
    """render_scan's output for an upright and a sideways scan: upright, 1600 px and full size, no EXIF."""
    for index in (0, 2):
        renditions = render(datas[index])
        assert (renditions.width, renditions.height) == PAGE_SIZE, renditions
        with Image.open(BytesIO(renditions.web)) as web:
            assert web.height == WEB_LONG_SIDE and web.width < web.height, web.size
            assert not web.getexif() and "exif" not in web.info, "the web rendition carries EXIF"
        with Image.open(BytesIO(renditions.full)) as full:
            assert full.size == PAGE_SIZE, full.size
            assert not full.getexif() and "exif" not in full.info, "the full-size rendition carries EXIF"


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


# -- Hostile files: peak memory ---------------------------------------------


def png_write(path, size, rows, color_type):
    """A PNG of 8-bit samples, from the bytes of each row (filter byte included), compressed as they come."""
    packer = zlib.compressobj(6)
    idat = b"".join(packer.compress(row) for row in rows) + packer.flush()
    header = struct.pack(">IIBBBBB", *size, 8, color_type, 0, 0, 0)
    chunks = [(b"IHDR", header), (b"IDAT", idat), (b"IEND", b"")]
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + b"".join(
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
            for kind, data in chunks
        )
    )


def flat_rgba_png(path, side):
    """Almost one colour, a dark line every 64 rows: a few hundred KB on disk, side x side x 4 bytes decoded."""
    plain = b"\x00" + bytes((245, 245, 240, 255)) * side
    line = b"\x00" + bytes((40, 40, 45, 255)) * side
    png_write(path, (side, side), (line if row % 64 == 0 else plain for row in range(side)), color_type=6)


def ruled(size, mode="RGB"):
    """Paper with a ruled line every 80 px: cheap to make, compresses like a scanned form."""
    page = Image.new(mode, size, PAPER if mode != "RGBA" else (*PAPER, 255))
    draw = ImageDraw.Draw(page)
    for y in range(100, size[1], 80):
        draw.line((100, y, size[0] - 100, y), fill=INK, width=3)
    return page


def a4_600dpi_png(path):
    page = form_draw(random.Random(f"{SEED}-600dpi")).resize((4961, 7016), Image.Resampling.LANCZOS)
    page.save(path, "PNG")


def a4_grey16_png(path):
    grey = form_draw(random.Random(f"{SEED}-grey16")).convert("L").convert("I")
    grey.point(lambda level: level * 257).convert("I;16").save(path, "PNG")


def noise_jpeg(path, size, *, progressive, limit_bytes=40_000_000):
    """Smooth seeded colour noise, 4:4:4, at the highest quality that stays under limit_bytes."""
    rng = random.Random(f"{SEED}-noise-{size}")
    small = (size[0] // 4, size[1] // 4)
    noise = Image.frombytes("RGB", small, rng.randbytes(small[0] * small[1] * 3)).resize(size)
    for quality in (97, 96, 95):  # Pillow writes a progressive JPEG this large only from quality 95
        out = BytesIO()
        noise.save(out, "JPEG", quality=quality, subsampling=0, progressive=progressive)
        if out.tell() <= limit_bytes:
            break
    path.write_bytes(out.getvalue())


def side_for(pixels):
    return math.isqrt(pixels)


def at_side(pixels):
    """The largest square of at most `pixels`."""
    return (side_for(pixels), side_for(pixels))


# name: (file suffix, what it is, how to make it). The lower limits are those
# render_scan gives files that take more memory a pixel (uploads.imaging._decode_cost).
HOSTILE_FILES = {
    "png-rgba-8900": ("png", "8900x8900 RGBA PNG, almost one colour", lambda path: flat_rgba_png(path, 8900)),
    "png-rgba-limit": (
        "png",
        f"{side_for(MAX_PIXELS)}^2 RGBA PNG, almost one colour",
        lambda path: flat_rgba_png(path, side_for(MAX_PIXELS)),
    ),
    "png-rgb-a4-600dpi": ("png", "A4 600 dpi RGB PNG, 4961x7016", a4_600dpi_png),
    "png-grey16-a4": ("png", "A4 300 dpi I;16 PNG, 2480x3508", a4_grey16_png),
    "jpeg-40mb-limit": (
        "jpg",
        "5000x7200 JPEG 4:4:4, under 40 MB",
        lambda path: noise_jpeg(path, (5000, 7200), progressive=False),
    ),
    "jpeg-progressive-limit": (
        "jpg",
        "5000x7200 progressive JPEG 4:4:4",
        lambda path: noise_jpeg(path, (5000, 7200), progressive=True),
    ),
    "jpeg-progressive-own-limit": (
        "jpg",
        "4000x6000 progressive JPEG 4:4:4",
        lambda path: noise_jpeg(path, (4000, 6000), progressive=True),
    ),
    "tiff-lzw-limit": (
        "tif",
        f"{side_for(MAX_PIXELS)}^2 RGB TIFF, LZW",
        lambda path: ruled(at_side(MAX_PIXELS)).save(path, "TIFF", compression="tiff_lzw"),
    ),
    "tiff-sideways-own-limit": (
        "tif",
        f"{side_for(MAX_PIXELS // 2)}^2 RGB TIFF, LZW, orientation 6",
        lambda path: ruled(at_side(MAX_PIXELS // 2)).save(
            path, "TIFF", compression="tiff_lzw", tiffinfo={ExifTags.Base.Orientation: 6}
        ),
    ),
    "webp-rgba-limit": (
        "webp",
        f"{side_for(MAX_PIXELS)}^2 RGBA WebP, lossless",
        lambda path: ruled(at_side(MAX_PIXELS), "RGBA").save(path, "WEBP", lossless=True, method=0),
    ),
    "webp-rgba-own-limit": (
        "webp",
        f"{side_for(MAX_PIXELS // 4)}^2 RGBA WebP, lossless",
        lambda path: ruled(at_side(MAX_PIXELS // 4), "RGBA").save(path, "WEBP", lossless=True, method=0),
    ),
}


def hostile_path(name):
    suffix, _what, _make = HOSTILE_FILES[name]
    return HOSTILE / f"{HOSTILE_VERSION}-{name}.{suffix}"


def hostile_generate(count, rounds):
    """Child: make the hostile files not cached yet."""
    HOSTILE.mkdir(parents=True, exist_ok=True)
    started, made = time.perf_counter(), 0
    for name, (_suffix, _what, make) in HOSTILE_FILES.items():
        path = hostile_path(name)
        if not path.exists():
            partial = path.with_name(path.name + ".part")
            make(partial)
            partial.replace(path)
            made += 1
    return {"generated": made, "seconds": time.perf_counter() - started}


def peak_kib():
    """This process's peak RSS (VmHWM).

    Not ru_maxrss: that also counts the parent's pages a child holds between
    fork and exec, as large as a floor of 15 MiB.
    """
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def floor_child(with_imaging):
    """Child: only the imports, the floor every other child starts from."""

    def run(count, rounds):
        if with_imaging:
            import uploads.imaging  # noqa: F401
        return {"peak_kib": peak_kib()}

    return run


def worker_floor_child(count, rounds):
    """Child, on the embedded defaults: Django set up and the Celery app and tasks imported, as a worker starts."""
    import django

    django.setup()
    import kpuportal.celery  # noqa: F401
    import uploads.tasks  # noqa: F401

    return {"peak_kib": peak_kib()}


def decode_child(name):
    """Child: bare Pillow, open and load (what any decoding worker holds at least, less a JPEG's draft)."""

    def run(count, rounds):
        with Image.open(BytesIO(hostile_path(name).read_bytes())) as image:
            image.load()
        return {"peak_kib": peak_kib()}

    return run


def render_child(name):
    """Child: render_scan on one hostile file; the reason code if refused, else the `full` rendition's size."""

    def run(count, rounds):
        from uploads.imaging import ScanRejected, render_scan

        try:
            renditions = render_scan(hostile_path(name).read_bytes(), max_pixels=MAX_PIXELS)
        except ScanRejected as rejected:
            return {"peak_kib": peak_kib(), "refused": rejected.reason.code}
        peak = peak_kib()  # before the header is parsed below: nothing of it counts
        with Image.open(BytesIO(renditions.full)) as full:
            full_size = full.size
        return {"peak_kib": peak, "refused": None, "full": "x".join(map(str, full_size))}

    return run


def hostile_report():
    """Peak RSS per hostile file, each measurement in a fresh child.

    Returns the highest peak of an accepted file as a worker would see it
    (its own floor in place of this script's) and that file's name.
    """
    generated, _kib = child_run("hostile-generate", 0, 1)
    if generated["generated"]:
        print(f"Generated {generated['generated']} hostile files in {generated['seconds']:.1f} s.")
    floor_kib = child_run("floor-pillow", 0, 1)[0]["peak_kib"]
    imaging_kib = child_run("floor-imaging", 0, 1)[0]["peak_kib"]
    with tempfile.TemporaryDirectory(prefix="worker-", dir=OUT) as data_dir:
        worker_kib = child_run("floor-worker", 0, 1, env=clean_env(data_dir))[0]["peak_kib"]
    print(
        f"\nPeak RSS on hostile files (max_pixels {MAX_PIXELS:,}), one fresh process each. Floors: this script and "
        f"PIL {mib(floor_kib)}, with uploads.imaging {mib(imaging_kib)}; a worker (Django, Celery) {mib(worker_kib)}."
    )
    print(f"{'':<27} {'':<41} {'file':>8} {'bare decode':>12} {'render_scan':>12} {'/floor':>7} {'/decode':>8}  result")
    highest = (0, None)
    for name, (_suffix, what, _make) in HOSTILE_FILES.items():
        size_mb = hostile_path(name).stat().st_size / 1e6
        decode_kib = child_run(f"decode-{name}", 0, 1)[0]["peak_kib"]
        rendered = child_run(f"render-{name}", 0, 1)[0]
        render_kib, refused = rendered["peak_kib"], rendered["refused"]
        if not refused:
            highest = max(highest, (render_kib - imaging_kib + worker_kib, name))
        print(
            f"{name:<27} {what:<41} {size_mb:6.1f}MB {mib(decode_kib):>12} {mib(render_kib):>12} "
            f"{render_kib / floor_kib:7.1f} {render_kib / decode_kib:8.2f}  "
            + (f"refused: {refused}" if refused else f"accepted, full {rendered['full']}")
        )
    return highest


def ingest_child(count, rounds):
    """Child, on the embedded defaults: store the scans, then time scan_ingest over all of them."""
    import django

    django.setup()
    from django.core.files.base import ContentFile
    from django.core.management import call_command

    from uploads import services
    from uploads.models import Scan
    from uploads.storage import raw_put

    call_command("migrate", verbosity=0)
    user, tally = ingest_fixture()
    # On the embedded defaults the ingest runs eagerly as each scan is
    # stored: an untimed warm-up. Then every timed round starts from received.
    for index in range(count):
        services.scan_store(
            raw=raw_put(ContentFile(scan_path(index).read_bytes())),
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

    # attempts too: scan_ingest gives a scan up after a few claims.
    Scan.objects.update(
        status=Scan.Status.RECEIVED,
        attempts=0,
        web="",
        web_sha256="",
        thumbnail="",
        thumbnail_sha256="",
        full="",
        full_sha256="",
        processed_at=None,
    )
    for kind in ("web", "thumbnail", "full"):
        shutil.rmtree(Path(default_storage.location) / "scans" / kind, ignore_errors=True)


CHILDREN = {
    "generate": scans_generate,
    "throughput": throughput_child,
    "ingest": ingest_child,
    **{f"peak-{mode}": peak_child(mode) for mode in WORK},
    "hostile-generate": hostile_generate,
    "floor-pillow": floor_child(with_imaging=False),
    "floor-imaging": floor_child(with_imaging=True),
    "floor-worker": worker_floor_child,
    **{f"decode-{name}": decode_child(name) for name in HOSTILE_FILES},
    **{f"render-{name}": render_child(name) for name in HOSTILE_FILES},
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
    web_rate, line = rate_line("baseline, web only", count, times["baseline_web"])
    print(line)
    render_rate, line = rate_line("render_scan", count, times["render_scan"], baseline_rate)
    print(line)
    print(f"{'':<22} (to the web-only baseline: {render_rate / web_rate:.2f})")

    with tempfile.TemporaryDirectory(prefix="ingest-", dir=OUT) as data_dir:
        ingest, _kib = child_run("ingest", count, rounds, env=clean_env(data_dir))
    # Against the baseline timed beside it, file by file, in the ingest child.
    ingest_baseline_rate = count / min(ingest["baseline"])
    _rate, line = rate_line("ingest (storage + db)", count, ingest["ingest"], ingest_baseline_rate)
    print(line)
    print(f"{'':<22} (its ratio is to the baseline timed beside it there: {ingest_baseline_rate:.2f} scans/s)")

    peaks = {mode: child_run(f"peak-{mode}", count, 1) for mode in WORK}
    print(
        f"{'peak RSS':<22} "
        + ", ".join(f"{mode} {mib(peaks[mode][1])}" for mode in WORK)
        + "   (after imports: "
        + ", ".join(mib(peaks[mode][0]["floor_kib"]) for mode in WORK)
        + ")"
    )
    highest_kib, highest_name = hostile_report()
    ratio = render_rate / baseline_rate
    verdict = "met" if ratio >= AIM else "NOT met"
    print(f"\nrender_scan runs at {ratio:.2f} of the bare baseline's throughput: aim >= {AIM}, {verdict}.")
    verdict = "met" if highest_kib < AIM_PEAK_MIB * 1024 else "NOT met"
    print(
        f"Every accepted hostile file stays under {AIM_PEAK_MIB} MiB in a worker: {verdict} (highest "
        f"{mib(highest_kib)}, {highest_name}: render_scan's peak above, less its floor, plus a worker's)."
    )


if __name__ == "__main__":
    main()
