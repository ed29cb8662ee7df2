"""Backups of the whole portal's database, proven by restoring them.

A backup is a directory under KPU_BACKUP_DIR named by its UTC time
(`20261128T040000Z`), holding:

    database.dump      PostgreSQL: pg_dump --format=custom
    database.sqlite3   SQLite: a copy made with SQLite's own backup API
    manifest.json      the time, the engine, the dump's sha256 and what the
                       database held: each contest's head and whole-area
                       totals, the count of readings, every scan's sha256 and
                       the names of its stored files
    scans/private/..., scans/public/...   only with --with-scans: the scan files

The manifest's facts and the dump are one moment of the database (on
PostgreSQL pg_dump reads the snapshot of the transaction that computed the
facts), so a restore can be checked against them exactly. A backup is written
as `.NAME.partial` and renamed when whole: a directory with a plain name is a
complete backup.

The app is its own (like `snapshot`): the dump covers every app's tables, not
only the results.
"""

import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from contextlib import contextmanager
from datetime import datetime, timezone
from glob import glob
from pathlib import Path

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils.translation import gettext as _

from results import digests
from results.aggregates import versions_restart
from results.integrity import integrity_check
from results.models import CandidateResult, Contest, RegionResult, Tally, TallyRevision
from uploads.models import Scan
from uploads.storage import private_storage

MANIFEST = "manifest.json"
FORMAT = 1
DUMP_NAMES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
# Scan files kept inside a backup, by the store they belong to.
SCAN_STORES = {"raw": "private", "web": "public", "thumbnail": "public", "full": "public"}
TOTALS = ("stations_total", "stations_reported", "registered", "voters", "valid_votes", "invalid_votes", "total_votes")
NAME_PATTERN = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
CHUNK_BYTES = 1024 * 1024
# libpq reads these from the environment; Django's OPTIONS may carry them.
_LIBPQ_OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "options": "PGOPTIONS",
}


class BackupError(Exception):
    """A backup cannot be made or restored; the message says why, and nothing was changed."""


class BackupBusy(BackupError):
    """Another backup or restore holds the lock."""


@dataclasses.dataclass
class Made:
    name: str
    path: Path
    engine: str
    dump_bytes: int
    readings: int
    contests: int
    scans: int
    scan_files: int
    seconds: float


@dataclasses.dataclass
class Restored:
    name: str
    engine: str
    readings: int
    contests: int
    scans: int
    scan_files_put_back: int
    # Each difference from the backup's manifest and each integrity mismatch; empty when proven.
    differences: list
    seconds: float


def backup_root():
    return Path(settings.BACKUP_DIR)


def engine():
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def _sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _lock():
    """One backup or restore at a time on this machine; a second one is refused, not queued."""
    root = backup_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupBusy(_("Another backup or restore is running; try again when it ends.")) from None
        yield


# -- what the database holds: recorded in the manifest, compared after a restore --


def _scan_files(scan):
    return {kind: getattr(scan, kind).name for kind in SCAN_STORES if getattr(scan, kind).name}


def state_read():
    """The facts a restore must reproduce: heads, whole-area totals, readings, scans (plain JSON data)."""
    contests = {}
    for contest in Contest.objects.select_related("region").order_by("pk"):
        forms = list(
            Tally.objects.filter(contest=contest, current_revision__isnull=False).values_list(
                "station__code", "current_revision__digest"
            )
        )
        area = contest.area_code
        totals = RegionResult.objects.filter(contest=contest, region_code=area).values(*TOTALS).first()
        votes = CandidateResult.objects.filter(contest=contest, region_code=area).values_list(
            "candidate__ballot_number", "votes"
        )
        contests[str(contest.pk)] = {
            "name": contest.name,
            "area": area,
            "head": digests.head_digest(forms),
            "forms": len(forms),
            "totals": totals,
            "candidates": {str(number): count for number, count in sorted(votes)},
        }
    scans = {
        scan.sha256: _scan_files(scan)
        for scan in Scan.objects.only("sha256", *SCAN_STORES).order_by("sha256").iterator(chunk_size=5000)
    }
    return {"readings": TallyRevision.objects.count(), "contests": contests, "scans": scans}


def state_differences(recorded, found):
    """Each way `found` (state_read now) differs from `recorded` (the manifest), as a sentence."""
    differences = []
    if found["readings"] != recorded["readings"]:
        differences.append(f"readings: {found['readings']}, the backup recorded {recorded['readings']}")
    for key in sorted(set(recorded["contests"]) | set(found["contests"]), key=int):
        was, now = recorded["contests"].get(key), found["contests"].get(key)
        if was is None or now is None:
            name = (was or now)["name"]
            differences.append(f"contest {key} ({name}): {'missing' if now is None else 'not in the backup'}")
            continue
        for field in ("area", "head", "forms", "totals", "candidates"):
            if was[field] != now[field]:
                differences.append(
                    f"contest {key} ({was['name']}): {field} is {now[field]}, the backup recorded {was[field]}"
                )
    for sha256 in sorted(set(recorded["scans"]) | set(found["scans"])):
        was, now = recorded["scans"].get(sha256), found["scans"].get(sha256)
        if was is None:
            differences.append(f"scan {sha256}: not in the backup")
        elif now is None:
            differences.append(f"scan {sha256}: missing from the database")
        elif was != now:
            differences.append(f"scan {sha256}: files are {now}, the backup recorded {was}")
    return differences


