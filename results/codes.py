"""Kemendagri region codes and TPS codes.

The dotted code is the natural key everywhere (`61.71.06.1001`); KPU writes the
same digits without dots (`6171061001`, 13 digits for a TPS). Every import and
URL goes through `normalize_region_code` / `normalize_station_code`, so both
spellings are accepted and the dotted one is what gets stored and shown.
"""

import re

from django.utils.translation import gettext_lazy as _

PROVINCE, REGENCY, DISTRICT, VILLAGE = 1, 2, 3, 4

# Segment widths per level: province 2, regency/city 2, district 2, village 4.
_SEGMENT_WIDTHS = (2, 2, 2, 4)
_UNDOTTED_LENGTHS = {2: PROVINCE, 4: REGENCY, 6: DISTRICT, 10: VILLAGE}
_STATION_UNDOTTED_LENGTH = 13
_DOTTED = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


class CodeError(ValueError):
    """A code that is not a Kemendagri region code or a TPS code."""


def _split_undotted(digits):
    parts, start = [], 0
    for width in _SEGMENT_WIDTHS:
        if start >= len(digits):
            break
        parts.append(digits[start : start + width])
        start += width
    return ".".join(parts)


def normalize_region_code(raw):
    """Return the dotted code for either spelling, or raise CodeError."""
    code = (raw or "").strip()
    if not code:
        raise CodeError(_("empty region code"))
    if code.isdigit():
        if len(code) not in _UNDOTTED_LENGTHS:
            raise CodeError(_("“%(code)s” is not a region code: expected 2, 4, 6 or 10 digits") % {"code": code})
        code = _split_undotted(code)
    elif not _DOTTED.match(code):
        raise CodeError(
            _("“%(code)s” is not a region code such as 61, 61.71, 61.71.06 or 61.71.06.1001") % {"code": code}
        )
    segments = code.split(".")
    if any(int(segment) == 0 for segment in segments):
        raise CodeError(_("“%(code)s” has a zero segment") % {"code": code})
    if len(segments) == VILLAGE and segments[3][0] not in "12":
        raise CodeError(_("“%(code)s”: a village number starts with 1 (kelurahan) or 2 (desa)") % {"code": code})
    return code


def region_level(code):
    """Level of a dotted code, from its shape: 1 province ... 4 village."""
    return code.count(".") + 1


def parent_code(code):
    """The dotted code one level up, or None for a province."""
    head, dot, _tail = code.rpartition(".")
    return head if dot else None


def ancestor_codes(code):
    """Codes of every ancestor, province first: the code's prefixes."""
    segments = code.split(".")
    return [".".join(segments[:depth]) for depth in range(1, len(segments))]


def station_code(village_code, number):
    return f"{village_code}.{number:03d}"


def normalize_station_code(raw):
    """Return `<village code>.<3-digit number>` for either spelling, or raise CodeError."""
    code = (raw or "").strip()
    if code.isdigit() and len(code) == _STATION_UNDOTTED_LENGTH:
        village, number = code[:10], code[10:]
    else:
        village, dot, number = code.rpartition(".")
        if not dot or not re.fullmatch(r"\d{3}", number):
            raise CodeError(
                _("“%(code)s” is not a TPS code such as 61.71.06.1001.001 or 6171061001001") % {"code": code}
            )
    village = normalize_region_code(village)
    if region_level(village) != VILLAGE:
        raise CodeError(_("“%(code)s”: a TPS belongs to a village") % {"code": code})
    if int(number) == 0:
        raise CodeError(_("“%(code)s”: TPS numbers start at 001") % {"code": code})
    return station_code(village, int(number))


# Indonesia's three time zones by province code. Voters abroad (99) and the
# whole country are shown in WIB, as KPU does.
_WITA_PROVINCES = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT_PROVINCES = {"81", "82", "91", "92", "93", "94", "95", "96", "97"}


def time_zone(code):
    """(zoneinfo name, abbreviation) of the region a code lies in: WIB, WITA or WIT."""
    province = (code or "")[:2]
    if province in _WITA_PROVINCES:
        return "Asia/Makassar", "WITA"
    if province in _WIT_PROVINCES:
        return "Asia/Jayapura", "WIT"
    return "Asia/Jakarta", "WIB"
