import math
import random
import struct
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings
from PIL import ExifTags, Image, ImageOps

from tests.uploads import images
from uploads.imaging import FULL_QUALITY, JPEG_MAX_SIDE, THUMBNAIL_LONG_SIDE, WEB_LONG_SIDE, ScanRejected, render_scan
from uploads.reasons import MESSAGES

LIMIT = 80_000_000
ROOT = Path(__file__).resolve().parents[2]


def reason_for(data):
    with pytest.raises(ScanRejected) as rejected:
        render_scan(data, max_pixels=LIMIT)
    return str(rejected.value.reason)


def rejection_for(data, max_pixels=LIMIT):
    with pytest.raises(ScanRejected) as rejected:
        render_scan(data, max_pixels=max_pixels)
    return rejected.value.reason


def jpeg_markers(data):
    """The marker of each segment of a JPEG, in order, with the entropy-coded data between them skipped."""
    assert data[:2] == b"\xff\xd8"
    markers, position = [], 2
    while position < len(data):
        assert data[position] == 0xFF, f"no marker at byte {position}"
        while data[position + 1] == 0xFF:  # fill bytes
            position += 1
        marker = data[position + 1]
        markers.append(marker)
        if marker == 0xD9:  # EOI
            break
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length
        if marker == 0xDA:  # SOS: scan data runs to the next marker that is not a stuffed 0xFF00 or RSTn
            while not (data[position] == 0xFF and data[position + 1] != 0 and not 0xD0 <= data[position + 1] <= 0xD7):
                position += 1
    return markers


def grey_level(rendition, position):
    return Image.open(BytesIO(rendition)).convert("L").getpixel(position)


def test_an_a4_scan_gets_a_web_rendition_and_a_thumbnail():
    result = render_scan(images.jpeg(2480, 3508), max_pixels=LIMIT)
    assert (result.format, result.width, result.height) == ("JPEG", 2480, 3508)
    web = Image.open(BytesIO(result.web))
    thumbnail = Image.open(BytesIO(result.thumbnail))
    assert web.format == thumbnail.format == "JPEG"
    assert max(web.size) == WEB_LONG_SIDE
    assert max(thumbnail.size) == THUMBNAIL_LONG_SIDE
    assert abs(web.size[0] / web.size[1] - 2480 / 3508) < 0.01


def test_the_full_size_rendition_keeps_every_pixel_of_the_scan():
    result = render_scan(images.jpeg(2480, 3508), max_pixels=LIMIT)
    full = Image.open(BytesIO(result.full))
    assert (full.format, full.size, full.mode) == ("JPEG", (2480, 3508), "RGB")
    assert not full.info.get("progressive")  # baseline: libjpeg encodes it a few rows at a time


def test_a_small_image_is_not_enlarged():
    result = render_scan(images.jpeg(400, 566), max_pixels=LIMIT)
    assert Image.open(BytesIO(result.web)).size == (400, 566)


@pytest.mark.parametrize(
    "fmt, options, mode",
    [
        ("PNG", {}, "RGB"),
        ("WEBP", {}, "RGB"),
        ("TIFF", {}, "L"),
        ("PNG", {}, "RGBA"),
        ("PNG", {}, "P"),
        ("TIFF", {"compression": "tiff_lzw"}, "RGB"),
    ],
)
def test_each_allowed_format_is_accepted(fmt, options, mode):
    result = render_scan(images.encoded(fmt, mode=mode, **options), max_pixels=LIMIT)
    assert result.format == fmt
    assert Image.open(BytesIO(result.web)).mode in ("RGB", "L")


