"""Backups proven by restoring them: backup, wipe, restore, and every digest, head and total is back.

Real pg_dump / pg_restore in the PostgreSQL pass, SQLite's backup API in the
first; nothing mocked. The tests use transactional_db: a restore replaces the
database, which cannot happen inside a test's transaction.
"""

import hashlib
import io
import json
import os

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from backups.services import backups_list
from backups.tasks import make_backup
from results import digests
from results.models import CandidateResult, ContestHead, RegionResult, Tally, TallyRevision
from results.services import contest_head_record, tally_correct, tally_enter
from tests.factories import UserFactory
from tests.results.conftest import c1
from tests.uploads import images
from tests.uploads.conftest import stored
from uploads.models import Scan
from uploads.services import scan_store
from uploads.storage import private_storage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published(kalbar, governor, officers):
    """Two TPS published (one of them corrected, with a scan), a third waiting for its second entry."""
    first, second, _third = officers
    scan, _created = scan_store(
        raw=stored(images.jpeg()),
        original_name="tps1.jpg",
        tally=Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"]),
        page=1,
        uploaded_by=first,
    )
    for station, votes in (("tps_bansir_laut_1", [40, 70, 80]), ("tps_bansir_laut_2", [10, 20, 30])):
        tally, _created = Tally.objects.get_or_create(contest=governor, station=kalbar[station])
        tally_enter(tally=tally, numbers=c1(votes), entered_by=first, scan_digests=[scan.sha256])
        tally_enter(tally=tally, numbers=c1(votes), entered_by=second, scan_digests=[scan.sha256])
    tally_correct(
        tally=Tally.objects.get(station=kalbar["tps_bansir_laut_2"]),
        numbers=c1([11, 20, 30]),
        entered_by=first,
        reason="recounted at the district plenary",
    )
    # Pasiran is outside Kota Pontianak: a superuser enters it, once.
    pending = Tally.objects.create(contest=governor, station=kalbar["tps_pasiran_1"])
    tally_enter(tally=pending, numbers=c1([5, 5, 5]), entered_by=UserFactory(is_superuser=True))
    contest_head_record(governor)
    return governor


def database_facts():
    """Everything a restore must bring back, read straight from the tables."""
    forms = Tally.objects.filter(current_revision__isnull=False).values_list(
        "contest_id", "station__code", "current_revision__digest"
    )
    heads = {}
    for contest_id, code, digest in forms:
        heads.setdefault(contest_id, []).append((code, digest))
    return {
        "digests": sorted(TallyRevision.objects.values_list("tally__station__code", "number", "digest")),
        "heads": {contest_id: digests.head_digest(pairs) for contest_id, pairs in heads.items()},
        "head_log": sorted(ContestHead.objects.values_list("contest_id", "digest", "forms")),
        "region_results": sorted(
            RegionResult.objects.values_list(
                "contest_id",
                "region_code",
                "stations_total",
                "stations_reported",
                "registered",
                "voters",
                "valid_votes",
                "invalid_votes",
                "total_votes",
            )
        ),  # fmt: skip
        "candidate_results": sorted(
            CandidateResult.objects.values_list("contest_id", "region_code", "candidate__ballot_number", "votes")
        ),
        "scans": sorted(Scan.objects.values_list("sha256", "raw", "web", "thumbnail", "full", "status")),
    }


def wipe_rows():
    call_command("flush", interactive=False, verbosity=0)


