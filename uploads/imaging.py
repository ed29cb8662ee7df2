"""Turn the bytes of an uploaded C1 scan into its public renditions.

Pure: bytes in, bytes out, no storage and no database, so the bench and the
tests run exactly what the worker runs. Every way a file can be bad ends in
ScanRejected with a reason the officer can act on; nothing here may crash a
worker on hostile input.
"""

import hashlib
import math
import struct
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
FULL_QUALITY = 85
# libjpeg writes no side longer than this; a (silly) longer one is reduced to fit.
JPEG_MAX_SIDE = 65500

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
# The scales libjpeg decodes at: 1/1, 1/2, 1/4 and 1/8 of each side.
_DRAFT_SCALES = (1, 2, 4, 8)


class ScanRejected(Refusal):
    """The file is not a usable scan; `reason` (a code and its parameters) tells the officer why."""


@dataclass(frozen=True)
class Renditions:
    """The renditions of a scan, and the source's format and upright size in pixels.

    `width` and `height` are the source's, whatever the renditions' sizes:
    `full` is the largest the memory budget allows, full size for every
    usual scan (see _full_scale()).
    """

    format: str
    width: int
    height: int
    web: bytes
    thumbnail: bytes
    full: bytes


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


def _jpeg(image, quality, progressive=True):
    """The image as a JPEG with nothing in it but pixels (and the JFIF header).

    Empties image.info first: Pillow's JPEG writer falls back to the
    source's info["comment"] (a JPEG COM, or a PNG "comment" text chunk),
    so an HTML/JS polyglot comment would reach the public rendition. No
    exif=, icc_profile= or xmp= argument either (officers' phones write
    GPS positions into photos).
    """
    image.info = {}
    out = BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=False, progressive=progressive)
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
    """The upright web rendition, whether its sides are swapped against image.size as opened,
    and the scale the image was decoded at (2 for half of each side; 1 but for a drafted JPEG).

    Memory, for a worker that must survive any file within the limits: a
    JPEG is decoded at reduced scale, other formats whole, and beside the
    decoded image nothing larger than a band of it is ever held. Closes
    `image` once it is no longer needed.
    """
    size = _fit(image.size, WEB_LONG_SIDE)
    # JPEG only: libjpeg decodes at 1/2, 1/4 or 1/8 scale, no smaller than
    # the web rendition (a target any larger asks for more pixels than a
    # 300 dpi scan has). `box` is the whole picture in decoded pixels.
    shape = image.size
    drafted = image.draft(None, size)
    box = drafted[1] if drafted else (0, 0, *image.size)
    decoded_at = round(shape[0] / box[2])
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
    return web, swapped != (web.size != shape), decoded_at


# Where the upright image's point (u, v) lies in the image as decoded (width w,
# height h), for the transpose that turns it upright: band by band, each band
# is cut from there and turned on its own.
_SOURCE_POINT = {
    None: lambda u, v, w, h: (u, v),
    Image.Transpose.FLIP_LEFT_RIGHT: lambda u, v, w, h: (w - u, v),
    Image.Transpose.FLIP_TOP_BOTTOM: lambda u, v, w, h: (u, h - v),
    Image.Transpose.ROTATE_180: lambda u, v, w, h: (w - u, h - v),
    Image.Transpose.ROTATE_90: lambda u, v, w, h: (w - v, u),
    Image.Transpose.ROTATE_270: lambda u, v, w, h: (v, h - u),
    Image.Transpose.TRANSPOSE: lambda u, v, w, h: (v, u),
    Image.Transpose.TRANSVERSE: lambda u, v, w, h: (w - v, h - u),
}
_SIDEWAYS = {
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_270,
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
}
_SOF0, _SOS, _EOI, _RST0 = 0xC0, 0xDA, b"\xff\xd9", 0xD0
_MAX_RESTART_INTERVAL = 0xFFFF


def _upright_transpose(info):
    """The transpose ImageOps.exif_transpose() makes of an image carrying `info`, None for none.

    Asked of exif_transpose() itself, on a probe of six distinct pixels, so
    that the full-size rendition turns exactly as the web one (EXIF or XMP,
    whatever this Pillow reads).
    """
    probe = Image.new("L", (2, 3))
    probe.putdata(range(6))
    probe.info = dict(info)
    upright = ImageOps.exif_transpose(probe)
    for method in _SOURCE_POINT:
        turned = probe if method is None else probe.transpose(method)
        if (turned.size, turned.tobytes()) == (upright.size, upright.tobytes()):
            return method
    raise ValueError("exif_transpose() made something other than a transpose")


def _flattened(band, mode, scale):
    """A band in the mode of the renditions: as _web() converts, deep greyscale scaled to 8 bits."""
    if band.mode != mode:
        band = band.convert(mode)
    if scale is not None:
        band = band.point(lambda value: value * scale).convert("L")
    return band