def test_an_exif_rotated_photo_comes_out_upright():
    result = render_scan(images.photo_with_gps_rotated(orientation=6), max_pixels=LIMIT)
    web = Image.open(BytesIO(result.web)).convert("RGB")
    assert (result.width, result.height) == (100, 200)
    assert web.size == (100, 200)
    # Orientation 6 turns the photo a quarter clockwise: the red left half ends on top.
    top, bottom = web.getpixel((50, 20)), web.getpixel((50, 180))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60
    full = Image.open(BytesIO(result.full)).convert("RGB")
    assert full.size == (100, 200)
    top, bottom = full.getpixel((50, 20)), full.getpixel((50, 180))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_gps_and_all_other_metadata_are_gone_from_the_renditions():
    raw = images.photo_with_gps_rotated()
    assert Image.open(BytesIO(raw)).getexif().get_ifd(0x8825)  # the upload does carry a position
    result = render_scan(raw, max_pixels=LIMIT)
    for rendition in (result.web, result.thumbnail, result.full):
        image = Image.open(BytesIO(rendition))
        assert not image.getexif()
        assert "exif" not in image.info and "xmp" not in image.info
        assert b"Exif" not in rendition and b"Officer phone" not in rendition


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (images.truncated_jpeg(), "damaged or truncated"),
        (images.TEXT, "not a JPEG, PNG, WebP or TIFF"),
        (images.HTML, "HTML or SVG"),
        (images.SVG, "HTML or SVG"),
        (images.png_declaring(50_000, 50_000), "too many pixels"),
        (images.multipage_tiff(3), "3 pages"),
        (images.encoded("GIF"), "GIF images are not accepted"),
        (images.encoded("BMP"), "BMP images are not accepted"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
    ],
)
def test_each_kind_of_bad_file_is_rejected_with_a_reason(data, reason):
    assert reason in reason_for(data)


def test_an_image_over_the_pixel_limit_is_rejected_before_decoding():
    with pytest.raises(ScanRejected) as rejected:
        render_scan(images.png_declaring(9000, 9000), max_pixels=LIMIT)
    assert str(rejected.value.reason) == "The image is 9,000 × 9,000 pixels, more than the 80,000,000 allowed."


