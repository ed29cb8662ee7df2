"""End to end on real processes: a Celery worker, a Redis broker, PostgreSQL shared with the worker.

The broker is a redis-server of the test's own on CELERY_BROKER_URL's port, so
that it can be stopped and started again without touching anything else.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.db import connection
from django.urls import reverse
from django.utils import translation
from PIL import Image

from kpuportal.celery import app
from tests.uploads import images
from tests.uploads.conftest import uploaded
from uploads.imaging import ScanRejected, render_scan
from uploads.models import BatchFile, Scan, UploadBatch
from uploads.services import batch_receive, batches_sweep, scans_sweep
from uploads.storage import private_storage

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


class Broker:
    """A redis-server we own, on the port CELERY_BROKER_URL names (make test picks a free one)."""

    def __init__(self, url, directory):
        parsed = urlparse(url)
        if parsed.scheme != "redis" or parsed.hostname not in ("127.0.0.1", "localhost"):
            pytest.fail(f"worker tests need CELERY_BROKER_URL on a loopback redis port of their own, not {url!r}")
        self.port = parsed.port
        self.directory = directory
        self.process = None

    def ping(self):
        result = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
        return result.stdout.strip() == "PONG"

    def start(self):
        if self.ping():
            pytest.fail(f"port {self.port} already has a redis-server the tests do not own")
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory,
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(self.ping, "the broker to answer", timeout=10)

    def stop(self):
        self.process.terminate()
        self.process.wait(10)
        wait_for(lambda: not self.ping(), "the broker to stop", timeout=10)


def answers(hostname):
    """Whether the worker of that name answers Celery's remote-control ping through the broker."""
    # A connection of its own: one from the pool may be stale after a broker restart.
    with app.connection() as connection:
        try:
            return bool(app.control.ping(destination=[hostname], timeout=0.5, connection=connection))
        except connection.connection_errors:
            return False  # the broker itself is not reachable (yet)


