"""Checking a stored scan and making its public renditions; re-queueing what got stuck."""

import logging

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from ..imaging import ScanRejected, render_scan, sha256_hex
from ..models import Scan
from ..reasons import Reason
from ..storage import rendition_put
from .queueing import INGEST_SCAN, stuck_requeue

log = logging.getLogger(__name__)

# A file that kills the worker every time (a decoder crash, the memory or time
# limit) must not be redelivered forever: after this many claims it is rejected.
INGEST_MAX_ATTEMPTS = 5


def _set_status(scan_id, status, **fields):
    """Move a scan that is still processing; a final status is never overwritten."""
    return Scan.objects.filter(pk=scan_id, status=Scan.Status.PROCESSING).update(
        status=status, status_changed_at=timezone.now(), **fields
    )


def _reject(scan_id, reason):
    return _set_status(
        scan_id,
        Scan.Status.REJECTED,
        rejection_code=reason.code,
        rejection_params=reason.params,
        processed_at=timezone.now(),
    )


def scan_ingest(*, scan_id):
    """Verify a stored scan and make its renditions. Idempotent and safe to run twice at once.

    Bad files end as rejected with a reason. Storage and database errors
    propagate, for the task to retry; the raw file is only ever read.
    """
    claimed = Scan.objects.filter(pk=scan_id, status__in=[Scan.Status.RECEIVED, Scan.Status.PROCESSING]).update(
        status=Scan.Status.PROCESSING, status_changed_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return  # already ready or rejected, or gone
    scan = Scan.objects.get(pk=scan_id)
    if scan.attempts > INGEST_MAX_ATTEMPTS:
        _reject(scan_id, Reason("gave_up"))
        log.error("scan %s: rejected after %d ingest attempts", scan_id, scan.attempts - 1)
        return
    with scan.raw.open("rb") as handle:
        data = handle.read()
    if sha256_hex(data) != scan.sha256:
        _reject(scan_id, Reason("stored_damaged"))
        log.error("scan %s: stored bytes do not match sha256 %s", scan_id, scan.sha256)
        return
    try:
        renditions = render_scan(data, max_pixels=settings.SCAN_MAX_PIXELS)
    except ScanRejected as rejected:
        _reject(scan_id, rejected.reason)
        return
    web, web_sha256 = rendition_put("web", renditions.web)
    thumbnail, thumbnail_sha256 = rendition_put("thumbnail", renditions.thumbnail)
    full, full_sha256 = rendition_put("full", renditions.full)
    _set_status(
        scan_id,
        Scan.Status.READY,
        image_format=renditions.format,
        width=renditions.width,
        height=renditions.height,
        web=web,
        web_sha256=web_sha256,
        thumbnail=thumbnail,
        thumbnail_sha256=thumbnail_sha256,
        full=full,
        full_sha256=full_sha256,
        rejection_code="",
        rejection_params={},
        processed_at=timezone.now(),
    )


def scans_sweep(*, older_than=None):
    """Queue again every scan stuck in received or processing (dead worker, broker down)."""
    waiting = Scan.objects.filter(status__in=[Scan.Status.RECEIVED, Scan.Status.PROCESSING])
    return stuck_requeue(waiting, INGEST_SCAN, older_than=older_than)