def drop_every_table():
    """As on a new machine: not even the schema is left."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            tables = [name for name in connection.introspection.table_names(cursor) if not name.startswith("sqlite_")]
            for table in tables:
                cursor.execute(f'DROP TABLE "{table}"')
            cursor.execute("PRAGMA foreign_keys = ON")


def backup():
    out = io.StringIO()
    call_command("backup", stdout=out)
    return backups_list()[-1], out.getvalue()


def restore(name, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("restore", name, "--yes", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_a_restored_backup_has_the_digests_heads_and_totals_it_recorded(published):
    before = database_facts()
    assert len(before["digests"]) == 6 and before["heads"] and before["region_results"]
    path, summary = backup()
    assert "6 readings, 1 contests, 1 scans" in summary

    wipe_rows()
    assert not TallyRevision.objects.exists() and not RegionResult.objects.exists()
    report = restore(path.name)

    assert f"Backup {path.name} restored and verified" in report
    assert database_facts() == before
    call_command("verify_integrity", stdout=io.StringIO())


def test_a_restore_into_a_database_without_tables_rebuilds_it(published):
    before = database_facts()
    path, _summary = backup()

    drop_every_table()
    assert "results_tallyrevision" not in connection.introspection.table_names()
    restore(str(path))  # by its path this time

    assert database_facts() == before
    call_command("verify_integrity", stdout=io.StringIO())


def test_the_manifest_records_the_engine_the_dump_and_each_contests_head_and_totals(published):
    path, _summary = backup()
    manifest = json.loads((path / "manifest.json").read_text())
    dump = path / manifest["database"]["file"]

    assert manifest["engine"] == connection.vendor  # "postgresql" or "sqlite"
    assert manifest["database"]["sha256"] == hashlib.sha256(dump.read_bytes()).hexdigest()
    if connection.vendor == "postgresql":
        assert dump.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    else:
        assert dump.read_bytes().startswith(b"SQLite format 3\x00")
    contest = manifest["contests"][str(published.pk)]
    assert contest["head"] == ContestHead.objects.filter(contest=published).latest().digest
    assert contest["forms"] == 2
    assert contest["candidates"] == {"1": 51, "2": 90, "3": 110}
    assert contest["totals"]["valid_votes"] == 251
    assert contest["totals"]["stations_reported"] == 2
    assert manifest["readings"] == 6
    scan = Scan.objects.get()
    assert manifest["scans"] == {
        scan.sha256: {
            "raw": scan.raw.name,
            "web": scan.web.name,
            "thumbnail": scan.thumbnail.name,
            "full": scan.full.name,
        }
    }


def test_a_tampered_dump_is_refused_and_nothing_is_restored(published, officers):
    path, _summary = backup()
    tally_correct(
        tally=Tally.objects.get(station__code="61.71.06.1001.001"),
        numbers=c1([40, 71, 80]),
        entered_by=officers[0],
        reason="a later correction, not in the backup",
    )
    after_backup = database_facts()
    dump = next(p for p in path.iterdir() if p.name.startswith("database."))
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))

    with pytest.raises(CommandError, match="is damaged or was changed: its sha256 is .* Nothing was restored"):
        restore(path.name)
    assert database_facts() == after_backup


def test_a_dump_that_fails_to_restore_leaves_the_database_as_it_was(published, officers):
    path, _summary = backup()
    tally_correct(
        tally=Tally.objects.get(station__code="61.71.06.1001.001"),
        numbers=c1([40, 71, 80]),
        entered_by=officers[0],
        reason="a later correction, not in the backup",
    )
    after_backup = database_facts()
    # Cut short, and the manifest rewritten to match: the sha256 check passes, the restore itself fails.
    dump = next(p for p in path.iterdir() if p.name.startswith("database."))
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["database"]["sha256"] = hashlib.sha256(dump.read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(CommandError, match="pg_restore failed|is not a sound SQLite database"):
        restore(path.name)
    assert database_facts() == after_backup
    call_command("verify_integrity", stdout=io.StringIO())


def test_a_restore_names_each_difference_from_what_the_backup_recorded(published):
    path, _summary = backup()
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["contests"][str(published.pk)]["head"] = "0" * 64
    manifest["readings"] = 7
    manifest_path.write_text(json.dumps(manifest))
    err = io.StringIO()

    with pytest.raises(CommandError, match="2 differences"):
        call_command("restore", path.name, "--yes", stdout=io.StringIO(), stderr=err)
    assert "readings: 6, the backup recorded 7" in err.getvalue()
    assert f"({published.name}): head is " in err.getvalue()


def test_a_restore_names_scan_files_missing_from_storage(published):
    path, _summary = backup()
    scan = Scan.objects.get()
    default_storage.delete(scan.web.name)
    err = io.StringIO()

    with pytest.raises(CommandError, match="1 differences"):
        call_command("restore", path.name, "--yes", stdout=io.StringIO(), stderr=err)
    assert f"scan {scan.sha256}: web file {scan.web.name} is not in storage" in err.getvalue()


def test_scan_files_kept_with_the_backup_are_put_back(published):
    scan = Scan.objects.get()
    raw = private_storage.open(scan.raw.name).read()
    out = io.StringIO()
    call_command("backup", "--with-scans", stdout=out)
    assert "4 scan files copied" in out.getvalue()
    path = backups_list()[-1]
    private_storage.delete(scan.raw.name)
    default_storage.delete(scan.thumbnail.name)

    report = restore(path.name)

    assert "2 scan files put back" in report
    assert private_storage.open(scan.raw.name).read() == raw
    assert default_storage.exists(scan.thumbnail.name)


def test_a_second_backup_with_scans_links_the_files_it_shares_with_the_first(published):
    call_command("backup", "--with-scans", stdout=io.StringIO())
    call_command("backup", "--with-scans", stdout=io.StringIO())
    first, second = backups_list()
    raw = Scan.objects.get().raw.name
    assert os.path.samefile(first / "scans/private" / raw, second / "scans/private" / raw)


def test_a_restore_is_refused_without_yes_outside_a_terminal(published):
    path, _summary = backup()
    wipe_rows()
    with pytest.raises(CommandError, match="confirm it with --yes"):
        call_command("restore", path.name, stdout=io.StringIO())
    assert not TallyRevision.objects.exists()


def test_an_unknown_backup_is_refused(db):
    with pytest.raises(CommandError, match="no-such-backup is not a backup"):
        call_command("restore", "no-such-backup", "--yes")


def test_backup_keep_keeps_exactly_the_newest_n(published):
    for _ in range(4):
        call_command("backup", stdout=io.StringIO())
    names = [path.name for path in backups_list()]
    assert len(names) == 4

    out = io.StringIO()
    call_command("backup", "--keep", "2", stdout=out)

    assert [path.name for path in backups_list()] == [*names[-1:], backups_list()[-1].name]
    assert len(backups_list()) == 2
    assert "Deleted 3 older backups" in out.getvalue()


def test_the_periodic_task_keeps_the_configured_number(published, settings):
    settings.BACKUP_KEEP = 3
    for _ in range(5):
        make_backup()
    assert len(backups_list()) == 3


def test_keep_below_one_is_refused(db):
    with pytest.raises(CommandError, match="--keep must be 1 or more"):
        call_command("backup", "--keep", "0")


def test_no_page_cached_before_a_restore_answers_for_the_numbers_entered_after_it(published, officers, client):
    """Backup; correct a TPS and view its pages; restore; correct it otherwise: the pages show the second one.

    The restore hands out again the revision ids and the version numbers that
    the first correction had used.
    """
    path, _summary = backup()
    tally = Tally.objects.get(contest=published, station__code="61.71.06.1001.001")
    region, station = (f"/pilkada-2018/{published.slug}/{code}/" for code in ("61.71", "61.71.06.1001.001"))

    def correct(votes):
        """Pair 1's votes on the TPS page and in the city (where the other TPS gave it 11), each page now cached."""
        tally_correct(tally=tally, numbers=c1([votes, 70, 80]), entered_by=officers[2], reason="recounted")
        return client.get(station).content.decode(), client.get(region).content.decode()

    station_page, region_page = correct(4321)
    assert "4.321" in station_page and "4.332" in region_page
    restore(path.name)
    station_page, region_page = correct(8765)
    assert "8.765" in station_page and "4.321" not in station_page
    assert "8.776" in region_page and "4.332" not in region_page
