"""What the public side reads: contests, region results, a TPS with its readings and scans.

Every page, the API, the downloads and the feed read through here, and here
only published readings are ever read (`Tally.objects.published()`,
`TallyRevision.objects.published()`, the aggregates kept from them), so an
unverified number cannot reach the public by any path.
"""

import dataclasses
import datetime
import functools
import time
from decimal import Decimal

from django.db.models import Count, Max, Q
from django.db.models.functions import Substr
from django.http import Http404

from . import codes
from .models import (
    WHOLE_COUNTRY,
    CandidateResult,
    CandidateVotes,
    Contest,
    PollingStation,
    Region,
    RegionResult,
    Tally,
    TallyRevision,
)


@dataclasses.dataclass(frozen=True)
class PageVersion:
    """What a cached page of one (contest, region) is keyed and validated by."""

    contest_id: int
    area_code: str
    code: str
    version: int
    changed_at: datetime.datetime | None


@dataclasses.dataclass
class Share:
    """A candidate pair's votes in one region and its share of the valid votes, in percent (two decimals)."""

    candidate: object
    votes: int
    percent: Decimal


@dataclasses.dataclass
class Totals:
    stations_total: int = 0
    stations_reported: int = 0
    registered: int = 0
    voters: int = 0
    valid_votes: int = 0
    invalid_votes: int = 0
    total_votes: int = 0
    changed_at: datetime.datetime | None = None
    version: int = 0

    @property
    def progress(self):
        """Share of the TPS reported, in percent (two decimals)."""
        return percent(self.stations_reported, self.stations_total)

    @property
    def turnout(self):
        return percent(self.voters, self.registered)


@dataclasses.dataclass
class Area:
    """One region's line: totals, each pair's share, the leader and the margin over the runner-up."""

    code: str
    name: str
    kind: str
    totals: Totals
    shares: list

    @functools.cached_property
    def leader(self):
        ranked = sorted(self.shares, key=lambda share: (-share.votes, share.candidate.ballot_number))
        return ranked[0] if ranked and ranked[0].votes else None

    @functools.cached_property
    def margin(self):
        """Percentage points between the leader and the runner-up."""
        ranked = sorted((share.percent for share in self.shares), reverse=True)
        return ranked[0] - ranked[1] if len(ranked) > 1 and self.leader else None


@dataclasses.dataclass
class RegionPage:
    contest: Contest
    area: Area
    level: int  # 0 for the whole country, then 1 province ... 4 village
    breadcrumbs: list  # [(code, name)], the contest's area first, this region last
    children: list  # [Area] for the regions below, [StationLine] below a village

    @property
    def code(self):
        return self.area.code


@dataclasses.dataclass
class StationLine:
    code: str
    number: int
    state: str
    state_label: str
    shares: list
    valid_votes: int | None


@dataclasses.dataclass
class StationPage:
    contest: Contest
    station: PollingStation
    breadcrumbs: list
    tally: Tally | None
    current: TallyRevision | None
    shares: list
    failures: list
    revisions: list  # [(revision, changes)], newest first; changes: [(label, old, new)]
    scans: list


def percent(part, whole):
    if not whole:
        return Decimal("0.00")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"))


