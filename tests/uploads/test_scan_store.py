import logging

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage

from results.models import Tally
from tests.uploads import images
from tests.uploads.conftest import stored
from uploads.imaging import sha256_hex
from uploads.models import Scan
from uploads.services import UploadRefused, scan_store
from uploads.storage import private_storage


@pytest.fixture
def tally(kalbar, contest):
    return Tally.objects.create(contest=contest, station=kalbar["tps_bansir_laut_1"])


def test_raw_bytes_are_stored_by_sha256_and_the_scan_becomes_ready(tally, officer, django_capture_on_commit_callbacks):
    data = images.photo_with_gps_rotated()
    with django_capture_on_commit_callbacks(execute=True):
        scan, created = scan_store(raw=stored(data), original_name="tps1.jpg", tally=tally, page=1, uploaded_by=officer)
    assert created
    assert scan.raw.name == f"scans/raw/{scan.sha256[:2]}/{scan.sha256}"
    with private_storage.open(scan.raw.name) as raw:
        assert raw.read() == data  # the raw file keeps its metadata: it is the evidence
    assert not default_storage.exists(scan.raw.name)  # and is not among the public files
    scan.refresh_from_db()
    assert scan.status == Scan.Status.READY
    assert (scan.width, scan.height, scan.image_format) == (100, 200, "JPEG")
    assert default_storage.exists(scan.web.name) and default_storage.exists(scan.thumbnail.name)
    assert scan.full.name == f"scans/full/{scan.full_sha256[:2]}/{scan.full_sha256}.jpg"
    with default_storage.open(scan.full.name) as full:
        assert sha256_hex(full.read()) == scan.full_sha256
    assert scan.attempts == 1


def test_the_same_file_twice_is_one_scan(tally, officer, django_capture_on_commit_callbacks):
    data = images.jpeg()
    with django_capture_on_commit_callbacks(execute=True):
        first, created_first = scan_store(
            raw=stored(data), original_name="a.jpg", tally=tally, page=1, uploaded_by=officer
        )
        second, created_second = scan_store(
            raw=stored(data), original_name="b.jpg", tally=tally, page=2, uploaded_by=officer
        )
    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk
    assert Scan.objects.count() == 1


def test_the_ingest_task_is_queued_only_after_commit(tally, officer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        scan, _created = scan_store(
            raw=stored(images.jpeg()), original_name="a.jpg", tally=tally, page=1, uploaded_by=officer
        )
    assert len(callbacks) == 1
    scan.refresh_from_db()
    assert scan.status == Scan.Status.RECEIVED


def test_ingesting_twice_changes_nothing(tally, officer, django_capture_on_commit_callbacks):
    from uploads.services import scan_ingest

    with django_capture_on_commit_callbacks(execute=True):
        scan, _created = scan_store(
            raw=stored(images.jpeg()), original_name="a.jpg", tally=tally, page=1, uploaded_by=officer
        )
    scan.refresh_from_db()
    before = (scan.status, scan.web.name, scan.thumbnail.name, scan.full.name, scan.processed_at, scan.attempts)
    scan_ingest(scan_id=scan.pk)
    scan.refresh_from_db()
    assert (scan.status, scan.web.name, scan.thumbnail.name, scan.full.name, scan.processed_at, scan.attempts) == before


def test_a_bad_file_is_kept_raw_and_rejected_with_a_reason(tally, officer, django_capture_on_commit_callbacks):
    data = images.HTML
    with django_capture_on_commit_callbacks(execute=True):
        scan, _created = scan_store(raw=stored(data), original_name="c1.png", tally=tally, page=1, uploaded_by=officer)
    scan.refresh_from_db()
    assert scan.status == Scan.Status.REJECTED
    assert str(scan.rejection_reason) == "This is a text, HTML or SVG file, not a scanned image."
    assert not scan.web and not scan.thumbnail and not scan.full
    with private_storage.open(scan.raw.name) as raw:
        assert raw.read() == data


def test_an_empty_file_is_refused_before_anything_is_stored(kalbar, receive, private_root):
    batch = receive([("empty.jpg", b"")], station=kalbar["tps_bansir_laut_1"])
    line = batch.files.get()
    assert (line.outcome, str(line.reason)) == ("rejected", "The file is empty (0 bytes).")
    assert Scan.objects.count() == 0
    assert not private_root.exists()


def test_an_officer_cannot_store_a_scan_for_another_region(kalbar, contest, officer, caplog):
    singkawang_tally = Tally.objects.create(contest=contest, station=kalbar["tps_pasiran_1"])
    with caplog.at_level(logging.WARNING, logger="kpuportal.security"), pytest.raises(PermissionDenied):
        scan_store(
            raw=stored(images.jpeg()), original_name="x.jpg", tally=singkawang_tally, page=1, uploaded_by=officer
        )
    assert Scan.objects.count() == 0
    assert "officer-pontianak" in caplog.text and kalbar["tps_pasiran_1"].code in caplog.text


def test_pages_of_one_form_are_numbered_in_order(kalbar, receive):
    files = [(f"page{n}.jpg", images.jpeg(color=(n * 40, 100, 100))) for n in (1, 2, 3)]
    batch = receive(files, station=kalbar["tps_bansir_laut_2"])
    assert list(batch.files.values_list("name", "outcome", "page")) == [
        ("page1.jpg", "accepted", 1),
        ("page2.jpg", "accepted", 2),
        ("page3.jpg", "accepted", 3),
    ]
    scans = Scan.objects.filter(tally__station=kalbar["tps_bansir_laut_2"]).order_by("page")
    assert [(scan.page, scan.original_name, scan.status) for scan in scans] == [
        (1, "page1.jpg", "ready"),
        (2, "page2.jpg", "ready"),
        (3, "page3.jpg", "ready"),
    ]


def test_a_tps_outside_the_contest_region_is_refused(kalbar, receive):
    from tests.factories import ContestFactory

    singkawang_mayor = ContestFactory(region=kalbar["singkawang"], office="mayor", name="Wali Kota Singkawang")
    with pytest.raises(UploadRefused) as refused:
        receive([("a.jpg", images.jpeg())], station=kalbar["tps_bansir_laut_1"], contest=singkawang_mayor)
    assert str(refused.value.reason) == "TPS 61.71.06.1001.001 is not in the region of Wali Kota Singkawang."
    assert Scan.objects.count() == 0


def test_a_scan_that_keeps_killing_its_worker_is_rejected_not_retried_forever(
    tally, officer, django_capture_on_commit_callbacks
):
    from uploads.services import INGEST_MAX_ATTEMPTS, scan_ingest

    with django_capture_on_commit_callbacks(execute=False):
        scan, _created = scan_store(
            raw=stored(images.jpeg()), original_name="a.jpg", tally=tally, page=1, uploaded_by=officer
        )
    # As if each earlier claim had died with its worker before finishing.
    Scan.objects.filter(pk=scan.pk).update(status=Scan.Status.PROCESSING, attempts=INGEST_MAX_ATTEMPTS - 1)
    scan_ingest(scan_id=scan.pk)
    scan.refresh_from_db()
    assert scan.status == Scan.Status.READY

    Scan.objects.filter(pk=scan.pk).update(status=Scan.Status.PROCESSING, attempts=INGEST_MAX_ATTEMPTS)
    scan_ingest(scan_id=scan.pk)
    scan.refresh_from_db()
    assert scan.status == Scan.Status.REJECTED
    assert str(scan.rejection_reason) == "The scan could not be processed. Scan or photograph the page again."
