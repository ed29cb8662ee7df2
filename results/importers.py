"""Region and TPS imports from the public Kemendagri/KPU lists: checked whole, written whole or not at all."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from . import codes
from .models import PollingStation, Region

# Rows per INSERT: large enough to amortise round trips, small enough to stay
# under SQLite's 32766 bound parameters (5 columns x 5000).
BATCH_SIZE = 5000


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportRejected(Exception):
    """The file has bad rows; nothing was written. `errors` is [(line, message)]."""

    errors: list = field(default_factory=list)

    def __str__(self):
        return "\n".join(f"line {line}: {message}" for line, message in self.errors)


def _data_rows(rows, columns, errors, progress):
    """(line, cells) of each data row; a header row is skipped, a wrong column count is an error."""
    for line, row in rows:
        if progress:
            progress(1)
        if line == 1 and row and not row[0].strip().replace(".", "").isdigit():
            continue  # a header such as "code,name" or "kode,nama"
        cells = [cell.strip() for cell in row]
        if len(cells) != columns:
            errors.append(
                (line, _("expected %(count)d columns, found %(found)d") % {"count": columns, "found": len(cells)})
            )
            continue
        yield line, cells


def regions_import(rows, *, progress=None):
    """Create or rename regions from `(line, [code, name])` rows.

    Idempotent: a second run changes nothing; a renamed region keeps its row.
    All rows are checked before anything is written; any bad row rejects the
    whole file with every error and its line number.
    """
    parsed, errors = {}, []
    for line, (raw_code, name) in _data_rows(rows, 2, errors, progress):
        try:
            code = codes.normalize_region_code(raw_code)
        except codes.CodeError as error:
            errors.append((line, str(error)))
            continue
        if not name:
            errors.append((line, _("region %(code)s has no name") % {"code": code}))
        elif code in parsed:
            errors.append(
                (line, _("%(code)s is a duplicate of line %(first)d") % {"code": code, "first": parsed[code][1]})
            )
        else:
            parsed[code] = (name, line)

    existing = {code: (pk, name) for code, pk, name in Region.objects.values_list("code", "id", "name")}
    for code, (name, line) in parsed.items():
        parent = codes.parent_code(code)
        if parent and parent not in parsed and parent not in existing:
            errors.append(
                (
                    line,
                    _("%(code)s: parent region %(parent)s is neither in the file nor in the database")
                    % {"code": code, "parent": parent},
                )
            )
    if errors:
        raise ImportRejected(sorted(errors))

    summary = ImportSummary()
    with transaction.atomic():
        for level in Region.Level.values:
            new = [
                Region(code=code, name=name, level=level)
                for code, (name, _line) in parsed.items()
                if code not in existing and codes.region_level(code) == level
            ]
            if not new:
                continue
            # Parents are one level up: created by the previous pass or already there.
            parent_ids = dict(Region.objects.filter(level=level - 1).values_list("code", "id"))
            for region in new:
                region.parent_id = parent_ids.get(codes.parent_code(region.code))
            Region.objects.bulk_create(new, batch_size=BATCH_SIZE)
            summary.created += len(new)
        # Matched by code, so a renamed region keeps its row.
        renamed = [
            Region(id=existing[code][0], code=code, name=name)
            for code, (name, _line) in parsed.items()
            if code in existing and existing[code][1] != name
        ]
        Region.objects.bulk_update(renamed, ["name"], batch_size=BATCH_SIZE)
        summary.updated = len(renamed)
        summary.unchanged = len(parsed) - summary.created - summary.updated
    return summary


def stations_import(rows, *, progress=None):
    """Create TPS or update their DPT from `(line, [village code, TPS number, DPT])` rows.

    Streams the file in batches inside one transaction, so a national list
    (820,000 TPS) fits in memory; a bad row anywhere rolls everything back.
    """
    villages = dict(Region.objects.filter(level=Region.Level.VILLAGE).values_list("code", "id"))
    normalized = {}  # raw village spelling -> dotted code; a village repeats on every TPS row
    # Only these villages can hold a TPS of the file already (duplicates within
    # the file are caught by `seen`), so a first import asks nothing per batch.
    villages_with_stations = set(PollingStation.objects.values_list("village_id", flat=True).distinct())
    seen, errors, summary = {}, [], ImportSummary()
    batch = []  # (code, village id, number, dpt)

    def write(batch):
        # Looked up by village: a 5,000-code IN list makes PostgreSQL scan the whole table.
        village_ids = {row[1] for row in batch} & villages_with_stations
        existing = dict(
            PollingStation.objects.filter(village_id__in=village_ids).values_list("code", "dpt") if village_ids else ()
        )
        new = [
            PollingStation(code=code, village_id=village_id, number=number, dpt=dpt)
            for code, village_id, number, dpt in batch
            if code not in existing
        ]
        changed = [
            PollingStation(code=code, village_id=village_id, number=number, dpt=dpt)
            for code, village_id, number, dpt in batch
            if code in existing and existing[code] != dpt
        ]
        PollingStation.objects.bulk_create(new, batch_size=BATCH_SIZE)
        if changed:
            PollingStation.objects.bulk_create(
                changed, update_conflicts=True, unique_fields=["code"], update_fields=["dpt"], batch_size=BATCH_SIZE
            )
        summary.created += len(new)
        summary.updated += len(changed)
        summary.unchanged += len(batch) - len(new) - len(changed)

    with transaction.atomic():
        for line, (raw_village, raw_number, raw_dpt) in _data_rows(rows, 3, errors, progress):
            try:
                village = normalized.get(raw_village) or normalized.setdefault(
                    raw_village, codes.normalize_region_code(raw_village)
                )
            except codes.CodeError as error:
                errors.append((line, str(error)))
                continue
            if village not in villages:
                errors.append((line, _("unknown village %(code)s: import the regions first") % {"code": village}))
                continue
            if not raw_number.isdigit() or not 1 <= int(raw_number) <= 999:
                errors.append(
                    (line, _("TPS number “%(number)s” is not a number from 1 to 999") % {"number": raw_number})
                )
                continue
            if not raw_dpt.isdigit():
                errors.append((line, _("DPT “%(dpt)s” is not a whole number") % {"dpt": raw_dpt}))
                continue
            code = codes.station_code(village, int(raw_number))
            if code in seen:
                errors.append(
                    (line, _("TPS %(code)s is a duplicate of line %(first)d") % {"code": code, "first": seen[code]})
                )
                continue
            seen[code] = line
            if errors:
                continue  # keep checking the rest of the file, write nothing more
            batch.append((code, villages[village], int(raw_number), int(raw_dpt)))
            if len(batch) >= BATCH_SIZE:
                write(batch)
                batch = []
        if errors:
            # Raising inside atomic() rolls back the batches already written.
            raise ImportRejected(errors)
        if batch:
            write(batch)
    return summary