def shares_of(candidates, votes):
    """Each pair's percent of the votes, two decimals, adding up to exactly 100.00 (largest remainders)."""
    total = sum(votes.get(candidate.pk, 0) for candidate in candidates)
    if not total:
        return [Share(candidate, 0, Decimal("0.00")) for candidate in candidates]
    # In hundredths of a percent: floor each, then hand the rest to the largest remainders.
    exact = [(votes.get(candidate.pk, 0) * 10_000, candidate) for candidate in candidates]
    floors = [value // total for value, _candidate in exact]
    order = sorted(range(len(exact)), key=lambda index: (-(exact[index][0] % total), index))
    for index in order[: 10_000 - sum(floors)]:
        floors[index] += 1
    return [
        Share(candidate, votes.get(candidate.pk, 0), Decimal(hundredths) / 100)
        for (_value, candidate), hundredths in zip(exact, floors)
    ]


def contest_get(*, election_slug, contest_slug):
    try:
        return Contest.objects.select_related("election", "region").get(election__slug=election_slug, slug=contest_slug)
    except Contest.DoesNotExist as missing:
        raise Http404("no such contest") from missing


def contests_public():
    """Every contest with the totals of its whole area, newest election first: the home page."""
    contests = list(Contest.objects.select_related("election", "region").order_by("-election__date", "name"))
    totals = {
        (row.contest_id, row.region_code): row
        for row in RegionResult.objects.filter(contest__in=contests, region_code__in={c.area_code for c in contests})
    }
    return [(contest, _totals(totals.get((contest.pk, contest.area_code)))) for contest in contests]


# A contest's id and area by its slugs, kept in each process: every request asks, and contests
# are set up once. Saving or deleting a contest empties it (results/apps.py); other processes
# notice within a minute.
_CONTEST_AREA_SECONDS = 60
_contest_areas = {}


def contest_area(*, election_slug, contest_slug):
    """(contest id, area code) of a contest, or None; cached in the process for a minute."""
    key = (election_slug, contest_slug)
    now = time.monotonic()
    found = _contest_areas.get(key)
    if found is None or found[0] < now:
        row = (
            Contest.objects.filter(election__slug=election_slug, slug=contest_slug)
            .values_list("pk", "region__code")
            .first()
        )
        if row is None:
            return None  # never kept: a contest made a moment later is found at once
        found = _contest_areas[key] = (now + _CONTEST_AREA_SECONDS, (row[0], row[1] or WHOLE_COUNTRY))
    return found[1]


def contest_areas_forget(**_signal):
    _contest_areas.clear()


def page_version(*, election_slug, contest_slug, code=None):
    """The data version of one (contest, region) page; None if there is no such contest.

    `code` None is the contest's whole area. One indexed one-table query per
    request: the page cache is only worth it if finding the key costs far
    less than a render. Before a contest's first publish its results are
    not built yet: version 0.
    """
    found = contest_area(election_slug=election_slug, contest_slug=contest_slug)
    if found is None:
        return None
    contest_id, area_code = found
    code = area_code if code is None else code
    rows = RegionResult.objects.filter(contest_id=contest_id, region_code=code).values_list("version", "changed_at")
    version, changed_at = next(iter(rows), (0, None))
    return PageVersion(contest_id, area_code, code, version, changed_at)


def _totals(row):
    if row is None:
        return Totals()
    return Totals(
        stations_total=row.stations_total,
        stations_reported=row.stations_reported,
        registered=row.registered,
        voters=row.voters,
        valid_votes=row.valid_votes,
        invalid_votes=row.invalid_votes,
        total_votes=row.total_votes,
        changed_at=row.changed_at,
        version=row.version,
    )


def _stations_counted(contest, area_codes):
    """TPS per region, counted from the stations: only before a contest's results are first built."""
    counts = {}
    stations = contest.stations()
    for length in sorted({len(code) for code in area_codes if code}):
        counted = stations.annotate(prefix=Substr("code", 1, length)).values("prefix").annotate(count=Count("pk"))
        counts.update(counted.values_list("prefix", "count").order_by())
    if WHOLE_COUNTRY in area_codes:
        counts[WHOLE_COUNTRY] = stations.count()
    return counts


def _areas(contest, candidates, regions):
    """[Area] for [(code, name, kind)], read from the aggregates in two queries."""
    wanted = [code for code, _name, _kind in regions]
    rows = {row.region_code: row for row in RegionResult.objects.filter(contest=contest, region_code__in=wanted)}
    votes = {}
    for code, candidate_id, count in CandidateResult.objects.filter(
        contest=contest, region_code__in=wanted
    ).values_list("region_code", "candidate_id", "votes"):
        votes.setdefault(code, {})[candidate_id] = count
    if not rows:
        counted = _stations_counted(contest, wanted)
    areas = []
    for code, name, kind in regions:
        totals = _totals(rows.get(code))
        if not rows:
            totals.stations_total = counted.get(code, 0)
        areas.append(Area(code, name, kind, totals, shares_of(candidates, votes.get(code, {}))))
    return areas


def _breadcrumbs(contest, code, names):
    """[(code, name)] from the contest's area down to `code`; names: {code: name} holding its ancestors'."""
    root = contest.area_code
    trail = [(WHOLE_COUNTRY, contest.name)] if root == WHOLE_COUNTRY else []
    wanted = [*codes.ancestor_codes(code), code] if code else []
    for ancestor in wanted:
        if root == WHOLE_COUNTRY or ancestor == root or ancestor.startswith(f"{root}."):
            trail.append((ancestor, names.get(ancestor, ancestor)))
    return trail


def _names(region_codes):
    """{code: name} of the given regions and all their ancestors, in one query."""
    wanted = {ancestor for code in region_codes if code for ancestor in (*codes.ancestor_codes(code), code)}
    return dict(Region.objects.filter(code__in=wanted).values_list("code", "name")) if wanted else {}


def _in_area(contest, code):
    root = contest.area_code
    if code == WHOLE_COUNTRY:
        return root == WHOLE_COUNTRY
    return root == WHOLE_COUNTRY or code == root or code.startswith(f"{root}.")


def region_page(contest, code):
    """A region of the contest's area with its children, or Http404 if the region is not in the area."""
    if not _in_area(contest, code):
        raise Http404("region outside the contest's area")
    page = region_pages(contest, [code]).get(code)
    if page is None:
        raise Http404("no such region")
    return page


def region_pages(contest, wanted):
    """{code: RegionPage} for many regions of the contest's area, in about eight queries however many.

    The snapshot reads the regions it renders a batch at a time: read one by
    one, each cost six to eight queries, most of a build's time. A code outside
    the area, or of no region, is left out.
    """
    wanted = [code for code in dict.fromkeys(wanted) if _in_area(contest, code)]
    regions = {region.code: region for region in Region.objects.filter(code__in=[code for code in wanted if code])}
    heads = {code: regions[code] for code in wanted if code in regions}  # code -> Region; None for the country
    if WHOLE_COUNTRY in wanted:
        heads[WHOLE_COUNTRY] = None
    below = {code: [] for code, region in heads.items() if region is None or region.level != codes.VILLAGE}
    parents = {region.pk: code for code, region in heads.items() if region is not None and code in below}
    if below:
        children = Q(parent_id__in=parents) | (Q(level=Region.Level.PROVINCE) if WHOLE_COUNTRY in below else Q())
        for child in Region.objects.filter(children).order_by("code"):
            below[parents.get(child.parent_id, WHOLE_COUNTRY)].append((child.code, child.name, child.kind))
    candidates = list(contest.candidates.order_by("ballot_number"))
    lines = [
        ((code, region.name, region.kind) if region else (code, contest.name, ""), below.get(code, []))
        for code, region in heads.items()
    ]
    areas = iter(_areas(contest, candidates, [line for head, children in lines for line in (head, *children)]))
    villages = [code for code, region in heads.items() if region is not None and region.level == codes.VILLAGE]
    stations = _station_lines(contest, candidates, {regions[code].pk: code for code in villages})
    names = _names(heads)
    pages = {}
    for (_head, children), (code, region) in zip(lines, heads.items()):
        area = next(areas)
        found = [next(areas) for _child in children] if code in below else stations.get(code, [])
        level = region.level if region else 0
        pages[code] = RegionPage(contest, area, level, _breadcrumbs(contest, code, names), found)
    return pages


def _station_lines(contest, candidates, villages):
    """{village code: [StationLine]} for villages: {village pk: code}."""
    if not villages:
        return {}
    stations = list(PollingStation.objects.filter(village_id__in=villages).order_by("village_id", "number"))
    tallies = {
        tally.station_id: tally
        for tally in Tally.objects.filter(contest=contest, station__in=stations).select_related("current_revision")
    }
    votes = {}
    for revision_id, candidate_id, count in CandidateVotes.objects.filter(
        revision__in=[tally.current_revision_id for tally in tallies.values() if tally.current_revision_id]
    ).values_list("revision_id", "candidate_id", "votes"):
        votes.setdefault(revision_id, {})[candidate_id] = count
    lines = {code: [] for code in villages.values()}
    for station in stations:
        tally = tallies.get(station.pk)
        current = tally.current_revision if tally else None
        state = tally.state if tally else Tally.State.EMPTY
        lines[villages[station.village_id]].append(
            StationLine(
                code=station.code,
                number=station.number,
                state=state,
                state_label=Tally.State(state).label,
                shares=shares_of(candidates, votes.get(current.pk, {}) if current else {}),
                valid_votes=current.valid_votes if current else None,
            )
        )
    return lines


def _station_versions(tallies):
    """(TPS code, version) of each form: what its page is cached under, its reading, state and ready scans.

    The reading by its digest, not its id: a restore hands out the ids of
    readings it took back again, to readings with other numbers.
    """
    rows = (
        tallies.values_list("station__code", "current_revision__digest", "state")
        .annotate(ready=Count("scans", filter=Q(scans__status="ready")), scans_moved=Max("scans__status_changed_at"))
        .order_by()
    )
    for code, digest, state, ready, moved in rows.iterator(chunk_size=5000):
        yield code, f"{(digest or '')[:16]}-{state}-{ready}-{moved.timestamp() if moved else 0:.0f}"


def station_version(contest_id, station_code):
    """A TPS page's version, in one query; "none" for a TPS with no form in the contest."""
    found = _station_versions(Tally.objects.filter(contest_id=contest_id, station__code=station_code))
    return next((version for _code, version in found), "none")


def station_versions(contest):
    """Every TPS page version of a contest, by TPS code, in one query (for the snapshot)."""
    return dict(_station_versions(Tally.objects.filter(contest=contest)))


# The numbers a revision's "what changed" compares, with their labels (model verbose names).
_CHANGE_FIELDS = ["valid_votes", "invalid_votes", "total_votes", "ballots_received", "ballots_used"]


def station_page(contest, station_code):
    page = station_pages(contest, [station_code]).get(station_code)
    if page is None:
        raise Http404("no such TPS in this contest")
    return page


def station_pages(contest, station_codes):
    """{code: StationPage} for many TPS of the contest's area, in about ten queries however many (see region_pages).

    A code of no TPS in the area is left out.
    """
    from uploads.models import Scan  # uploads builds on results: imported here, not at module load

    stations = [
        station
        for station in PollingStation.objects.select_related("village").filter(code__in=set(station_codes))
        if contest.covers(station.code)
    ]
    tallies = {
        tally.station_id: tally
        for tally in Tally.objects.filter(contest=contest, station__in=stations).select_related("current_revision")
    }
    candidates = list(contest.candidates.order_by("ballot_number"))
    revisions, scans, several_scans = {}, {}, set()
    if tallies:
        forms = [tally.pk for tally in tallies.values()]
        published = TallyRevision.objects.published().filter(tally__in=forms).with_numbers()
        for revision in published.select_related("tally__contest__election").order_by("tally_id", "number"):
            revisions.setdefault(revision.tally_id, []).append(revision)
        ready = Scan.objects.filter(tally__in=forms, status=Scan.Status.READY).exclude(web="")
        for scan in ready.order_by("tally_id", "page", "pk"):
            scans.setdefault(scan.tally_id, []).append(scan)
        several_scans = Tally.objects.filter(pk__in=forms).read_from_several_scans()
    names = _names([station.village.code for station in stations])
    pages = {}
    for station in stations:
        tally = tallies.get(station.pk)
        read = revisions.get(tally.pk, []) if tally else []
        current = next((revision for revision in read if revision.pk == tally.current_revision_id), None)
        history, before = [], None
        for revision in read:
            numbers = revision.numbers()
            history.append((revision, _changes(before, numbers, candidates)))
            before = numbers
        history.reverse()
        votes = {row.candidate_id: row.votes for row in current.candidate_votes.all()} if current is not None else {}
        failures = current.failures() if current is not None else []
        if current is not None and tally.pk in several_scans:
            disagree = tally.scans_disagree()
            if disagree:
                failures = [*failures, disagree]
        trail = _breadcrumbs(contest, station.village.code, names)
        pages[station.code] = StationPage(
            contest=contest,
            station=station,
            breadcrumbs=[*trail, (station.code, f"TPS {station.number:03d}")],
            tally=tally,
            current=current,
            shares=shares_of(candidates, votes),
            failures=failures,
            revisions=history,
            scans=scans.get(tally.pk, []) if tally else [],
        )
    return pages


def _changes(before, after, candidates):
    """[(what, old, new)] between two readings' numbers: pairs first, then the totals."""
    if before is None:
        return []
    changed = []
    for candidate in candidates:
        old = before.candidate_votes.get(candidate.ballot_number)
        new = after.candidate_votes.get(candidate.ballot_number)
        if old != new:
            changed.append((str(candidate), old, new))
    for name in _CHANGE_FIELDS:
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            # The label stays lazy: it is rendered in the reader's language, whenever the page is.
            changed.append((TallyRevision._meta.get_field(name).verbose_name, old, new))
    return changed


def search(query, *, limit=30):
    """Regions by name or code (dotted or KPU's undotted) and TPS by code: ([Region], [PollingStation]).

    NUL characters are dropped: no name holds one, and PostgreSQL refuses them in a query.
    """
    query = query.replace("\x00", "").strip()
    if not query:
        return [], []
    try:
        station_code = codes.normalize_station_code(query)
    except codes.CodeError:
        pass
    else:
        return [], list(PollingStation.objects.filter(code=station_code))
    try:
        code = codes.normalize_region_code(query)
    except codes.CodeError:
        regions = Region.objects.filter(name__icontains=query).order_by("level", "name")
    else:
        regions = Region.objects.filter(code=code)
    return list(regions[:limit]), []
