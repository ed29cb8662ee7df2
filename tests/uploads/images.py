"""Scan files made on the spot: good ones, rotated ones, and the bad kinds officers send."""

import struct
import zlib
from io import BytesIO

from PIL import ExifTags, Image, ImageCms, PngImagePlugin

ORIENTATION = 0x0112
# How an upright image is stored under each EXIF orientation: the inverse of
# the transpose ImageOps.exif_transpose() applies to turn it upright again.
STORED_BY = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
# HTML and JavaScript in a comment: harmless in a JPEG, a script if the rendition is ever served as HTML.
POLYGLOT = b"<script>alert(document.cookie)</script>"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Officer phone"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def jpeg(width=400, height=566, color=(240, 240, 235), exif=None, quality=85):
    image = Image.new("RGB", (width, height), color)
    out = BytesIO()
    image.save(out, "JPEG", quality=quality, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def photo_with_gps_rotated(orientation=6):
    """A 200 x 100 photo, red on the left and blue on the right, stored sideways with a GPS position."""
    image = Image.new("RGB", (200, 100), (255, 0, 0))
    image.paste((0, 0, 255), (100, 0, 200, 100))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[ExifTags.Base.Make] = "Officer phone"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (0.0, 2.0, 30.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (109.0, 20.0, 15.0),
    }
    out = BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()


def encoded(fmt, size=(300, 420), mode="RGB", **options):
    out = BytesIO()
    Image.new(mode, size, 200 if mode == "L" else (200, 210, 220)).save(out, fmt, **options)
    return out.getvalue()


def truncated_jpeg():
    data = jpeg(800, 1100, color=(10, 120, 200))
    noisy = Image.effect_noise((800, 1100), 64).convert("RGB")
    out = BytesIO()
    noisy.save(out, "JPEG", quality=90)
    data = out.getvalue()
    return data[: len(data) // 2]


def multipage_tiff(pages=3):
    frames = [Image.new("L", (200, 280), shade) for shade in (50, 120, 200)[:pages]]
    out = BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def _png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_declaring(width, height):
    """A tiny PNG whose header claims a huge canvas: a decompression bomb."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _tiff(pages):
    """A little-endian TIFF written by hand: one IFD per page, each a list of (tag, value) SHORT/LONG entries.

    The value "STRIP" stands for the offset of that page's pixels, appended after the IFDs.
    """
    header = 8
    sizes = [2 + 12 * len(entries) + 4 for entries, _pixels in pages]
    ifd_offsets = [header + sum(sizes[:index]) for index in range(len(pages))]
    strip_offset = header + sum(sizes)
    out = b"II*\x00" + struct.pack("<I", ifd_offsets[0])
    strips = b""
    for index, (entries, pixels) in enumerate(pages):
        out += struct.pack("<H", len(entries))
        for tag, value in entries:
            value = strip_offset + len(strips) if value == "STRIP" else value
            out += struct.pack("<HHII", tag, 4, 1, value)  # LONG, count 1
        out += struct.pack("<I", ifd_offsets[index + 1] if index + 1 < len(pages) else 0)
        strips += pixels
    return out + strips


def tiff_page_without_width():
    """Two greyscale pages, the second without its ImageWidth tag: Pillow fails on it only when counting pages."""
    width, height = 16, 12
    page = [(257, height), (258, 8), (259, 1), (262, 1), (273, "STRIP"), (277, 1), (278, height), (279, width * height)]
    return _tiff([([(256, width), *page], b"\x80" * width * height), (page, b"\x40" * width * height)])


def with_metadata(fmt, *, comment=None, png_text=None, png_itxt=None, icc=False, exif=False, xmp=False):
    """A 300 x 420 image carrying the metadata asked for, each in the place its format keeps it."""
    image = Image.new("RGB", (300, 420), (200, 210, 220))
    options = {}
    if comment is not None:
        options["comment"] = comment
    if icc:
        options["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    if exif:
        tags = Image.Exif()
        tags[ExifTags.Base.Make] = "Officer phone"
        tags[ExifTags.Base.ImageDescription] = POLYGLOT.decode()
        options["exif"] = tags
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        if png_text is not None:
            info.add_text("comment", png_text)
        if png_itxt is not None:
            info.add_itxt("comment", png_itxt)
        if xmp:
            info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        options["pnginfo"] = info
    elif fmt == "TIFF" and xmp:
        options["tiffinfo"] = {700: XMP}  # the XMP tag
    elif xmp:
        options["xmp"] = XMP
    out = BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def grey16(size, value=None, fmt="PNG", mode="I;16"):
    """A 16-bit greyscale image: one value, or without one a gradient from black at the top to white at the bottom."""
    if value is None:
        image = Image.linear_gradient("L").resize(size).convert("I").point(lambda level: level * 257)
    else:
        image = Image.new("I", size, value)
    out = BytesIO()
    image.convert(mode).save(out, fmt)
    return out.getvalue()


def grey_deep(mode, value, size=(300, 420)):
    """A TIFF of 32-bit integer ("I") or floating point ("F") greyscale, one value everywhere."""
    out = BytesIO()
    Image.new(mode, size, value).save(out, "TIFF")
    return out.getvalue()


def upright_pattern(size):
    """Blue, with a red quarter in the top left corner: each of the eight orientations puts it somewhere else."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1] // 2))
    return image


def stored_with_orientation(fmt, orientation, size=(2000, 1200)):
    """upright_pattern(size) stored as a camera or scanner would with this EXIF orientation."""
    image = upright_pattern(size)
    if STORED_BY[orientation] is not None:
        image = image.transpose(STORED_BY[orientation])
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    out = BytesIO()
    if fmt == "TIFF":
        image.save(out, fmt, tiffinfo={ORIENTATION: orientation})
    else:
        image.save(out, fmt, exif=exif, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue()


def png_rgba_flat(width, height, color=(245, 245, 240, 255)):
    """An RGBA PNG of almost one colour (a darker line every 64 rows): tiny on disk, width x height x 4 bytes decoded.

    Compressed row by row, so making a large one takes little memory here.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    plain = b"\x00" + bytes(color) * width
    line = b"\x00" + bytes((40, 40, 45, 255)) * width
    packer = zlib.compressobj(6)
    idat = b"".join(packer.compress(line if row % 64 == 0 else plain) for row in range(height)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
TEXT = b"Ini bukan gambar. Hasil TPS 001: 1 = 40, 2 = 70, 3 = 80.\n"
