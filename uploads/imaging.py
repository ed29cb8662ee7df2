"""Turn the bytes of an uploaded C1 scan into its public renditions.

Pure: bytes in, bytes out, no storage and no database, so the bench and the
tests run exactly what the worker runs. Every way a file can be bad ends in
ScanRejected with a reason the officer can act on; nothing here may crash a
worker on hostile input.
"""

import hashlib
from dataclasses import dataclass
from io import BytesIO

from billiard.exceptions import SoftTimeLimitExceeded
from PIL import Image, ImageOps, JpegImagePlugin

from .reasons import Refusal

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")
WEB_LONG_SIDE = 1600
THUMBNAIL_LONG_SIDE = 320
WEB_QUALITY = 82
THUMBNAIL_QUALITY = 75

# What people upload instead of a scan, recognised by its first bytes so the
# reason says what the file is rather than "unreadable".
_NOT_A_SCAN = [(b"%PDF", "pdf"), (b"GIF8", "gif"), (b"BM", "bmp"), (b"PK\x03\x04", "zip_not_here")]

# A JPEG takes L or RGB. Bilevel and grey with alpha become L, deep greyscale
# (more than 8 bits a sample) is kept deep until it is small and then scaled,
# everything else (palette, RGBA, CMYK...) becomes RGB; alpha is dropped.
_FLAT_MODES = {"1": "L", "L": "L", "LA": "L", "I": "I", "F": "F"}
# Rows of the full image converted and reduced at a time.
_BAND_ROWS = 256

# TIFF tags read to tell what decoding a TIFF costs.
_ORIENTATION = 0x0112
_COMPRESSION, _BITS_PER_SAMPLE, _SAMPLES_PER_PIXEL = 259, 258, 277
_ROWS_PER_STRIP, _TILE_WIDTH, _TILE_LENGTH = 278, 322, 323
# Samples a pixel of a colour JPEG holds, by JpegImagePlugin.get_sampling():
# 4:4:4, 4:2:2, 4:2:0.
_JPEG_SAMPLES = {0: 3, 1: 2, 2: 1.5}


class ScanRejected(Refusal):
    """The file is not a usable scan; `reason` (a code and its parameters) tells the officer why."""


@dataclass(frozen=True)
class Renditions:
    format: str
    width: int
    height: int
    web: bytes
    thumbnail: bytes


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def _sniff(data):
    """The reason code for a file Pillow cannot open: what it is, when its first bytes say so."""
    for magic, code in _NOT_A_SCAN:
        if data.startswith(magic):
            return code
    head = data[:512].lstrip().lower()
    if head.startswith((b"<", b"\xef\xbb\xbf<")) or b"<svg" in head or b"<html" in head:
        return "markup"
    return "not_an_image"


def _rejection(error, otherwise):
    """What Pillow raised on an untrusted file, as a rejection: any error there means "not usable"."""
    if isinstance(error, Image.DecompressionBombError):
        return ScanRejected("bomb")
    if isinstance(error, MemoryError):
        return ScanRejected("too_large_to_read")
    return ScanRejected(otherwise)


def _jpeg(image, quality):
    """The image as a JPEG with nothing in it but pixels (and the JFIF header).

    Empties image.info first: Pillow's JPEG writer falls back to the
    source's info["comment"] (a JPEG COM, or a PNG "comment" text chunk),
    so an HTML/JS polyglot comment would reach the public rendition. No
    exif=, icc_profile= or xmp= argument either (officers' phones write
    GPS positions into photos).
    """
    image.info = {}
    out = BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=False, progressive=True)
    return out.getvalue()


