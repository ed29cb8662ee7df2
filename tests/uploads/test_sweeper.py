from datetime import timedelta

import pytest
from celery.beat import Scheduler
from django.utils import timezone

from kpuportal.celery import app
from results.models import Tally
from tests.uploads import images
from tests.uploads.conftest import stored
from uploads.models import Scan
from uploads.services import scan_store, scans_sweep
from uploads.tasks import sweep_scans


@pytest.fixture
def stuck_scans(kalbar, contest, officer, django_capture_on_commit_callbacks):
    """Three scans whose ingest never ran, as after a broker outage: committed, never queued."""
    tally = Tally.objects.create(contest=contest, station=kalbar["tps_bansir_laut_1"])
    with django_capture_on_commit_callbacks(execute=False):
        scans = [
            scan_store(
                raw=stored(images.jpeg(color=(n, n, n))),
                original_name=f"{n}.jpg",
                tally=tally,
                page=n,
                uploaded_by=officer,
            )[0]
            for n in (1, 2, 3)
        ]
    return scans


def test_the_sweeper_queues_scans_stuck_in_received_or_processing(stuck_scans):
    old = timezone.now() - timedelta(minutes=10)
    Scan.objects.filter(pk=stuck_scans[0].pk).update(status_changed_at=old)
    Scan.objects.filter(pk=stuck_scans[1].pk).update(status=Scan.Status.PROCESSING, status_changed_at=old)
    assert scans_sweep(older_than=timedelta(minutes=5)) == 2
    statuses = dict(Scan.objects.values_list("pk", "status"))
    assert statuses[stuck_scans[0].pk] == statuses[stuck_scans[1].pk] == Scan.Status.READY
    assert statuses[stuck_scans[2].pk] == Scan.Status.RECEIVED  # too recent: its task may still come


def test_the_periodic_task_uses_the_configured_age(stuck_scans, settings):
    settings.SCAN_STALE_AFTER_SECONDS = 0
    assert sweep_scans.delay().get() == 3
    assert set(Scan.objects.values_list("status", flat=True)) == {Scan.Status.READY}
    assert sweep_scans.delay().get() == 0


def test_beat_queues_the_sweep_it_schedules(stuck_scans, settings):
    """Beat names the task by a string: a renamed or moved task would leave it queueing nothing."""
    settings.SCAN_STALE_AFTER_SECONDS = 0
    scheduler = Scheduler(app, lazy=True)
    entry = scheduler.Entry(name="sweep-stuck-scans", app=app, **app.conf.beat_schedule["sweep-stuck-scans"])
    assert scheduler.apply_async(entry, advance=False).get() == 3
    assert set(Scan.objects.values_list("status", flat=True)) == {Scan.Status.READY}