def wait_for(condition, what, timeout=60, interval=0.1):
    """The condition's first true value, polled until the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run deploy/install.sh")
    broker = Broker(django_settings.CELERY_BROKER_URL, tmp_path_factory.mktemp("broker"))
    broker.start()
    yield broker
    if broker.process and broker.process.poll() is None:
        broker.stop()


@pytest.fixture
def workers(broker, media_root, private_root, tmp_path):
    """Starts real worker processes; tasks published here go to them, not eagerly."""
    db = connection.settings_dict
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SECRET_KEY": "worker-tests",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "KPU_MEDIA_ROOT": str(media_root),
        "KPU_PRIVATE_ROOT": str(private_root),
        "KPU_DATA_DIR": str(tmp_path),
        # Prefork's temp files too: a worker killed with SIGKILL cannot remove its own.
        "TMPDIR": str(tmp_path),
        # The page cache the tests read, where there is one: what the worker renders ahead lands there.
        **{name: os.environ[name] for name in ("REDIS_URL",) if os.environ.get(name)},
    }
    started = []

    def start():
        log = tmp_path / f"worker-{len(started)}.log"
        hostname = f"test{len(started)}@kpu-worker-tests"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "kpuportal",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "INFO",
                "--hostname",
                hostname,
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        # Ready means it answers on the broker, as it must to take a task; its log's wording may change.
        wait_for(lambda: process.poll() is not None or answers(hostname), "the worker to answer a ping", timeout=60)
        assert process.poll() is None, log.read_text()
        process.log = log
        return process

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield start
    app.conf.task_always_eager = eager
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def upload(contest, officer, files):
    """A bulk upload as the admin makes it; the unpacking is queued for the workers."""
    return batch_receive(contest=contest, files=[uploaded(name, data) for name, data in files], uploaded_by=officer)


def unpacked(batch):
    batch.refresh_from_db()
    return batch.status == UploadBatch.Status.UNPACKED


def statuses():
    return list(Scan.objects.order_by("pk").values_list("status", flat=True))


def all_final():
    return all(status in (Scan.Status.READY, Scan.Status.REJECTED) for status in statuses())


def test_an_upload_in_the_admin_becomes_ready_on_a_real_worker(kalbar, contest, officer, client, workers, admin_upload):
    workers()
    client.force_login(officer)
    response = admin_upload(
        client, contest, kalbar["tps_bansir_laut_1"], ("c1-hal1.jpg", images.photo_with_gps_rotated())
    )
    assert response.status_code == 302
    wait_for(lambda: statuses() == [Scan.Status.READY], "the scan to be ready")
    scan = Scan.objects.get()
    assert (scan.width, scan.height) == (100, 200)
    with default_storage.open(scan.web.name) as web:
        assert Image.open(web).size == (100, 200)
    assert default_storage.exists(scan.thumbnail.name)
    with default_storage.open(scan.full.name) as full:
        assert Image.open(full).size == (100, 200)


def rejection(data):
    with pytest.raises(ScanRejected) as rejected:
        render_scan(data, max_pixels=django_settings.SCAN_MAX_PIXELS)
    return str(rejected.value.reason)  # in the active language


def test_bad_files_are_rejected_and_the_worker_lives_on(kalbar, contest, officer, workers):
    worker = workers()
    bad = {
        "61.71.06.1001.001-1.jpg": b"",
        "61.71.06.1001.001-2.jpg": images.truncated_jpeg(),
        "61.71.06.1001.001-3.jpg": images.TEXT,
        "61.71.06.1001.001-4.png": images.HTML,
        "61.71.06.1001.001-5.png": images.SVG,
        "61.71.06.1001.001-6.png": images.png_declaring(50_000, 50_000),
        "61.71.06.1001.001-7.tif": images.multipage_tiff(3),
        "61.71.06.1001.001-8.jpg": images.encoded("BMP"),
    }
    batch = upload(contest, officer, bad.items())
    wait_for(lambda: unpacked(batch) and Scan.objects.count() == len(bad) - 1, "the upload to be unpacked")
    wait_for(all_final, "every scan to be ingested")
    assert worker.poll() is None
    assert batch.files.get(name="61.71.06.1001.001-1.jpg").outcome == BatchFile.Outcome.REJECTED
    assert set(Scan.objects.values_list("status", flat=True)) == {Scan.Status.REJECTED}
    # Each file got its own reason, stored as a code and shown in the reader's language.
    scans = {scan.original_name: scan for scan in Scan.objects.all()}
    for language in ("id", "en"):
        with translation.override(language):
            reasons = {name: str(scan.rejection_reason) for name, scan in scans.items()}
            assert reasons == {name: rejection(data) for name, data in bad.items() if data}
    with translation.override("id"):
        assert "tidak lengkap" in str(scans["61.71.06.1001.001-2.jpg"].rejection_reason)
    # The same worker still ingests a good scan afterwards.
    upload(contest, officer, [("61.71.06.1001.002-1.jpg", images.jpeg())])
    wait_for(lambda: Scan.objects.filter(status=Scan.Status.READY).count() == 1, "the good scan to be ready")


def noisy_scan(seed):
    noise = Image.effect_noise((2480, 3508), 40 + seed).convert("RGB")
    from io import BytesIO

    out = BytesIO()
    noise.save(out, "JPEG", quality=92)
    return out.getvalue()


def test_a_worker_killed_mid_task_loses_no_scan(kalbar, contest, officer, workers):
    worker = workers()
    files = [(f"61.71.06.1001.{1 + n // 5:03d}-{1 + n % 5}.jpg", noisy_scan(n)) for n in range(10)]
    upload(contest, officer, files)
    wait_for(lambda: Scan.Status.PROCESSING in statuses(), "a scan to be in processing", interval=0.01)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    assert not all_final(), "the worker finished everything before it was killed"

    workers()
    assert scans_sweep(older_than=timedelta(0)) > 0
    wait_for(all_final, "every scan to be ingested after the restart", timeout=120)
    assert set(statuses()) == {Scan.Status.READY}
    assert len(statuses()) == 10


def test_an_upload_while_the_broker_is_down_is_ready_after_recovery(
    kalbar, contest, officer, client, broker, workers, admin_upload
):
    broker.stop()
    try:
        client.force_login(officer)
        started = time.monotonic()
        response = admin_upload(client, contest, kalbar["tps_bansir_laut_2"], ("c1.jpg", images.jpeg()))
        assert response.status_code == 302
        assert time.monotonic() - started < 5
        arrival = UploadBatch.objects.get().arrivals.get()
        assert private_storage.exists(arrival.blob.name)  # durable before anything is queued
    finally:
        broker.start()
    workers()
    assert batches_sweep(older_than=timedelta(0)) == 1
    wait_for(lambda: statuses() == [Scan.Status.READY], "the scan to be ready after the broker came back")


def test_a_bulk_upload_while_the_broker_is_down_answers_at_once_and_is_ready_after_recovery(
    kalbar, contest, officer, client, broker, workers
):
    files = [(f"61.71.06.1001.{1 + n // 40:03d}-{1 + n % 40}.jpg", images.jpeg(color=(n * 3, 0, 0))) for n in range(80)]
    broker.stop()
    try:
        client.force_login(officer)
        started = time.monotonic()
        response = client.post(
            reverse("admin:uploads_scan_bulk_upload"),
            {"contest": contest.pk, "files": [uploaded(name, data) for name, data in files]},
        )
        elapsed = time.monotonic() - started
        assert response.status_code == 302
        assert elapsed < 5, f"the request waited {elapsed:.1f}s on the broker"
        batch = UploadBatch.objects.get()
        assert batch.status == UploadBatch.Status.RECEIVED and batch.arrivals.count() == 80
    finally:
        broker.start()
    workers()
    assert batches_sweep(older_than=timedelta(0)) == 1
    wait_for(lambda: unpacked(batch), "the upload to be unpacked after the broker came back")
    wait_for(lambda: len(statuses()) == 80 and all_final(), "every scan to be ready", timeout=120)
    assert set(statuses()) == {Scan.Status.READY}


def test_a_hanging_broker_does_not_hang_the_upload(kalbar, contest, officer, client, broker, admin_upload):
    broker.process.send_signal(signal.SIGSTOP)  # accepts connections, never answers
    try:
        client.force_login(officer)
        started = time.monotonic()
        response = admin_upload(client, contest, kalbar["tps_bansir_laut_1"], ("c1.jpg", images.jpeg()))
        elapsed = time.monotonic() - started
    finally:
        broker.process.send_signal(signal.SIGCONT)
    assert response.status_code == 302
    assert elapsed < 5, f"the request waited {elapsed:.1f}s on the broker"
    assert UploadBatch.objects.get().arrivals.count() == 1


def test_two_officers_uploading_the_same_files_in_opposite_order_lose_nothing(kalbar, contest, officer, workers):
    """Once a deadlock in PostgreSQL every time; each file now has its own short transaction."""
    from results.services import officer_create

    colleague = officer_create(username="officer-pontianak-2", region=kalbar["pontianak"], password="pw-for-tests-2")
    workers()
    workers()
    for round_ in range(3):
        files = [
            (f"61.71.06.1001.00{n}-{round_ + 1}.jpg", images.jpeg(color=(round_ * 80, n * 100, 5))) for n in (1, 2)
        ]
        first = upload(contest, officer, files)
        second = upload(contest, colleague, list(reversed(files)))
        wait_for(lambda: unpacked(first) and unpacked(second), "both uploads to be unpacked")
        for batch in (first, second):
            assert batch.files.count() == 2
        outcomes = sorted(BatchFile.objects.filter(batch__in=[first, second]).values_list("outcome", flat=True))
        assert outcomes == ["accepted", "accepted", "duplicate", "duplicate"]
    assert Scan.objects.count() == 6
