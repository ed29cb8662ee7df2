"""C1 readings from an office's spreadsheet: one CSV row per form, each entered through `tally_enter`.

A header row names the columns, in any order (`tally_columns` lists them):
`tps` (dotted or undotted code), per voter list of the election kind
`<list>_registered_men/_women/_total` and `<list>_voted_men/_women/_total`,
`disabled_registered_*` and `disabled_voted_*`, `ballots_received`,
`ballots_spoiled`, `ballots_unused`, `ballots_used`, `pair_<ballot number>` for
each pair of the contest, `valid`, `invalid`, `total`.

An import is one blind entry per row: the same file imported by a second
officer is the second entry. The whole file is checked before anything is
written, and written in one transaction or not at all.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import codes
from .access import station_access_require
from .arithmetic import C1Numbers, Split, VoterRow, c1_failures
from .importers import ImportRejected
from .models import PollingStation, Tally, TallyRevision
from .services import TallyRefused, tally_enter

SPLIT = ("men", "women", "total")
BALLOTS = ("ballots_received", "ballots_spoiled", "ballots_unused", "ballots_used")
VOTES = ("valid", "invalid", "total")
PAIR_PREFIX = "pair_"
# The largest count the database's integer columns hold (PostgreSQL's integer).
MAX_COUNT = 2_147_483_647
# Codes per query: well under SQLite's bound on parameters.
LOOKUP_BATCH = 2000

# What became of each row, for the report.
OUTCOMES = {
    "waiting": gettext_lazy("entered, waiting for a second entry"),
    "published": gettext_lazy("verified and published"),
    "conflict": gettext_lazy("conflict: the two entries disagree; a third person resolves them"),
}


def tally_columns(*, voter_lists, ballot_numbers):
    """The columns of a tally CSV for an election's voter lists and a contest's pairs, in the documented order."""
    columns = ["tps"]
    for voter_list in voter_lists:
        columns += [f"{voter_list}_{part}_{split}" for part in ("registered", "voted") for split in SPLIT]
    columns += [f"disabled_{part}_{split}" for part in ("registered", "voted") for split in SPLIT]
    columns += list(BALLOTS)
    columns += [f"{PAIR_PREFIX}{number}" for number in sorted(ballot_numbers)]
    columns += list(VOTES)
    return columns


@dataclass(frozen=True)
class TallyRow:
    """One data row of the file: where it is, which TPS, the numbers written."""

    line: int
    station_code: str
    numbers: C1Numbers


@dataclass(frozen=True)
class RowReport:
    line: int
    station_code: str
    outcome: str  # a key of OUTCOMES
    warnings: tuple  # RuleFailure, as the form's arithmetic flags them

    @property
    def outcome_message(self):
        return str(OUTCOMES[self.outcome])


def _header_errors(line, header, expected):
    """What is wrong with the header row: duplicates, unknown columns (a pair the contest lacks), missing ones."""
    errors = []
    seen = set()
    for name in header:
        if name in seen:
            errors.append(_("column %(column)s appears twice") % {"column": name})
        seen.add(name)
    for name in header:
        if name in expected:
            continue
        number = name.removeprefix(PAIR_PREFIX)
        if name.startswith(PAIR_PREFIX) and number.isdigit():
            errors.append(
                _("column %(column)s: the contest has no pair with ballot number %(number)s")
                % {"column": name, "number": int(number)}
            )
        elif name:
            errors.append(_("unknown column %(column)s") % {"column": name})
        else:
            errors.append(_("a column has no name"))
    missing = [name for name in expected if name not in seen]
    if missing:
        errors.append(_("missing columns: %(columns)s") % {"columns": ", ".join(missing)})
    return [(line, message) for message in errors]


def _numbers(values, voter_lists, ballot_numbers):
    def split(prefix):
        return Split(*(values[f"{prefix}_{part}"] for part in SPLIT))

    return C1Numbers(
        voter_rows=tuple(
            VoterRow(voter_list, split(f"{voter_list}_registered"), split(f"{voter_list}_voted"))
            for voter_list in voter_lists
        ),
        disabled_registered=split("disabled_registered"),
        disabled_voted=split("disabled_voted"),
        **{name: values[name] for name in BALLOTS},
        candidate_votes={number: values[f"{PAIR_PREFIX}{number}"] for number in sorted(ballot_numbers)},
        valid_votes=values["valid"],
        invalid_votes=values["invalid"],
        total_votes=values["total"],
    )


def tally_rows_parse(rows, *, voter_lists, ballot_numbers):
    """Read `(line, cells)` rows, the first of them the header, into TallyRows: (rows, [(line, error)]).

    Pure: it knows the election's voter lists and the contest's ballot
    numbers, not the database. Every bad row is reported, each once.
    """
    rows = iter(rows)
    try:
        header_line, header = next(rows)
    except StopIteration:
        return [], [(1, _("the file is empty: the first row names the columns"))]
    header = [cell.strip().lower() for cell in header]
    expected = tally_columns(voter_lists=voter_lists, ballot_numbers=ballot_numbers)
    errors = _header_errors(header_line, header, set(expected))
    if errors:
        return [], errors
    parsed, seen = [], {}
    for line, row in rows:
        cells = [cell.strip() for cell in row]
        if len(cells) != len(header):
            errors.append(
                (line, _("expected %(count)d columns, found %(found)d") % {"count": len(header), "found": len(cells)})
            )
            continue
        cells = dict(zip(header, cells))
        try:
            code = codes.normalize_station_code(cells.pop("tps"))
        except codes.CodeError as error:
            errors.append((line, str(error)))
            continue
        bad = [f"{name} “{value}”" for name, value in cells.items() if not (value.isascii() and value.isdigit())]
        if bad:
            errors.append((line, _("not a whole number (0 or more): %(cells)s") % {"cells": ", ".join(bad)}))
            continue
        huge = [f"{name} “{value}”" for name, value in cells.items() if int(value) > MAX_COUNT]
        if huge:
            errors.append((line, _("too large to be a count: %(cells)s") % {"cells": ", ".join(huge)}))
            continue
        if code in seen:
            errors.append(
                (line, _("TPS %(code)s is a duplicate of line %(first)d") % {"code": code, "first": seen[code]})
            )
            continue
        seen[code] = line
        numbers = _numbers({name: int(value) for name, value in cells.items()}, voter_lists, ballot_numbers)
        parsed.append(TallyRow(line, code, numbers))
    if not parsed and not errors:
        errors.append((header_line, _("no forms: the file has a header row and nothing else")))
    return parsed, errors


def _batched(items, size=LOOKUP_BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _forms_check(parsed, *, contest, entered_by):
    """[(line, error)] for rows the database refuses, and {code: TPS} of the rest; nothing is written."""
    station_codes = [row.station_code for row in parsed]
    stations, forms = {}, {}
    for batch in _batched(station_codes):
        stations.update((station.code, station) for station in PollingStation.objects.filter(code__in=batch))
        forms.update(
            (form.station.code, form)
            for form in Tally.objects.filter(contest=contest, station__code__in=batch).select_related(
                "station", "pending_entry"
            )
        )
    errors = []
    for row in parsed:
        code = row.station_code
        station = stations.get(code)
        if station is None:
            errors.append((row.line, _("unknown TPS %(code)s: import the TPS list first") % {"code": code}))
            continue
        if not contest.covers(code):
            errors.append(
                (
                    row.line,
                    _("TPS %(code)s is outside the contest's region %(region)s")
                    % {"code": code, "region": contest.region},
                )
            )
            continue
        try:
            # The one access rule, which also logs the attempt.
            station_access_require(user=entered_by, station=station)
        except PermissionDenied as denied:
            errors.append((row.line, str(denied)))
            continue
        form = forms.get(code)
        if form is None:
            continue
        if form.state == Tally.State.PUBLISHED:
            errors.append(
                (
                    row.line,
                    _("TPS %(code)s: the form is published already; a correction is made in the admin, with its reason")
                    % {"code": code},
                )
            )
        elif form.state == Tally.State.CONFLICT:
            errors.append(
                (
                    row.line,
                    _("TPS %(code)s: the two entries of this form disagree; a third person resolves them in the admin")
                    % {"code": code},
                )
            )
        elif form.pending_entry and form.pending_entry.entered_by_id == entered_by.pk:
            errors.append(
                (
                    row.line,
                    _("TPS %(code)s: %(user)s made the first entry of this form; a different officer makes the second")
                    % {"code": code, "user": entered_by.get_username()},
                )
            )
    return stations, errors


def tallies_import(rows, *, contest, entered_by, progress=None):
    """Enter one reading per row of a tally CSV as `entered_by`; returns a RowReport per row.

    Every row is checked first: its cells, its TPS (known, in the contest's
    area, in the officer's region) and its form (not published, not in
    conflict, not first entered by the same officer). Any bad row rejects the
    whole file (ImportRejected, every error with its line) and nothing is
    written; a refusal by the service on the way rolls back every row too.
    """
    ballot_numbers = list(contest.candidates.values_list("ballot_number", flat=True))
    parsed, errors = tally_rows_parse(rows, voter_lists=contest.election.voter_lists, ballot_numbers=ballot_numbers)
    stations, refused = _forms_check(parsed, contest=contest, entered_by=entered_by)
    if errors or refused:
        raise ImportRejected(sorted(errors + refused, key=lambda error: error[0]))
    limits = {
        "max_voters_per_station": contest.election.max_voters_per_station,
        "reserve_share": contest.reserve_share,
    }
    report = []
    with transaction.atomic():
        for row in parsed:
            form, _created = Tally.objects.get_or_create(contest=contest, station=stations[row.station_code])
            try:
                revision = tally_enter(tally=form, numbers=row.numbers, entered_by=entered_by)
            except (TallyRefused, PermissionDenied) as refused:
                # Someone got there between the check and now: the file is refused as a whole.
                message = refused.message if isinstance(refused, TallyRefused) else refused
                errors.append(
                    (row.line, _("TPS %(code)s refused: %(reason)s") % {"code": row.station_code, "reason": message})
                )
                continue
            if revision.published:
                outcome = "published"
            elif revision.source == TallyRevision.Source.OFFICER_ENTRY:
                outcome = "waiting"
            else:
                outcome = "conflict"
            report.append(RowReport(row.line, row.station_code, outcome, tuple(c1_failures(row.numbers, **limits))))
            if progress:
                progress(1)
        if errors:
            # Raised inside atomic(): every row entered so far is rolled back.
            raise ImportRejected(errors)
    return report