def _segments(data):
    """(marker, start, end) of each segment of a JPEG before its entropy-coded data, SOS last."""
    position = 2  # after SOI
    while True:
        marker = data[position + 1]
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        yield marker, position, position + 2 + length
        if marker == _SOS:
            return
        position += 2 + length


def _band_rows(width):
    """Rows of the upright image encoded at a time: a whole number of MCUs of any sampling (16 rows),
    few enough that one band stays within a restart interval (at most 65535 MCUs, 8 x 8 at the smallest)."""
    blocks_per_row = -(-width // 8)
    return 16 * max(1, min(_BAND_ROWS // 16, _MAX_RESTART_INTERVAL // (2 * blocks_per_row)))


def _restart_interval(header, width, rows):
    """MCUs in a band of `rows` rows, read from the sampling factors in the SOF0 segment of `header`."""
    start = next(start for marker, start, _end in _segments(header) if marker == _SOF0)
    components = header[start + 9]
    factors = header[start + 11 : start + 11 + 3 * components : 3]
    # One component is coded alone, 8 x 8 blocks whatever its factors; several, interleaved.
    mcu_width = 8 * (max(factor >> 4 for factor in factors) if components > 1 else 1)
    mcu_height = 8 * (max(factor & 15 for factor in factors) if components > 1 else 1)
    return -(-width // mcu_width) * (rows // mcu_height)


def _full_jpeg(image, mode, scale, method):
    """The upright image as one baseline JPEG, encoded a band of rows at a time.

    Whole, the upright 8-bit image would be a second full-size copy beside
    the decoded one (RGBA to RGB, or any turned image): twice a plain
    decode's memory. Instead each band is cut from the decoded image,
    converted, turned and encoded alone, and the bands are joined into one
    JPEG: a band ends where a restart interval of the whole would (libjpeg
    resets the DC predictions at both, pads both with 1 bits, and its
    tables depend only on quality and sampling), so the entropy-coded data
    of the bands, RSTn markers between them, decodes to the very pixels of
    the image encoded at once. Nothing passes from the source but pixels:
    every band goes through _jpeg().
    """
    up_width, up_height = image.size[::-1] if method in _SIDEWAYS else image.size
    rows = _band_rows(up_width)
    to_source = _SOURCE_POINT[method]
    # Written as the bands come: a list of them joined at the end would hold the JPEG twice.
    out, header = BytesIO(), None
    for index, top in enumerate(range(0, up_height, rows)):
        bottom = min(top + rows, up_height)
        corners = [to_source(u, v, *image.size) for u, v in ((0, top), (up_width, bottom))]
        xs, ys = sorted(x for x, _y in corners), sorted(y for _x, y in corners)
        band = _flattened(image.crop((xs[0], ys[0], xs[1], ys[1])), mode, scale)
        if method is not None:
            band = band.transpose(method)
        encoded = _jpeg(band, FULL_QUALITY, progressive=False)
        band.close()
        if bottom == up_height and top == 0:
            return encoded  # one band: the JPEG as it is
        sos_start, sos_end = next((start, end) for marker, start, end in _segments(encoded) if marker == _SOS)
        if not encoded.endswith(_EOI):
            raise ValueError("libjpeg wrote something after the entropy-coded data")
        if header is None:
            header = _without_height(encoded[:sos_end])
            head = bytearray(encoded[:sos_start])
            sof_start = next(start for marker, start, _end in _segments(encoded) if marker == _SOF0)
            head[sof_start + 5 : sof_start + 7] = struct.pack(">H", up_height)
            out.write(head)
            out.write(b"\xff\xdd" + struct.pack(">HH", 4, _restart_interval(encoded, up_width, rows)))  # DRI
            out.write(encoded[sos_start:sos_end])
        elif _without_height(encoded[:sos_end]) != header:
            raise ValueError("the bands of the full-size rendition were encoded with different tables")
        else:
            out.write(bytes((0xFF, _RST0 + (index - 1) % 8)))
        out.write(memoryview(encoded)[sos_end:-2])
    out.write(_EOI)
    return out.getvalue()


def _without_height(header):
    """The header of a band with the height in its SOF0 segment zeroed, to compare it with another band's."""
    start = next(start for marker, start, _end in _segments(header) if marker == _SOF0)
    return header[: start + 5] + b"\0\0" + header[start + 7 :]


def _full_scale(image, max_pixels, web_scale):
    """The scale to decode `image` at for the `full` rendition: 1 (full size) unless that costs too much.

    The budget is a plain decode of max_pixels, 4 bytes a pixel. Decoding
    a file whole costs what _decode_cost() prices it at, which acceptance
    keeps within the budget, but for a progressive JPEG: priced at its DCT
    coefficients only (2 bytes a sample, held at full scale whatever the
    scale; the web rendition decodes it at reduced scale), decoded whole it
    holds the image beside them (4 bytes a pixel, 1 in L). Such a JPEG is
    decoded at the largest of libjpeg's scales whose image fits in the
    budget beside its coefficients: one of 4:2:0 at the pixel limit at 1/2
    of each side, one of 4:4:4 at half its own limit whole.

    Never at a smaller scale than the web rendition was decoded at
    (`web_scale`): at its own limit a progressive JPEG's coefficients alone
    fill the budget, so no scale fits, and that decode, which acceptance
    already takes, is the most the file is allowed. The `full` rendition is
    then still the larger of the two.
    """
    if not (isinstance(image, JpegImagePlugin.JpegImageFile) and image.info.get("progressive")):
        return 1
    width, height = image.size
    coefficients = width * height * _decode_cost(image)
    pixel = 1 if image.mode == "L" else 4
    for scale in _DRAFT_SCALES:
        if scale >= web_scale:
            break
        if coefficients + -(-width // scale) * -(-height // scale) * pixel <= max_pixels * 4:
            return scale
    return web_scale


def _full(data, max_pixels, web_scale):
    """The upright, metadata-free `full` rendition: the largest the budget allows, full size for every usual scan.

    From a fresh decode, at full scale but for a progressive JPEG too large
    to decode whole within the budget, which is decoded at 1/2, 1/4 or 1/8
    of each side (_full_scale()). Memory: the decoded image (and for a
    progressive JPEG its coefficients while decoding) and, beside it, a
    band of it at a time. A side longer than JPEG allows (a strip of a few
    hundred rows at most, within max_pixels) is first reduced to fit.
    """
    with Image.open(BytesIO(data), formats=ALLOWED_FORMATS) as image:
        scale = _full_scale(image, max_pixels, web_scale)
        if scale > 1:
            # draft() takes the largest reduction that keeps at least the size asked for.
            image.draft(None, (image.width // scale, image.height // scale))
        image.load()
        method = _upright_transpose(image.info)
        mode = _flat_mode(image.mode)
        scale = _deep_scale(image) if mode in ("I", "F") else None
        work = image
        factor = math.ceil(max(image.size) / JPEG_MAX_SIDE)
        if factor > 1:
            work = _reduced(image, mode, factor)
            image.close()
        try:
            return _full_jpeg(work, mode, scale, method)
        finally:
            work.close()


def _decode_cost(image):
    """Bytes a pixel that Pillow holds while decoding this file (Pillow 13, as bench/ingest.py measures it).

    Mostly the decoded image: 4 bytes a pixel in most modes (a baseline JPEG
    at most: it is decoded at reduced scale for the web rendition, whole for
    the `full` one). A few kinds of file need more, and get fewer pixels for
    the same memory.
    """
    if image.format == "WEBP":
        return 16  # libwebp's RGBA buffer, a bytes copy of it, and the image made from that
    if isinstance(image, JpegImagePlugin.JpegImageFile):
        if not image.info.get("progressive"):
            return 4
        # libjpeg keeps every DCT coefficient (2 bytes) until the last scan,
        # at full scale even when drafting. The image itself comes on top:
        # small when drafted, which is why _full_scale() may draft it too.
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
    """The checks that need no decoding first, then the web rendition and the thumbnail."""
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
    image_format = image.format
    web, swapped, web_scale = _web(image)
    if swapped:
        width, height = height, width
    thumbnail = web.resize(_fit(web.size, THUMBNAIL_LONG_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return image_format, width, height, _jpeg(web, WEB_QUALITY), _jpeg(thumbnail, THUMBNAIL_QUALITY), web_scale


def _untrusted(work, *args):
    """work(*args), whatever Pillow raises on the untrusted file turned into a rejection."""
    try:
        return work(*args)
    # Celery's soft time limit is an Exception raised wherever the task
    # happens to be: it is the task's to handle, not a damaged file.
    except (ScanRejected, SoftTimeLimitExceeded):
        raise
    except Exception as error:
        # Pillow fails on hostile files in every way there is (TypeError
        # from a TIFF page without a width, struct.error, OSError,
        # ValueError...): each of them means a damaged file.
        raise _rejection(error, "damaged") from None


def render_scan(data, *, max_pixels):
    """Check the image and return its upright, metadata-free web, thumbnail and `full` JPEGs.

    `full` is the largest the memory budget allows: full size for every
    usual scan, smaller only for a progressive JPEG near its pixel limit
    (_full_scale()). The Renditions' width and height are the source's.
    """
    if not data:
        raise ScanRejected("empty")
    try:
        image = Image.open(BytesIO(data), formats=ALLOWED_FORMATS)
    except SoftTimeLimitExceeded:
        raise
    except Exception as error:
        raise _rejection(error, _sniff(data)) from None

    with image:
        image_format, width, height, web, thumbnail, web_scale = _untrusted(_render, image, max_pixels)
    # The `full` rendition from a fresh decode, at full scale this time when
    # the budget allows (a JPEG was drafted for the web one), once nothing of
    # the first is held: closing is not enough for a WebP, whose decoder
    # keeps its own canvas until the image object goes.
    del image
    full = _untrusted(_full, data, max_pixels, web_scale)
    return Renditions(format=image_format, width=width, height=height, web=web, thumbnail=thumbnail, full=full)