def test_rejections_are_stored_as_a_code_and_rendered_in_the_readers_language():
    reason = rejection_for(images.multipage_tiff(3))
    assert (reason.code, reason.params) == ("pages", {"pages": 3})
    assert str(reason) == "The file has 3 pages. Upload each page as its own image."
    reason = rejection_for(images.png_declaring(9000, 9000), max_pixels=36_000_000)
    assert (reason.code, reason.params) == ("too_many_pixels", {"width": 9000, "height": 9000, "limit": 36_000_000})
    assert str(reason) == "The image is 9,000 × 9,000 pixels, more than the 36,000,000 allowed."


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "empty"),
        (b"%PDF-1.7\n", "pdf"),
        (images.encoded("GIF"), "gif"),
        (images.encoded("BMP"), "bmp"),
        (b"PK\x03\x04\x14\x00\x00\x00", "zip_not_here"),
        (images.HTML, "markup"),
        (images.TEXT, "not_an_image"),
        (images.png_declaring(50_000, 50_000), "bomb"),
        (images.truncated_jpeg(), "damaged"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_rejection_carries_its_code(data, code):
    assert rejection_for(data).code == code


def test_a_tiff_page_without_a_width_is_rejected_as_damaged():
    reason = rejection_for(images.tiff_page_without_width())
    assert reason.code == "damaged"
    assert str(reason) == "The image is damaged or truncated. Scan or photograph the page again."


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_no_damage_to_a_good_file_ends_in_anything_but_a_rejection_or_renditions(fmt):
    """Bytes overwritten, cut short or dropped at seeded random places: every result is one of the two."""
    good = images.encoded(fmt, size=(120, 90), mode="L" if fmt == "TIFF" else "RGB")
    rng = random.Random(f"damage-{fmt}")
    for _attempt in range(150):
        data = bytearray(good)
        kind = rng.choice(("overwrite", "cut", "drop"))
        at = rng.randrange(len(data))
        if kind == "overwrite":
            data[at : at + 4] = rng.randbytes(4)
        elif kind == "cut":
            del data[at:]
        else:
            del data[at : at + rng.randint(1, 16)]
        try:
            result = render_scan(bytes(data), max_pixels=LIMIT)
        except ScanRejected as rejected:
            assert rejected.reason.code in MESSAGES
        else:
            assert Image.open(BytesIO(result.web)).format == "JPEG"


def test_running_out_of_memory_while_decoding_is_a_rejection(monkeypatch):
    def exhausted(image):
        raise MemoryError

    # Pillow's decoder, not ours: MemoryError cannot be made to happen on demand otherwise.
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", exhausted)
    reason = rejection_for(images.encoded("PNG"))
    assert reason.code == "too_large_to_read"
    assert "too large" in str(reason)


@pytest.mark.parametrize(
    "source",
    [
        {"fmt": "JPEG", "comment": images.POLYGLOT},
        {"fmt": "PNG", "png_text": images.POLYGLOT.decode()},
        {"fmt": "PNG", "png_itxt": images.POLYGLOT.decode()},
        {"fmt": "JPEG", "icc": True},
        {"fmt": "PNG", "icc": True},
        {"fmt": "JPEG", "exif": True, "xmp": True},
        {"fmt": "PNG", "exif": True, "xmp": True},
        {"fmt": "WEBP", "icc": True, "exif": True, "xmp": True},
        {"fmt": "TIFF", "icc": True, "xmp": True},
    ],
    ids=lambda source: "-".join(key for key in source if key != "fmt") + f"-{source['fmt']}",
)
def test_renditions_carry_no_comment_and_no_metadata_segment(source):
    result = render_scan(images.with_metadata(**source), max_pixels=LIMIT)
    for rendition in (result.web, result.thumbnail, result.full):
        markers = jpeg_markers(rendition)
        assert markers[-1] == 0xD9, "the walk did not reach the end of the JPEG"
        assert 0xFE not in markers, "a COM (comment) segment"
        assert [marker for marker in markers if 0xE0 <= marker <= 0xEF] == [0xE0], "an APPn segment besides JFIF"
        assert b"<script" not in rendition and b"Officer phone" not in rendition


@pytest.mark.parametrize("size", [(2480, 3508), (300, 420)], ids=["a4-300dpi", "small"])
def test_a_16_bit_mid_grey_scan_comes_out_mid_grey(size):
    result = render_scan(images.grey16(size, 32768), max_pixels=LIMIT)
    for rendition in (result.web, result.thumbnail, result.full):
        assert abs(grey_level(rendition, (10, 10)) - 128) <= 2
    assert Image.open(BytesIO(result.full)).size == size


def test_a_16_bit_gradient_keeps_its_dark_middle_and_light_ends():
    result = render_scan(images.grey16((2480, 3508)), max_pixels=LIMIT)
    for rendition in (result.web, result.full):
        image = Image.open(BytesIO(rendition)).convert("L")
        top, middle, bottom = (image.getpixel((image.width // 2, y)) for y in (5, image.height // 2, image.height - 5))
        assert top < 10 and abs(middle - 128) <= 4 and bottom > 245


@pytest.mark.parametrize(
    "data, level",
    [
        (images.grey16((300, 420), 32768, "TIFF", "I;16B"), 128),
        (images.grey16((300, 420), 65535, "TIFF", "I;16"), 255),
        (images.grey_deep("I", 32768), 128),
        (images.grey_deep("F", 0.5), 128),
    ],
    ids=["I;16B-mid", "I;16-white", "I-mid", "F-mid"],
)
def test_deep_greyscale_tiffs_are_scaled_to_8_bits(data, level):
    result = render_scan(data, max_pixels=LIMIT)
    assert abs(grey_level(result.web, (10, 10)) - level) <= 2
    assert abs(grey_level(result.thumbnail, (10, 10)) - level) <= 2
    assert abs(grey_level(result.full, (10, 10)) - level) <= 2


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "TIFF", "PNG", "WEBP"])
def test_the_reported_size_is_the_upright_images(fmt, orientation):
    result = render_scan(images.stored_with_orientation(fmt, orientation, size=(2000, 1200)), max_pixels=LIMIT)
    assert (result.width, result.height) == (2000, 1200)
    web = Image.open(BytesIO(result.web)).convert("RGB")
    assert web.size == (WEB_LONG_SIDE, 960)
    assert Image.open(BytesIO(result.thumbnail)).size == (THUMBNAIL_LONG_SIDE, 192)
    # The red quarter is back in the top left corner, blue elsewhere.
    top_left, bottom_right = web.getpixel((100, 100)), web.getpixel((1500, 860))
    assert top_left[0] > 200 and top_left[2] < 60
    assert bottom_right[2] > 200 and bottom_right[0] < 60
    full = Image.open(BytesIO(result.full)).convert("RGB")
    assert full.size == (2000, 1200)
    top_left, bottom_right = full.getpixel((100, 100)), full.getpixel((1900, 1100))
    assert top_left[0] > 200 and top_left[2] < 60
    assert bottom_right[2] > 200 and bottom_right[0] < 60


@pytest.mark.parametrize("orientation", [3, 6])
@pytest.mark.parametrize("fmt", ["JPEG", "TIFF", "PNG", "WEBP"])
def test_an_image_reduced_before_resizing_is_turned_upright_too(fmt, orientation):
    """At twice the web size and more, PNG, WebP and TIFF go through Image.reduce() first."""
    result = render_scan(images.stored_with_orientation(fmt, orientation, size=(4000, 2400)), max_pixels=LIMIT)
    assert (result.width, result.height) == (4000, 2400)
    assert Image.open(BytesIO(result.full)).size == (4000, 2400)
    web = Image.open(BytesIO(result.web)).convert("RGB")
    assert web.size == (WEB_LONG_SIDE, 960)
    top_left, bottom_right = web.getpixel((100, 100)), web.getpixel((1500, 860))
    assert top_left[0] > 200 and top_left[2] < 60
    assert bottom_right[2] > 200 and bottom_right[0] < 60


def test_the_default_pixel_limit_takes_a_600_dpi_a4_page_and_refuses_8900_square():
    assert 4961 * 7016 <= settings.SCAN_MAX_PIXELS < 8900 * 8900
    reason = rejection_for(images.png_rgba_flat(8900, 8900), max_pixels=settings.SCAN_MAX_PIXELS)
    assert reason.code == "too_many_pixels"


@pytest.mark.parametrize(
    "data, accepted",
    [
        (images.encoded("TIFF", size=(800, 1000), compression="tiff_lzw"), True),
        (images.encoded("TIFF", size=(800, 1000), compression="tiff_lzw", tiffinfo={images.ORIENTATION: 6}), False),
        (images.encoded("TIFF", size=(800, 1000), compression="tiff_adobe_deflate", tiffinfo={278: 1000}), False),
        (images.encoded("WEBP", size=(800, 1000)), False),
        (images.encoded("JPEG", size=(800, 1000), progressive=True, subsampling=0), False),
        (images.encoded("JPEG", size=(800, 1000), progressive=True, subsampling=2), True),
        (images.encoded("JPEG", size=(800, 1000), subsampling=0), True),
    ],
    ids=["tiff", "tiff-sideways", "tiff-one-strip", "webp", "progressive-jpeg-444", "progressive-jpeg-420", "jpeg-444"],
)
def test_files_that_take_more_memory_to_decode_get_fewer_pixels(data, accepted):
    if accepted:
        assert render_scan(data, max_pixels=1_000_000).width == 800
    else:
        reason = rejection_for(data, max_pixels=1_000_000)
        assert reason.code == "too_many_pixels_for_format"
        assert reason.params["limit"] < 800_000
        # A TIFF's size is reported upright: 1,000 × 800 for the sideways one.
        assert {reason.params["width"], reason.params["height"]} == {800, 1000}
        assert "pixels; stored like this, at most" in str(reason)


def peak_rss_mib(data, max_pixels):
    """render_scan on data in a fresh Python, as a worker runs it: that process's peak RSS in MiB.

    VmHWM, not ru_maxrss: the child's ru_maxrss also counts what it shared
    with this (large) process between fork and exec.
    """
    script = (
        "import sys\n"
        "from uploads.imaging import render_scan\n"
        "render_scan(sys.stdin.buffer.read(), max_pixels=int(sys.argv[1]))\n"
        "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(max_pixels)], input=data, cwd=ROOT, capture_output=True, check=True
    )
    return int(done.stdout) / 1024  # VmHWM is in kB


def at_most(pixels):
    side = math.isqrt(pixels)
    return (side, side)


@pytest.mark.parametrize(
    "make",
    [
        lambda limit: images.png_rgba_flat(*at_most(limit)),
        lambda limit: images.encoded("WEBP", size=at_most(limit // 4), mode="RGBA", lossless=True, method=0),
        lambda limit: images.encoded(
            "TIFF", size=at_most(limit // 2), compression="tiff_lzw", tiffinfo={images.ORIENTATION: 6}
        ),
        lambda limit: images.encoded("JPEG", size=at_most(limit * 4 // 6), progressive=True, subsampling=0),
        lambda limit: images.encoded("JPEG", size=at_most(limit), progressive=True, subsampling=1),
        lambda limit: images.encoded("JPEG", size=at_most(limit), subsampling=0),
    ],
    ids=["rgba-png", "webp", "tiff-sideways", "progressive-jpeg-444", "progressive-jpeg-422", "jpeg-444"],
)
def test_a_file_at_its_pixel_limit_renders_in_under_300_mb(make):
    data = make(settings.SCAN_MAX_PIXELS)
    assert peak_rss_mib(data, settings.SCAN_MAX_PIXELS) < 300


def test_a_progressive_jpeg_at_its_limit_gets_a_full_rendition_as_large_as_the_budget_allows():
    """Decoded whole, its image would come on top of coefficients that already fill the budget: drafted at 1/2."""
    upright = (4000, 6000)  # 24,000,000 pixels, the most a progressive 4:4:4 JPEG is allowed (6 bytes each)
    assert math.prod(upright) * 6 == settings.SCAN_MAX_PIXELS * 4
    exif = Image.Exif()
    exif[images.ORIENTATION] = 6
    exif[ExifTags.Base.Make] = "Officer phone"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "S", ExifTags.GPS.GPSLatitude: (0.0, 2.0, 30.0)}
    out = BytesIO()
    images.upright_pattern(upright).transpose(images.STORED_BY[6]).save(
        out, "JPEG", progressive=True, subsampling=0, quality=90, exif=exif, comment=images.POLYGLOT, xmp=images.XMP
    )
    result = render_scan(out.getvalue(), max_pixels=settings.SCAN_MAX_PIXELS)

    assert (result.width, result.height) == upright  # the source's size, not the rendition's
    web, full = Image.open(BytesIO(result.web)), Image.open(BytesIO(result.full))
    assert web.size == (1067, WEB_LONG_SIDE)
    assert full.size == (2000, 3000)  # smaller than the source, larger than the web rendition
    assert (full.format, full.mode) == ("JPEG", "RGB") and not full.info.get("progressive")
    full = full.convert("RGB")
    top_left, bottom_right = full.getpixel((100, 100)), full.getpixel((1900, 2900))
    assert top_left[0] > 200 and top_left[2] < 60
    assert bottom_right[2] > 200 and bottom_right[0] < 60
    markers = jpeg_markers(result.full)
    assert 0xFE not in markers and [marker for marker in markers if 0xE0 <= marker <= 0xEF] == [0xE0]
    assert not Image.open(BytesIO(result.full)).getexif()
    assert b"<script" not in result.full and b"Officer phone" not in result.full


@pytest.mark.parametrize(
    "make, size",
    [
        (lambda limit: images.encoded("JPEG", size=at_most(limit), subsampling=0), (6000, 6000)),
        (lambda limit: images.png_rgba_flat(*at_most(limit)), (6000, 6000)),
        # Progressive, but its image fits in the budget beside its coefficients: grey at the
        # pixel limit (2 + 1 bytes a pixel), a 300 dpi A4 page in 4:4:4 (6 + 4).
        (lambda limit: images.encoded("JPEG", size=at_most(limit), mode="L", progressive=True), (6000, 6000)),
        (lambda limit: images.encoded("JPEG", size=(2480, 3508), progressive=True, subsampling=0), (2480, 3508)),
    ],
    ids=["jpeg-444", "rgba-png", "progressive-jpeg-grey", "progressive-jpeg-444-a4"],
)
def test_other_files_at_the_limit_and_usual_scans_get_a_full_size_full_rendition(make, size):
    result = render_scan(make(settings.SCAN_MAX_PIXELS), max_pixels=settings.SCAN_MAX_PIXELS)
    assert (result.width, result.height) == size
    assert Image.open(BytesIO(result.full)).size == size


def test_a_phone_mpo_photo_is_one_page_rendered_from_its_first_frame():
    from io import BytesIO

    from PIL import Image

    photo = Image.new("RGB", (300, 420), (200, 30, 30))
    depth = Image.new("RGB", (300, 420), (0, 0, 0))
    out = BytesIO()
    photo.save(out, "MPO", save_all=True, append_images=[depth])
    renditions = render_scan(out.getvalue(), max_pixels=36_000_000)
    assert (renditions.format, renditions.width, renditions.height) == ("MPO", 300, 420)
    red, green, blue = Image.open(BytesIO(renditions.web)).convert("RGB").getpixel((150, 210))
    assert red > 180 and green < 60 and blue < 60
    full = Image.open(BytesIO(renditions.full))
    assert full.size == (300, 420)
    red, green, blue = full.convert("RGB").getpixel((150, 210))
    assert red > 180 and green < 60 and blue < 60


def noisy(size, mode):
    """Seeded noise in `mode`: every band of the full-size rendition differs from the others."""
    grey = Image.frombytes("L", size, random.Random(f"noise-{size}").randbytes(size[0] * size[1]))
    if mode == "RGB":
        return Image.merge(
            "RGB", (grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grey.point(lambda v: 255 - v))
        )
    return grey.convert(mode)


@pytest.mark.parametrize(
    "fmt, mode, orientation",
    [
        ("JPEG", "RGB", 1),
        ("JPEG", "RGB", 6),
        ("JPEG", "L", 8),
        ("JPEG", "RGB", 7),
        ("PNG", "RGBA", 3),
        ("PNG", "P", 5),
        ("PNG", "LA", 2),
        ("TIFF", "CMYK", 4),
        ("TIFF", "1", 1),
        ("WEBP", "RGB", 6),
    ],
)
def test_the_full_size_rendition_is_the_upright_image_as_one_jpeg_would_hold_it(fmt, mode, orientation):
    """Encoded a band at a time, it decodes to the very pixels of the upright image encoded at once."""
    upright = noisy((1100, 1300), mode)  # several bands, and sides no whole number of MCUs
    stored = upright if images.STORED_BY[orientation] is None else upright.transpose(images.STORED_BY[orientation])
    exif = Image.Exif()
    exif[images.ORIENTATION] = orientation
    out = BytesIO()
    stored.save(out, fmt, exif=exif, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    result = render_scan(out.getvalue(), max_pixels=LIMIT)

    with Image.open(BytesIO(out.getvalue())) as source:
        source.load()
        flat = ImageOps.exif_transpose(source).convert("L" if mode in ("L", "LA", "1") else "RGB")
    at_once = BytesIO()
    flat.save(at_once, "JPEG", quality=FULL_QUALITY)
    full = Image.open(BytesIO(result.full))
    assert (full.size, full.mode) == ((1100, 1300), flat.mode)
    assert full.tobytes() == Image.open(at_once).tobytes()
    markers = jpeg_markers(result.full)
    assert 0xDD in markers and markers[-1] == 0xD9  # one JPEG, a restart interval a band


def test_a_side_longer_than_jpeg_allows_is_reduced_to_fit_in_the_full_size_rendition():
    result = render_scan(images.encoded("PNG", size=(JPEG_MAX_SIDE + 100, 20), mode="L"), max_pixels=LIMIT)
    assert (result.width, result.height) == (JPEG_MAX_SIDE + 100, 20)
    full = Image.open(BytesIO(result.full))
    assert full.size == ((JPEG_MAX_SIDE + 100 + 1) // 2, 10)
    assert full.getextrema() == (200, 200)
