"""Demo data: Kalimantan Barat for the 2018 governor election, counted part way.

The province, its 14 regencies/cities and Kota Pontianak's districts and
villages carry their real Kemendagri codes and names; the other districts and
villages are generated (deterministically, from a seed). The TPS count and the
DPT total match the 2018 plenary: 11,658 TPS, 3,436,127 voters.

The C1 numbers of every TPS are drawn once, deterministically, so that the
whole province adds up exactly to the 2018 plenary; the demo publishes a
share of them (the count "mid-way"), `complete` publishes the rest. Every
reading goes through the tally services, as an officer's would.
"""

import dataclasses
import datetime
import math
import random
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction

# The uploads app builds on results; only the demo reaches back, to file its scans.
from uploads.models import Scan
from uploads.services import scan_store
from uploads.storage import raw_put

from . import codes, digests
from .arithmetic import C1Numbers, Split, VoterRow
from .demo_scans import ScanPlace, c1_scan_jpeg
from .importers import regions_import, stations_import
from .models import Candidate, CandidateVotes, Contest, Election, Region, Tally, TallyRevision, VoterCount
from .services import officer_create, tally_correct, tally_enter, tally_resolve

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

# The 2018 plenary's totals for the province: votes per ballot number, invalid, all votes.
VOTES_2018 = {1: 172_151, 2: 1_081_878, 3: 1_334_512}
INVALID_2018 = 54_933
TOTAL_2018 = 2_643_474  # valid 2,588,541 + invalid 54,933

# How each regency/city leans between pairs 1, 2 and 3: rough weights for a
# believable map, NOT the 2018 results per regency, which the demo does not
# claim. Only the province's totals are the plenary's.
LEANINGS = {
    "61.01": (0.08, 0.12, 0.80),  # Sambas
    "61.02": (0.05, 0.65, 0.30),  # Bengkayang
    "61.03": (0.03, 0.88, 0.09),  # Landak
    "61.04": (0.04, 0.25, 0.71),  # Mempawah
    "61.05": (0.07, 0.58, 0.35),  # Sanggau
    "61.06": (0.08, 0.40, 0.52),  # Ketapang
    "61.07": (0.25, 0.50, 0.25),  # Sintang
    "61.08": (0.12, 0.45, 0.43),  # Kapuas Hulu
    "61.09": (0.06, 0.66, 0.28),  # Sekadau
    "61.10": (0.15, 0.55, 0.30),  # Melawi
    "61.11": (0.05, 0.15, 0.80),  # Kayong Utara
    "61.12": (0.05, 0.30, 0.65),  # Kubu Raya
    "61.71": (0.04, 0.20, 0.76),  # Kota Pontianak
    "61.72": (0.05, 0.40, 0.55),  # Kota Singkawang
}

# Mid-count: the share of each regency/city's TPS whose forms are in, whole
# villages at a time (the rest: DEFAULT_REPORTED). Kota Pontianak, where the
# demo officers work, is counted in full; its SCANNED districts with scans.
REPORTED = {"61.71": 1.0, "61.72": 0.1, "61.12": 0.2, "61.04": 0.15}
DEFAULT_REPORTED = 0.02
SCANNED = ("61.71.06", "61.71.02")
# The first TPS of this district are left for the demo officers to try the
# entry: two forms wait for a second entry, one has entries that disagree,
# two have a scan and no entry yet.
TRY_DISTRICT = "61.71.06"
TRY_ROLES = ("waiting", "waiting", "conflict", "scan", "scan")

# Data-entry accounts for the whole province, without a password: two enter
# every demo form blind, the third settles a disagreement or corrects.
DEMO_OPERATORS = ("demo-operator-1", "demo-operator-2", "demo-operator-3")
# Forms per transaction: an interrupted seed keeps what it did, and SQLite
# is not asked to commit (and sync) once per reading.
CHUNK = 200
# What they write as the reason, as an officer would: in Indonesian.
RESOLVED_REASON = "Angka dibaca ulang dari pindaian formulir C1."
CORRECTED_REASON = "Data demo: dikembalikan ke angka pleno 2018."

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
                "slug": "gubernur-kalbar",
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


