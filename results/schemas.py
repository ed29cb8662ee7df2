"""The shapes of the journalists' API: the OpenAPI description and the JSON twins are both made from these."""

import datetime

from ninja import Schema
from pydantic import Field


class Message(Schema):
    detail: str | list = Field(description="What was wrong: an unknown contest, region or TPS, or a bad parameter.")


class ContestRef(Schema):
    id: int = Field(description="The contest's number, as in the digests.")
    election: str = Field(description="The election's slug, e.g. pilkada-2018.")
    contest: str = Field(description="The contest's slug, e.g. gubernur-kalbar.")
    name: str
    area_code: str = Field(description="Region code of the contest's whole area; empty for the whole country.")


class Candidate(Schema):
    ballot_number: int
    name: str
    running_mate: str


class Share(Schema):
    ballot_number: int
    votes: int
    percent: float = Field(description="Share of the valid votes, two decimals; the pairs add up to 100.")


class Totals(Schema):
    stations_total: int = Field(description="TPS in the area.")
    stations_reported: int = Field(description="TPS with a published (verified) reading.")
    registered: int
    voters: int
    valid_votes: int
    invalid_votes: int
    total_votes: int
    changed_at: datetime.datetime | None = Field(description="When a published reading last changed these numbers.")
    version: int = Field(description="Data version: moves at every publish under the region.")


class Area(Schema):
    code: str
    name: str
    kind: str
    totals: Totals
    shares: list[Share]
    leader: int | None = Field(description="Ballot number of the leading pair, none before any vote.")
    margin: float | None = Field(description="Percentage points between the leader and the runner-up.")


class StationLine(Schema):
    code: str
    number: int
    state: str
    valid_votes: int | None
    shares: list[Share]


class RegionResults(Schema):
    contest: ContestRef
    candidates: list[Candidate]
    level: int = Field(description="0 the whole country, 1 province, 2 regency/city, 3 district, 4 village.")
    breadcrumbs: list[list[str]] = Field(description="[code, name] from the contest's area down to this region.")
    area: Area
    children: list[Area] = Field(description="The regions one level down (empty for a village).")
    stations: list[StationLine] = Field(description="A village's TPS (empty above the village).")
    page: str = Field(description="The page for people.")


class Failure(Schema):
    rule: str
    message: str


class Change(Schema):
    what: str
    old: int | None
    new: int | None


class Revision(Schema):
    number: int
    source: str
    reason: str
    created_at: datetime.datetime
    digest: str = Field(description="SHA-256 of the reading's canonical form (see the README).")
    previous_digest: str
    scan_digests: list[str]
    document: dict = Field(
        description="What the digest covers: its canonical JSON (sorted keys, no spaces, ASCII) hashes to `digest`."
    )
    changes: list[Change]


class Scan(Schema):
    page: int
    sha256: str = Field(description="SHA-256 of the uploaded file.")
    web: str = Field(description="Metadata-free web rendition (1600 px).")
    web_sha256: str
    full: str = Field(description="Metadata-free full-size rendition; the web one for scans made before it existed.")
    full_sha256: str


class StationResults(Schema):
    contest: ContestRef
    candidates: list[Candidate]
    code: str
    number: int
    village_code: str
    dpt: int
    state: str = Field(description="empty, awaiting_second, conflict or published.")
    breadcrumbs: list[list[str]]
    shares: list[Share]
    current: Revision | None = Field(description="The published reading in force, none before the first.")
    flags: list[Failure] = Field(description="Arithmetic rules the current reading breaks: shown, never fixed.")
    revisions: list[Revision] = Field(description="Every published reading, newest first.")
    scans: list[Scan]
    page: str


class ContestSummary(Schema):
    contest: ContestRef
    election_name: str
    date: datetime.date
    totals: Totals
    page: str
    results: str


class SearchHit(Schema):
    kind: str = Field(description="region or tps.")
    code: str
    name: str
    pages: list[str] = Field(description="This region's or TPS's page in each contest that covers it.")