def _storage(kind):
    return private_storage if SCAN_STORES[kind] == "private" else default_storage


def scan_files_missing(scans, *, progress=None):
    """Each scan file the database names that its store does not hold."""
    missing = []
    for sha256, files in scans.items():
        for kind, name in files.items():
            if not _storage(kind).exists(name):
                missing.append(f"scan {sha256}: {kind} file {name} is not in storage")
        if progress:
            progress(1)
    return missing


# -- the database dump --


def pg_tool(name):
    """pg_dump or pg_restore: on the PATH (Debian's wrapper), else the newest under /usr/lib/postgresql."""
    found = shutil.which(name) or next(iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise BackupError(_("%(tool)s is not installed (Debian package postgresql-client).") % {"tool": name})
    return found


def _pg_environment():
    """The connection Django uses, for libpq: the password never on a command line."""
    db = connection.settings_dict
    env = {**os.environ, "PGDATABASE": db["NAME"], "PGAPPNAME": "kpuportal-backup"}
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[variable] = str(db[key])
    for key, variable in _LIBPQ_OPTIONS.items():
        if db.get("OPTIONS", {}).get(key) is not None:
            env[variable] = str(db["OPTIONS"][key])
    return env


def _run(command):
    result = subprocess.run(command, env=_pg_environment(), capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise BackupError(f"{Path(command[0]).name} failed ({result.returncode}): {tail}")


def _dump_postgresql(target):
    """pg_dump of the snapshot this transaction reads (its facts went into the manifest)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
    _run([pg_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", f"--file={target}"])


def _dump_sqlite(target):
    """SQLite's backup API from Django's own connection: a file, or the in-memory database of a test."""
    connection.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        connection.connection.backup(copy)
    finally:
        copy.close()


@contextmanager
def _one_moment():
    """A transaction in which the facts and the dump see the same database.

    PostgreSQL: REPEATABLE READ, whose snapshot pg_dump is handed. SQLite: a
    read transaction; the backup API copies through the same connection.
    """
    if connection.in_atomic_block:
        raise BackupError(_("A backup cannot be made inside a transaction."))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Must be the transaction's first statement.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _backup_name(root, now):
    base = now.strftime("%Y%m%dT%H%M%SZ")
    name, n = base, 1
    while (root / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def backups_list(root=None):
    """Complete backups, oldest first (their names sort by time)."""
    root = Path(root) if root is not None else backup_root()
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and NAME_PATTERN.match(p.name) and (p / MANIFEST).exists()]
    # Several in one second are NAME, NAME-2, NAME-3...: "-10" comes after "-9".
    return sorted(found, key=lambda p: (p.name[:16], int(p.name[17:] or 1)))


def _scans_copy(scans, target, previous, progress):
    """Every scan file into the backup: a hard link to the previous backup's copy (same name: same bytes), or a copy."""
    copied = 0
    for files in scans.values():
        for kind, name in files.items():
            relative = Path("scans") / SCAN_STORES[kind] / name
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            earlier = previous / relative if previous else None
            if earlier and earlier.is_file():
                os.link(earlier, destination)
            else:
                with _storage(kind).open(name, "rb") as source, open(destination, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK_BYTES)
            copied += 1
        if progress:
            progress(1)
    return copied


def backup_make(*, with_scans=False, progress=None):
    """Dump the database and write the manifest into a new backup directory; returns what was made."""
    started = datetime.now(timezone.utc)
    root = backup_root()
    kind = engine()
    with _lock():
        for partial in root.glob(".*.partial"):
            shutil.rmtree(partial)  # left by a backup that died; we hold the lock, so none is running
        previous = next(reversed(backups_list(root)), None)
        name = _backup_name(root, started)
        work = root / f".{name}.partial"
        work.mkdir()
        try:
            dump = work / DUMP_NAMES[kind]
            with _one_moment():
                state = state_read()
                if kind == "postgresql":
                    _dump_postgresql(dump)
                else:
                    _dump_sqlite(dump)
            scan_files = _scans_copy(state["scans"], work, previous, progress) if with_scans else 0
            manifest = {
                "format": FORMAT,
                "created_at": started.isoformat().replace("+00:00", "Z"),
                "engine": kind,
                "database": {"file": dump.name, "sha256": _sha256_file(dump), "bytes": dump.stat().st_size},
                "scan_files_included": with_scans,
                **state,
            }
            (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
            work.rename(root / name)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return Made(
        name=name,
        path=root / name,
        engine=kind,
        dump_bytes=manifest["database"]["bytes"],
        readings=state["readings"],
        contests=len(state["contests"]),
        scans=len(state["scans"]),
        scan_files=scan_files,
        seconds=(datetime.now(timezone.utc) - started).total_seconds(),
    )


def backups_prune(*, keep):
    """Delete all but the newest `keep` complete backups; returns the names deleted."""
    if keep < 1:
        raise BackupError(_("Keep at least one backup."))
    with _lock():
        old = backups_list()[:-keep]
        for path in old:
            shutil.rmtree(path)
    return [path.name for path in old]


# -- restoring --


def backup_find(name_or_path):
    """A backup by its name under KPU_BACKUP_DIR, or by its path; its manifest read and checked for shape."""
    path = Path(name_or_path)
    if not path.is_dir():
        path = backup_root() / name_or_path
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(_("%(backup)s is not a backup: it has no manifest.json.") % {"backup": name_or_path})
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as error:
        raise BackupError(_("The manifest of %(backup)s is not valid JSON.") % {"backup": name_or_path}) from error
    if manifest.get("format") != FORMAT:
        raise BackupError(_("%(backup)s has an unknown format.") % {"backup": name_or_path})
    return path, manifest


def backup_check(path, manifest):
    """Refuse a backup that this database cannot take, or whose dump is not the one the manifest names."""
    if manifest["engine"] != engine():
        raise BackupError(
            _("%(backup)s is a %(theirs)s backup; this portal runs on %(ours)s. Nothing was restored.")
            % {"backup": path.name, "theirs": manifest["engine"], "ours": engine()}
        )
    dump = path / manifest["database"]["file"]
    if not dump.is_file():
        raise BackupError(_("%(dump)s is missing. Nothing was restored.") % {"dump": dump})
    found = _sha256_file(dump)
    if found != manifest["database"]["sha256"]:
        raise BackupError(
            _(
                "The database dump %(dump)s is damaged or was changed: its sha256 is %(found)s, the manifest "
                "recorded %(recorded)s. Nothing was restored."
            )
            % {"dump": dump, "found": found, "recorded": manifest["database"]["sha256"]}
        )
    return dump


def _restore_postgresql(dump):
    """pg_restore in one transaction: it replaces everything, or (on any error) nothing."""
    # pg_restore drops and recreates the tables: this process must not hold them.
    connection.close()
    _run(
        [
            pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={connection.settings_dict['NAME']}",
            str(dump),
        ]
    )


def _restore_sqlite(dump):
    """The backup API the other way: the copy replaces Django's database as one write transaction."""
    connection.ensure_connection()
    source = sqlite3.connect(f"{dump.resolve().as_uri()}?mode=ro", uri=True)
    try:
        # The backup API copies pages as they are: a damaged file would become the database.
        try:
            verdict = source.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as error:
            verdict = [(str(error),)]
        if verdict != [("ok",)]:
            problems = "; ".join(row[0] for row in verdict[:3])
            raise BackupError(
                _("%(dump)s is not a sound SQLite database (%(problems)s). Nothing was restored.")
                % {"dump": dump, "problems": problems}
            )
        source.backup(connection.connection)
    finally:
        source.close()


def _scan_files_put_back(path, scans):
    """Scan files the backup holds and storage lacks, put back after checking their bytes (content-addressed)."""
    put = 0
    for files in scans.values():
        for kind, name in files.items():
            copy = path / "scans" / SCAN_STORES[kind] / name
            store = _storage(kind)
            if store.exists(name) or not copy.is_file():
                continue
            # Every scan file is named by the sha256 of its bytes (uploads.storage.content_path).
            if _sha256_file(copy) != Path(name).stem:
                continue  # a damaged copy is not put back; the check after the restore names the missing file
            with open(copy, "rb") as handle:
                store.save(name, File(handle))
            put += 1
    return put


def backup_restore(name_or_path, *, progress=None):
    """Replace the database with a backup, then prove it: the integrity check and the manifest's facts.

    Refuses before touching anything when the dump's sha256 is not the
    manifest's. The returned `differences` are empty when the restored
    database is the one backed up.
    """
    started = datetime.now(timezone.utc)
    path, manifest = backup_find(name_or_path)
    dump = backup_check(path, manifest)
    if connection.in_atomic_block:
        raise BackupError(_("A restore cannot run inside a transaction."))
    with _lock():
        if manifest["engine"] == "postgresql":
            _restore_postgresql(dump)
        else:
            _restore_sqlite(dump)
        # Content types are cached per process by id; the restored ids may differ.
        ContentType.objects.clear_cache()
        # Pages cached since the backup are keyed by versions the restored rows would hand out again.
        versions_restart()
        put_back = _scan_files_put_back(path, manifest["scans"]) if manifest.get("scan_files_included") else 0
    found = state_read()
    differences = [str(mismatch) for mismatch in integrity_check()]
    differences += state_differences(manifest, found)
    differences += scan_files_missing(found["scans"], progress=progress)
    return Restored(
        name=path.name,
        engine=manifest["engine"],
        readings=found["readings"],
        contests=len(found["contests"]),
        scans=len(found["scans"]),
        scan_files_put_back=put_back,
        differences=differences,
        seconds=(datetime.now(timezone.utc) - started).total_seconds(),
    )