def _apportion(total, weights, caps):
    """Whole numbers proportional to `weights`, none above its cap, adding up to `total` exactly.

    Items that would pass their cap get it and the rest is shared again; the
    last units go to the largest remainders (ties: the earlier item).
    """
    if not 0 <= total <= sum(caps):
        raise ValueError(f"cannot share {total} within caps adding up to {sum(caps)}")
    shares = [0] * len(weights)
    free = [index for index, weight in enumerate(weights) if weight > 0 and caps[index] > 0]
    remaining = total
    while remaining and free:
        scale = remaining / sum(weights[index] for index in free)
        full = [index for index in free if weights[index] * scale >= caps[index]]
        if not full:
            exact = {index: weights[index] * scale for index in free}
            for index in free:
                shares[index] = int(exact[index])
            short = remaining - sum(shares[index] for index in free)
            for index in sorted(free, key=lambda index: (shares[index] - exact[index], index))[:short]:
                shares[index] += 1
            return shares
        for index in full:
            shares[index] = caps[index]
            remaining -= caps[index]
        full = set(full)
        free = [index for index in free if index not in full]
    if remaining:
        raise ValueError(f"{remaining} left with no weight to share it")
    return shares


def _form(*, dpt, total, invalid, votes, voter_lists, reserve_share, rng):
    """One TPS's C1 numbers: every rule of the form holds, every voter is on the DPT."""
    registered_men = round(dpt * rng.uniform(0.48, 0.52))
    registered_women = dpt - registered_men
    voted_men = round(total * registered_men / dpt * rng.uniform(0.96, 1.04)) if dpt else 0
    voted_men = max(total - registered_women, min(voted_men, registered_men, total), 0)
    received = dpt + math.ceil(dpt * Decimal(reserve_share) / 100)
    spoiled = min(rng.choice((0, 0, 0, 1, 1, 2, 3)), received - total)
    disabled = rng.choice((0, 0, 1, 1, 2, 3, 4))
    disabled_men = rng.randint(0, disabled)
    disabled_voted = rng.randint(0, disabled)
    disabled_voted_men = rng.randint(
        max(0, disabled_voted - (disabled - disabled_men)), min(disabled_men, disabled_voted)
    )
    empty = Split(0, 0, 0)
    return C1Numbers(
        voter_rows=tuple(
            VoterRow(name, Split(registered_men, registered_women, dpt), Split(voted_men, total - voted_men, total))
            if name == "dpt"
            else VoterRow(name, empty, empty)
            for name in voter_lists
        ),
        disabled_registered=Split(disabled_men, disabled - disabled_men, disabled),
        disabled_voted=Split(disabled_voted_men, disabled_voted - disabled_voted_men, disabled_voted),
        ballots_received=received,
        ballots_spoiled=spoiled,
        ballots_unused=received - total - spoiled,
        ballots_used=total,
        candidate_votes=votes,
        valid_votes=total - invalid,
        invalid_votes=invalid,
        total_votes=total,
    )


def numbers_2018(stations, *, voter_lists, reserve_share, seed=2018):
    """C1 numbers for every TPS of `stations` [(code, DPT)], adding up to the 2018 plenary exactly.

    Votes are shared in proportion to each TPS's DPT, turnout and its
    regency's leaning (LEANINGS), with some noise, and never beyond its DPT.
    Returns {TPS code: C1Numbers}.
    """
    rng = random.Random(seed)
    dpt = [voters for _code, voters in stations]
    regencies = [code[:5] for code, _voters in stations]
    # Fewer of the registered voters turn out in the cities than in the regencies.
    turnout = [
        voters * (0.92 if int(regency[-2:]) >= 71 else 1.0) * rng.uniform(0.9, 1.1)
        for voters, regency in zip(dpt, regencies)
    ]
    totals = _apportion(TOTAL_2018, turnout, dpt)
    invalid = _apportion(INVALID_2018, [total * rng.uniform(0.5, 1.5) for total in totals], totals)
    leanings = [
        [weight * rng.uniform(0.75, 1.25) for weight in LEANINGS.get(regency, (1, 1, 1))] for regency in regencies
    ]
    left = [total - bad for total, bad in zip(totals, invalid)]
    votes = [{} for _station in stations]
    *shared, last = sorted(VOTES_2018)
    for position, number in enumerate(shared):
        # This pair's share of what the pairs after it have not taken yet.
        weights = [room * lean[position] / sum(lean[position:]) for room, lean in zip(left, leanings)]
        for form, got in zip(votes, _apportion(VOTES_2018[number], weights, left)):
            form[number] = got
        left = [room - form[number] for room, form in zip(left, votes)]
    for form, room in zip(votes, left):
        form[last] = room
    return {
        code: _form(
            dpt=voters,
            total=total,
            invalid=bad,
            votes=form,
            voter_lists=voter_lists,
            reserve_share=reserve_share,
            # Each TPS its own generator: its men, women and ballots do not depend on the others.
            rng=random.Random(f"{seed}:{code}"),
        )
        for (code, voters), total, bad, form in zip(stations, totals, invalid, votes)
    }


