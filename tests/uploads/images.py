"""Scan files made on the spot: good ones, rotated ones, and the bad kinds officers send."""

import struct
import zlib
from io import BytesIO

from PIL import ExifTags, Image

ORIENTATION = 0x0112


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


HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
TEXT = b"Ini bukan gambar. Hasil TPS 001: 1 = 40, 2 = 70, 3 = 80.\n"
