from io import BytesIO

import pytest
from PIL import Image

from tests.uploads import images
from uploads.imaging import THUMBNAIL_LONG_SIDE, WEB_LONG_SIDE, ScanRejected, render_scan

LIMIT = 80_000_000


def reason_for(data):
    with pytest.raises(ScanRejected) as rejected:
        render_scan(data, max_pixels=LIMIT)
    return str(rejected.value.reason)


def test_an_a4_scan_gets_a_web_rendition_and_a_thumbnail():
    result = render_scan(images.jpeg(2480, 3508), max_pixels=LIMIT)
    assert (result.format, result.width, result.height) == ("JPEG", 2480, 3508)
    web = Image.open(BytesIO(result.web))
    thumbnail = Image.open(BytesIO(result.thumbnail))
    assert web.format == thumbnail.format == "JPEG"
    assert max(web.size) == WEB_LONG_SIDE
    assert max(thumbnail.size) == THUMBNAIL_LONG_SIDE
    assert abs(web.size[0] / web.size[1] - 2480 / 3508) < 0.01


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


def test_gps_and_all_other_metadata_are_gone_from_the_renditions():
    raw = images.photo_with_gps_rotated()
    assert Image.open(BytesIO(raw)).getexif().get_ifd(0x8825)  # the upload does carry a position
    result = render_scan(raw, max_pixels=LIMIT)
    for rendition in (result.web, result.thumbnail):
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
    assert "9000 × 9000" in str(rejected.value.reason)
