"""A raw file kept in the private store becomes a Scan of one page of a C1 form."""

from django.db import IntegrityError, transaction

from results.access import station_access_require

from ..models import Scan
from .queueing import INGEST_SCAN, task_queue_on_commit


def scan_store(*, raw, original_name, tally, page, uploaded_by):
    """Record the scan of `raw` (a StoredFile) and queue its ingest once committed.

    Returns (scan, created): bytes that are a scan already give that scan,
    whichever TPS it was filed under; the caller decides what that means.
    """
    station_access_require(user=uploaded_by, station=tally.station)
    existing = Scan.objects.filter(sha256=raw.sha256).select_related("tally__station").first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            scan = Scan.objects.create(
                sha256=raw.sha256,
                tally=tally,
                page=page,
                raw=raw.name,
                original_name=original_name[-255:],
                size_bytes=raw.size,
                uploaded_by=uploaded_by,
            )
    except IntegrityError:
        # The same bytes arrived at the same moment from someone else.
        return Scan.objects.select_related("tally__station").get(sha256=raw.sha256), False
    task_queue_on_commit(INGEST_SCAN, scan.pk)
    return scan, True
