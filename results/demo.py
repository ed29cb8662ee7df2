"""Demo data: Kalimantan Barat for the 2018 governor election.

The province, its 14 regencies/cities and Kota Pontianak's districts and
villages carry their real Kemendagri codes and names; the other districts and
villages are generated (deterministically, from a seed). The TPS count and the
DPT total match the 2018 plenary: 11,658 TPS, 3,436,127 voters.
"""

import datetime
import random
from decimal import Decimal

from django.db import transaction

from .importers import regions_import, stations_import
from .models import Candidate, Contest, Election, Region

PROVINCE = ("61", "Kalimantan Barat")

# code, name, number of districts (real counts; 174 in all)
REGENCIES = [
    ("61.01", "Kabupaten Sambas", 19),
    ("61.02", "Kabupaten Bengkayang", 17),
    ("61.03", "Kabupaten Landak", 13),
    ("61.04", "Kabupaten Mempawah", 9),
    ("61.05", "Kabupaten Sanggau", 15),
    ("61.06", "Kabupaten Ketapang", 20),
    ("61.07", "Kabupaten Sintang", 14),
    ("61.08", "Kabupaten Kapuas Hulu", 23),
    ("61.09", "Kabupaten Sekadau", 7),
    ("61.10", "Kabupaten Melawi", 11),
    ("61.11", "Kabupaten Kayong Utara", 6),
    ("61.12", "Kabupaten Kubu Raya", 9),
    ("61.71", "Kota Pontianak", 6),
    ("61.72", "Kota Singkawang", 5),
]

# Kota Pontianak: real districts and kelurahan. Codes have gaps (there is no
# 61.71.01.1001), as the official list does.
PONTIANAK = {
    ("61.71.01", "Pontianak Selatan"): [
        ("1002", "Benua Melayu Darat"),
        ("1003", "Benua Melayu Laut"),
        ("1004", "Kota Baru"),
        ("1005", "Akcaya"),
        ("1006", "Parit Tokaya"),
    ],
    ("61.71.02", "Pontianak Timur"): [
        ("1001", "Saigon"),
        ("1002", "Tanjung Hulu"),
        ("1003", "Tanjung Hilir"),
        ("1004", "Parit Mayor"),
        ("1005", "Banjar Serasan"),
        ("1006", "Tambelan Sampit"),
        ("1007", "Dalam Bugis"),
    ],
    ("61.71.03", "Pontianak Barat"): [
        ("1001", "Pal Lima"),
        ("1002", "Sungai Jawi Luar"),
        ("1003", "Sungai Beliung"),
        ("1004", "Sungai Jawi Dalam"),
    ],
    ("61.71.04", "Pontianak Utara"): [
        ("1001", "Siantan Hulu"),
        ("1002", "Siantan Tengah"),
        ("1003", "Siantan Hilir"),
        ("1004", "Batu Layang"),
    ],
    ("61.71.05", "Pontianak Kota"): [
        ("1001", "Darat Sekip"),
        ("1002", "Tengah"),
        ("1003", "Sungai Bangkong"),
        ("1004", "Mariana"),
        ("1005", "Sungai Jawi"),
    ],
    ("61.71.06", "Pontianak Tenggara"): [
        ("1001", "Bansir Laut"),
        ("1002", "Bansir Darat"),
        ("1003", "Bangka Belitung Laut"),
        ("1004", "Bangka Belitung Darat"),
    ],
}

STATIONS_2018 = 11_658
DPT_2018 = 3_436_127

# Pilgub Kalimantan Barat 2018, ballot number, pair, chart colour.
CANDIDATES_2018 = [
    (1, "Milton Crosby", "Boyman Harun", "#2b7bb9"),
    (2, "Karolin Margret Natasa", "Suryadman Gidot", "#d62728"),
    (3, "Sutarmidji", "Ria Norsan", "#2ca02c"),
]