def _fit(size, long_side):
    width, height = size
    scale = min(1.0, long_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _flat_mode(mode):
    return "I" if mode.startswith("I;16") else _FLAT_MODES.get(mode, "RGB")


def _deep_scale(image):
    """The factor that brings deep greyscale to 0-255: convert("L") would clip all above 255 to white.

    I;16 declares its depth: 65535 is white. I and F declare none, so the
    brightest value picks the range: 0-1 (floating point), 0-255, 0-65535,
    or else its own maximum. Read on the whole image: averaging first could
    move a few bright pixels into another range.
    """
    if image.mode.startswith("I;16"):
        return 1 / 257
    brightest = image.getextrema()[1]
    return next((255 / top for top in (1, 255, 65535) if brightest <= top), 255 / brightest)


def _reduced(image, mode, factor):
    """The image in `mode`, box-averaged by a whole factor (as Pillow's reducing_gap does), a band at a time.

    Done whole, converting would make a full-size copy beside the decoded
    image, and so would reduce() itself for RGBA and LA (it premultiplies
    them into one first); I;16 it does not take at all. A band at a time,
    the copies are a few megabytes.
    """
    if factor < 2:
        return image if image.mode == mode else image.convert(mode)
    width, height = image.size
    rows = factor * max(1, _BAND_ROWS // factor)  # whole blocks per band: the same average as at once
    reduced = Image.new(mode, (-(-width // factor), -(-height // factor)))
    # EXIF and XMP travel in info: exif_transpose() reads the orientation there.
    reduced.info = dict(image.info)
    for top in range(0, height, rows):
        band = image.crop((0, top, width, min(top + rows, height)))
        if band.mode != mode:
            band = band.convert(mode)
        reduced.paste(band.reduce(factor), (0, top // factor))
    return reduced


def _web(image):
    """The upright web rendition, and whether its sides are swapped against image.size as opened.

    Memory, for a worker that must survive any file within the limits: a
    JPEG is decoded at reduced scale, other formats whole, and beside the
    decoded image nothing larger than a band of it is ever held. Closes
    `image` once it is no longer needed.
    """
    size = _fit(image.size, WEB_LONG_SIDE)
    # JPEG only: libjpeg decodes at 1/2, 1/4 or 1/8 scale, no smaller than
    # the web rendition (a target any larger asks for more pixels than a
    # 300 dpi scan has). `box` is the whole picture in decoded pixels.
    drafted = image.draft(None, size)
    box = drafted[1] if drafted else (0, 0, *image.size)
    shape = image.size
    image.load()
    # Only the shapes are trusted, never the orientation tag: Pillow reports a
    # TIFF's size upright on opening and turns its pixels while loading, a
    # JPEG's only in exif_transpose() below, and another version may differ.
    swapped = image.size != shape
    if swapped:
        size, box = size[::-1], (box[1], box[0], box[3], box[2])

    mode = _flat_mode(image.mode)
    scale = _deep_scale(image) if mode in ("I", "F") else None
    factor = int(min((box[2] - box[0]) / size[0], (box[3] - box[1]) / size[1]))
    work = _reduced(image, mode, factor)
    if work is not image:
        image.close()  # frees the full-size decode before resampling
    if factor > 1:
        box = tuple(edge / factor for edge in box)
    web = work.resize(size, Image.Resampling.LANCZOS, box=box)
    if scale is not None:
        web = web.point(lambda value: value * scale).convert("L")

    shape = web.size
    # The orientation comes from EXIF or XMP, whichever the source carries;
    # resize() copied both over in web.info.
    web = ImageOps.exif_transpose(web)
    return web, swapped != (web.size != shape)


def _decode_cost(image):
    """Bytes a pixel that Pillow holds while decoding this file (Pillow 13, as bench/ingest.py measures it).

    Mostly the decoded image: 4 bytes a pixel in most modes, and a baseline
    JPEG decodes at reduced scale. A few kinds of file need more, and get
    fewer pixels for the same memory.
    """
    if image.format == "WEBP":
        return 16  # libwebp's RGBA buffer, a bytes copy of it, and the image made from that
    if isinstance(image, JpegImagePlugin.JpegImageFile):
        if not image.info.get("progressive"):
            return 4
        # libjpeg keeps every DCT coefficient (2 bytes) until the last scan,
        # at full scale even when drafting (the image itself is then small).
        return 2 * _JPEG_SAMPLES.get(JpegImagePlugin.get_sampling(image), len(image.layer))
    if image.format != "TIFF":
        return 4
    tags = image.tag_v2
    cost = 4
    if tags.get(_ORIENTATION, 1) != 1:
        cost += 4  # Pillow turns the decoded image upright into a second one
    if tags.get(_COMPRESSION, 1) != 1:
        # libtiff decodes a whole strip or tile into a buffer of its own:
        # one strip can be the whole image again.
        width, height = image.size
        bits = tags.get(_BITS_PER_SAMPLE, (1,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        pixel_bits = sum(bits) if len(bits) > 1 else bits[0] * tags.get(_SAMPLES_PER_PIXEL, 1)
        rows = min(height, tags.get(_TILE_LENGTH) or tags.get(_ROWS_PER_STRIP) or height)
        columns = tags.get(_TILE_WIDTH) or width
        cost += rows * columns * pixel_bits / 8 / (width * height)
    # To a tenth of a byte: strips of a few rows cost nothing worth refusing a file for.
    return round(cost, 1)


def _render(image, max_pixels):
    """The checks that need no decoding first, then the renditions."""
    width, height = image.size
    if width * height > max_pixels:
        raise ScanRejected("too_many_pixels", width=width, height=height, limit=max_pixels)
    # max_pixels bounds the memory of a plain decode, 4 bytes a pixel.
    cost = _decode_cost(image)
    if width * height * cost > max_pixels * 4:
        raise ScanRejected("too_many_pixels_for_format", width=width, height=height, limit=int(max_pixels * 4 / cost))
    # A phone's MPO (a JPEG with a depth map or a second view) is one page:
    # its first frame is the photo itself.
    pages = 1 if image.format == "MPO" else getattr(image, "n_frames", 1)
    if pages > 1:
        raise ScanRejected("pages", pages=pages)
    web, swapped = _web(image)
    if swapped:
        width, height = height, width
    thumbnail = web.resize(_fit(web.size, THUMBNAIL_LONG_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return Renditions(
        format=image.format,
        width=width,
        height=height,
        web=_jpeg(web, WEB_QUALITY),
        thumbnail=_jpeg(thumbnail, THUMBNAIL_QUALITY),
    )


def render_scan(data, *, max_pixels):
    """Check the image and return its upright, metadata-free web and thumbnail JPEGs."""
    if not data:
        raise ScanRejected("empty")
    try:
        image = Image.open(BytesIO(data), formats=ALLOWED_FORMATS)
    except SoftTimeLimitExceeded:
        raise
    except Exception as error:
        raise _rejection(error, _sniff(data)) from None

    with image:
        try:
            return _render(image, max_pixels)
        # Celery's soft time limit is an Exception raised wherever the task
        # happens to be: it is the task's to handle, not a damaged file.
        except (ScanRejected, SoftTimeLimitExceeded):
            raise
        except Exception as error:
            # Pillow fails on hostile files in every way there is (TypeError
            # from a TIFF page without a width, struct.error, OSError,
            # ValueError...): each of them means a damaged file.
            raise _rejection(error, "damaged") from None