def demo_plan(station_codes, *, seed=2018):
    """What the mid-count demo holds for each TPS code: {code: (state, scanned)}.

    state is "published", "waiting" (for a second entry), "conflict" or "scan"
    (a scan and no entry yet); the TPS not counted yet are not in it. Whole
    villages report at once, as their PPS bring the forms in.
    """
    rng = random.Random(f"{seed}:reported")
    villages = {}
    for code in sorted(station_codes):
        villages.setdefault(codes.parent_code(code), []).append(code)
    regencies = {}
    for village, stations in villages.items():
        regencies.setdefault(village[:5], []).append(stations)
    plan = {}
    for regency, regency_villages in sorted(regencies.items()):
        wanted = REPORTED.get(regency, DEFAULT_REPORTED) * sum(len(stations) for stations in regency_villages)
        rng.shuffle(regency_villages)
        taken = 0
        for stations in regency_villages:
            if taken >= wanted:
                break
            for code in stations:
                plan[code] = ("published", code.startswith(tuple(f"{district}." for district in SCANNED)))
            taken += len(stations)
    tried = sorted(code for code in plan if code.startswith(f"{TRY_DISTRICT}."))
    for code, role in zip(tried, TRY_ROLES):
        plan[code] = (role, True)
    return plan


@dataclasses.dataclass
class ReadingsSummary:
    """What one seed did to the readings."""

    published: int = 0
    waiting: int = 0
    conflicts: int = 0
    resolved: int = 0
    corrected: int = 0
    scans: int = 0
    unchanged: int = 0


def _typo(numbers):
    """The second entry of the demo's disagreement: an 8 written before the last pair's votes (84 read as 884)."""
    last = max(numbers.candidate_votes)
    votes = {**numbers.candidate_votes, last: int(f"8{numbers.candidate_votes[last]}")}
    return dataclasses.replace(numbers, candidate_votes=votes)


def _published_documents(contest):
    """{tally id: numbers document} of every published form of the contest, in four queries."""
    current = Tally.objects.filter(contest=contest, current_revision__isnull=False)
    revisions = {
        row["pk"]: row
        for row in TallyRevision.objects.filter(pk__in=current.values("current_revision")).values(
            "pk",
            "tally_id",
            *(f"disabled_{part}_{split}" for part in ("registered", "voted") for split in ("men", "women", "total")),
            "ballots_received",
            "ballots_spoiled",
            "ballots_unused",
            "ballots_used",
            "valid_votes",
            "invalid_votes",
            "total_votes",
        )
    }
    rows, votes = {pk: [] for pk in revisions}, {pk: {} for pk in revisions}
    for count in VoterCount.objects.filter(revision_id__in=current.values("current_revision")).order_by("pk"):
        rows[count.revision_id].append(
            VoterRow(
                count.voter_list,
                Split(count.registered_men, count.registered_women, count.registered_total),
                Split(count.voted_men, count.voted_women, count.voted_total),
            )
        )
    for revision_id, number, count in CandidateVotes.objects.filter(
        revision_id__in=current.values("current_revision")
    ).values_list("revision_id", "candidate__ballot_number", "votes"):
        votes[revision_id][number] = count
    documents = {}
    for pk, row in revisions.items():
        numbers = C1Numbers(
            voter_rows=tuple(rows[pk]),
            disabled_registered=Split(
                row["disabled_registered_men"], row["disabled_registered_women"], row["disabled_registered_total"]
            ),
            disabled_voted=Split(row["disabled_voted_men"], row["disabled_voted_women"], row["disabled_voted_total"]),
            candidate_votes=votes[pk],
            **{
                name: row[name]
                for name in (
                    "ballots_received",
                    "ballots_spoiled",
                    "ballots_unused",
                    "ballots_used",
                    "valid_votes",
                    "invalid_votes",
                    "total_votes",
                )
            },
        )
        documents[row["tally_id"]] = digests.numbers_document(numbers)
    return documents