_PREFIXES = [
    "Sungai",
    "Teluk",
    "Tanjung",
    "Nanga",
    "Sei",
    "Pasir",
    "Batu",
    "Bukit",
    "Parit",
    "Kuala",
    "Semanga",
    "Senaning",
]
_ROOTS = [
    "Ambawang",
    "Pinyuh",
    "Raya",
    "Kakap",
    "Durian",
    "Keramat",
    "Jaya",
    "Baru",
    "Limau",
    "Rasau",
    "Kelapa",
    "Pelang",
    "Sepuk",
    "Ayak",
    "Kuning",
    "Tebas",
    "Selimbau",
    "Embaloh",
    "Semitau",
    "Pemangkat",
]


def _name(rng):
    return f"{rng.choice(_PREFIXES)} {rng.choice(_ROOTS)}"


def _spread(total, weights, rng, low, high):
    """Whole numbers proportional to `weights`, within [low, high], adding up to `total`."""
    scale = total / sum(weights)
    values = [max(low, min(high, int(weight * scale))) for weight in weights]
    while (gap := total - sum(values)) != 0:
        index = rng.randrange(len(values))
        step = 1 if gap > 0 else -1
        if low <= values[index] + step <= high:
            values[index] += step
    return values


def region_rows(rng):
    rows = [PROVINCE]
    villages = []  # (code, is_city)
    for code, name, district_count in REGENCIES:
        rows.append((code, name))
        if code == "61.71":
            for (district_code, district_name), kelurahan in PONTIANAK.items():
                rows.append((district_code, district_name))
                for number, village_name in kelurahan:
                    rows.append((f"{district_code}.{number}", village_name))
                    villages.append((f"{district_code}.{number}", True))
            continue
        is_city = int(code[-2:]) >= 71
        for district in range(1, district_count + 1):
            district_code = f"{code}.{district:02d}"
            rows.append((district_code, f"{_name(rng)} {district:02d}"))
            number = 1000 if is_city else 2000
            for _village in range(rng.randint(8, 17)):
                number += rng.choice((1, 1, 1, 2))  # the official list has gaps too
                rows.append((f"{district_code}.{number}", _name(rng)))
                villages.append((f"{district_code}.{number}", is_city))
    return rows, villages


def station_rows(rng, villages):
    weights = [rng.uniform(4, 6) if is_city else rng.uniform(0.5, 1.5) for _code, is_city in villages]
    counts = _spread(STATIONS_2018, weights, rng, 1, 60)
    stations = [(code, number) for (code, _is_city), count in zip(villages, counts) for number in range(1, count + 1)]
    dpt = _spread(DPT_2018, [rng.uniform(0.6, 1.4) for _station in stations], rng, 50, 800)
    return [(code, number, voters) for (code, number), voters in zip(stations, dpt)]


def _numbered(rows):
    return ((line, [str(cell) for cell in row]) for line, row in enumerate(rows, start=2))


def demo_seed(*, seed=2018, progress=None):
    """Load the demo. Idempotent: a second run finds everything in place."""
    rng = random.Random(seed)
    regions, villages = region_rows(rng)
    stations = station_rows(rng, villages)
    with transaction.atomic():
        region_summary = regions_import(_numbered(regions), progress=progress)
        station_summary = stations_import(_numbered(stations), progress=progress)
        election, _created = Election.objects.update_or_create(
            slug="pilkada-2018",
            defaults={
                "name": "Pilkada Serentak 2018",
                "kind": Election.Kind.PILKADA,
                "date": datetime.date(2018, 6, 27),
                "max_voters_per_station": 800,
            },
        )
        contest, _created = Contest.objects.update_or_create(
            election=election,
            office=Contest.Office.GOVERNOR,
            region=Region.objects.get(code=PROVINCE[0]),
            defaults={
                "name": "Gubernur Kalimantan Barat 2018",
                "scope": Contest.Scope.REGIONAL,
                "reserve_share": Decimal("2.5"),
            },
        )
        for ballot_number, name, running_mate, colour in CANDIDATES_2018:
            Candidate.objects.update_or_create(
                contest=contest,
                ballot_number=ballot_number,
                defaults={"name": name, "running_mate": running_mate, "colour": colour},
            )
    return region_summary, station_summary, contest
