"""Generated C1 scans for the demo: a page that looks like a C1-KWK Plano with its numbers written in.

Pure: plain values in, JPEG bytes out, the same bytes for the same values
(the pen's wobble follows the TPS code), so a second seed finds the scan it
stored already. The labels are the paper form's, in Indonesian; they are
part of the picture, not of the interface, and are not translated.
"""

import io
import random
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

# An A4 page at about 110 dpi: big enough to read, small enough to ingest fast.
WIDTH, HEIGHT = 900, 1270
MARGIN = 48
PAPER = (248, 247, 240)
PRINT = (35, 35, 35)
RULE = (120, 120, 120)
INK = (25, 45, 140)  # a ballpoint pen
JPEG_QUALITY = 70

# How the form names the voter lists of a Pilkada and of a general election.
LIST_LABELS = {
    "dpt": "DPT",
    "dpph": "DPPh (pindahan)",
    "dptb": "DPTb (KTP-el)",
    "dpk": "DPK",
}


@dataclass(frozen=True)
class ScanPlace:
    """Where the form was filled in, as its header names it."""

    station_code: str
    station_number: int
    village: str
    district: str
    regency: str


@lru_cache(maxsize=8)
def _font(size):
    # Pillow's own font (FreeType): the same glyphs on every machine, nothing to install.
    return ImageFont.load_default(size=size)


def _grouped(value):
    """1.234 as the form's writers group thousands."""
    return f"{value:,}".replace(",", ".")


class _Page:
    def __init__(self, seed):
        self.image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
        self.draw = ImageDraw.Draw(self.image)
        self.rng = random.Random(seed)
        self.y = MARGIN

    def text(self, x, text, size=15, fill=PRINT, anchor="la", y=None):
        self.draw.text((x, self.y if y is None else y), text, font=_font(size), fill=fill, anchor=anchor)

    def centred(self, text, size=15, gap=6):
        self.text(WIDTH // 2, text, size=size, anchor="ma")
        self.y += size + gap

    def rule(self, y=None, x0=MARGIN, x1=WIDTH - MARGIN, width=1):
        y = self.y if y is None else y
        self.draw.line((x0, y, x1, y), fill=RULE, width=width)

    def written(self, x, y, value):
        """A number written by hand into its box, right-aligned, never quite on the line."""
        dx, dy = self.rng.randint(-6, 2), self.rng.randint(-3, 2)
        self.draw.text((x + dx, y + dy), _grouped(value), font=_font(20), fill=INK, anchor="rm")

    def heading(self, text):
        self.y += 10
        self.text(MARGIN, text, size=15)
        self.y += 22

    def table_row(self, label, values, columns, height=26):
        """A label and boxes for numbers (None: an empty box) at the x of each column's right edge."""
        middle = self.y + height // 2
        self.text(MARGIN + 8, label, size=13, anchor="lm", y=middle)
        for right, value in zip(columns, values):
            self.draw.rectangle((right - 100, self.y + 2, right, self.y + height - 2), outline=RULE)
            if value is not None:
                self.written(right - 8, middle, value)
        self.y += height


def c1_scan_jpeg(*, contest_name, place, candidates, numbers):
    """The C1 form of `place` with `numbers` (C1Numbers) written in, as JPEG bytes.

    `candidates` are (ballot number, name, running mate) in ballot order.
    """
    page = _Page(seed=place.station_code)
    page.draw.rectangle((18, 18, WIDTH - 18, HEIGHT - 18), outline=PRINT, width=2)
    page.text(WIDTH - MARGIN, "C1-KWK Plano / C.Hasil", size=22, anchor="ra")
    page.y += 38
    page.centred("SERTIFIKAT HASIL PENGHITUNGAN SUARA DI TEMPAT PEMUNGUTAN SUARA", size=16)
    page.centred(f"PEMILIHAN {contest_name.upper()}", size=16, gap=14)

    page.rule(width=2)
    page.y += 8
    for label, value in (
        ("TPS", f"{place.station_number:03d}"),
        ("Kelurahan/Desa", place.village),
        ("Kecamatan", place.district),
        ("Kabupaten/Kota", place.regency),
        ("Kode TPS", place.station_code),
    ):
        page.text(MARGIN + 8, label, size=14)
        page.text(MARGIN + 170, f": {value}", size=14)
        page.y += 21
    page.y += 4
    page.rule(width=2)

    men, women, total = WIDTH - MARGIN - 240, WIDTH - MARGIN - 120, WIDTH - MARGIN
    page.heading("I. DATA PEMILIH DAN PENGGUNA HAK PILIH")
    for x, label in ((men, "LAKI-LAKI"), (women, "PEREMPUAN"), (total, "JUMLAH")):
        page.text(x - 50, label, size=12, anchor="ma")
    page.y += 18
    for title, part in (("A. Pemilih terdaftar", "registered"), ("B. Pengguna hak pilih", "voted")):
        page.text(MARGIN + 8, title, size=13)
        page.y += 20
        for row in numbers.voter_rows:
            split = getattr(row, part)
            label = f"   {LIST_LABELS.get(row.voter_list, row.voter_list.upper())}"
            page.table_row(label, (split.men, split.women, split.total), (men, women, total))
    page.text(MARGIN + 8, "C. Pemilih disabilitas", size=13)
    page.y += 20
    for label, split in (
        ("   terdaftar", numbers.disabled_registered),
        ("   menggunakan hak pilih", numbers.disabled_voted),
    ):
        page.table_row(label, (split.men, split.women, split.total), (men, women, total))

    page.heading("II. DATA PENGGUNAAN SURAT SUARA")
    for label, value in (
        ("1. Surat suara yang diterima (termasuk cadangan)", numbers.ballots_received),
        ("2. Dikembalikan oleh pemilih karena rusak/keliru coblos", numbers.ballots_spoiled),
        ("3. Surat suara yang tidak digunakan", numbers.ballots_unused),
        ("4. Surat suara yang digunakan", numbers.ballots_used),
    ):
        page.table_row(label, (value,), (total,))

    page.heading("III. PEROLEHAN SUARA PASANGAN CALON")
    for ballot_number, name, running_mate in candidates:
        pair = f"{ballot_number}. {name} - {running_mate}" if running_mate else f"{ballot_number}. {name}"
        page.table_row(pair, (numbers.candidate_votes.get(ballot_number),), (total,), height=28)
    for label, value in (
        ("A. Jumlah suara sah", numbers.valid_votes),
        ("B. Jumlah suara tidak sah", numbers.invalid_votes),
        ("C. Jumlah seluruh suara sah dan tidak sah", numbers.total_votes),
    ):
        page.table_row(label, (value,), (total,), height=28)

    page.y = max(page.y + 16, HEIGHT - 150)
    for x, title in ((MARGIN + 120, "KETUA KPPS"), (WIDTH - MARGIN - 120, "SAKSI PASANGAN CALON")):
        page.text(x, title, size=13, anchor="ma")
        points = [(x - 60 + step * 12, page.y + 60 + page.rng.randint(-12, 12)) for step in range(11)]
        page.draw.line(points, fill=INK, width=2)
        page.text(x, "(tanda tangan)", size=11, anchor="ma", y=page.y + 86)

    out = io.BytesIO()
    page.image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