def _form_advance(tally, *, state, numbers, operators, scan_digests, complete, published_document, summary):
    """Take one form to the demo's `state` through the tally services, from wherever it stands.

    Mid-count, a form someone took elsewhere in the admin (their own first
    entry, a resolution) is left as it is. With `complete` the form ends
    published with `numbers` whatever happened to it: a second entry, a
    resolution or a correction, as an officer would make them.
    """
    first, second, third = operators
    read = {"scan_digests": scan_digests}
    pending = tally.pending_entry.entered_by_id if tally.pending_entry else None
    if tally.state == Tally.State.EMPTY:
        if state == "scan":
            summary.unchanged += 1
            return
        tally_enter(tally=tally, numbers=numbers, entered_by=first, **read)
        if state == "waiting":
            summary.waiting += 1
            return
        tally.state, pending = Tally.State.AWAITING_SECOND, first.pk
    if tally.state == Tally.State.AWAITING_SECOND:
        if not complete and pending != first.pk:
            summary.unchanged += 1  # someone's own first entry: theirs to finish
            return
        if not complete and state == "waiting":
            summary.unchanged += 1
            return
        verifier = second if pending != second.pk else first
        entered = numbers if complete or state != "conflict" else _typo(numbers)
        if tally_enter(tally=tally, numbers=entered, entered_by=verifier, **read).published:
            summary.published += 1
            return
        if not complete:
            summary.conflicts += 1
            return
        tally.state, entries = Tally.State.CONFLICT, {pending, verifier.pk}
    elif tally.state == Tally.State.CONFLICT:
        entries = {tally.pending_entry.entered_by_id, tally.conflicting_entry.entered_by_id}
    if tally.state == Tally.State.CONFLICT:
        if not complete:
            summary.unchanged += 1
            return
        resolver = next(operator for operator in operators if operator.pk not in entries)
        tally_resolve(tally=tally, numbers=numbers, resolved_by=resolver, reason=RESOLVED_REASON, **read)
        summary.resolved += 1
        return
    if complete and published_document != digests.numbers_document(numbers):
        tally_correct(tally=tally, numbers=numbers, entered_by=third, reason=CORRECTED_REASON, **read)
        summary.corrected += 1
        return
    summary.unchanged += 1


def _scan_store(*, tally, place, contest_name, candidates, numbers, uploaded_by):
    data = c1_scan_jpeg(contest_name=contest_name, place=place, candidates=candidates, numbers=numbers)
    raw = raw_put(ContentFile(data))
    scan, _created = scan_store(
        raw=raw,
        original_name=f"{place.station_code.replace('.', '')}-1.jpg",
        tally=tally,
        page=1,
        uploaded_by=uploaded_by,
    )
    return scan.sha256


def demo_readings(*, contest, seed=2018, complete=False, progress=None):
    """Scan and enter the demo's C1 forms through the services; with `complete`, publish every TPS.

    Idempotent: a form already where the plan wants it (or taken elsewhere by
    someone in the admin) is left alone, so a second run changes nothing.
    """
    stations = list(contest.stations().order_by("code").values_list("pk", "code", "dpt", "number"))
    numbers = numbers_2018(
        [(code, dpt) for _pk, code, dpt, _number in stations],
        voter_lists=contest.election.voter_lists,
        reserve_share=contest.reserve_share,
        seed=seed,
    )
    plan = demo_plan([code for _pk, code, _dpt, _number in stations], seed=seed)
    targets = [row for row in stations if complete or row[1] in plan]
    operators = [officer_create(username=name, region=contest.region) for name in DEMO_OPERATORS]
    # A form is a row waiting for its readings, not a reading: made in bulk.
    Tally.objects.bulk_create(
        [Tally(contest=contest, station_id=pk) for pk, *_rest in targets], batch_size=2000, ignore_conflicts=True
    )
    tallies = {
        tally.station_id: tally
        for tally in Tally.objects.filter(contest=contest).select_related(
            "station", "pending_entry", "conflicting_entry"
        )
    }
    scanned = {}
    for tally_id, sha256 in Scan.objects.filter(tally__contest=contest).values_list("tally_id", "sha256"):
        scanned.setdefault(tally_id, []).append(sha256)
    published = _published_documents(contest) if complete else {}
    names = dict(Region.objects.subtree(contest.region.code).values_list("code", "name"))
    candidates = list(contest.candidates.order_by("ballot_number").values_list("ballot_number", "name", "running_mate"))
    summary = ReadingsSummary()
    for start in range(0, len(targets), CHUNK):
        with transaction.atomic():
            for pk, code, _dpt, number in targets[start : start + CHUNK]:
                tally = tallies[pk]
                state, wants_scan = plan.get(code, ("published", False))
                if wants_scan and tally.pk not in scanned:
                    village = codes.parent_code(code)
                    district = codes.parent_code(village)
                    place = ScanPlace(code, number, names[village], names[district], names[district[:5]])
                    scanned[tally.pk] = [
                        _scan_store(
                            tally=tally,
                            place=place,
                            contest_name=contest.name,
                            candidates=candidates,
                            numbers=numbers[code],
                            uploaded_by=operators[0],
                        )
                    ]
                    summary.scans += 1
                _form_advance(
                    tally,
                    state="published" if complete else state,
                    numbers=numbers[code],
                    operators=operators,
                    scan_digests=scanned.get(tally.pk, ()),
                    complete=complete,
                    published_document=published.get(tally.pk),
                    summary=summary,
                )
                if progress:
                    progress(1)
    return summary
