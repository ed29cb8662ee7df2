"""Queueing the upload tasks, by name.

tasks.py imports the services and the services queue tasks. So that imports
run one way only, a service finds its task in Celery's registry by name
rather than importing tasks.py.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from kpuportal.celery import task_queue, task_queue_on_commit

__all__ = ["INGEST_SCAN", "UNPACK_BATCH", "stuck_requeue", "task_queue", "task_queue_on_commit"]

log = logging.getLogger(__name__)

UNPACK_BATCH = "uploads.tasks.unpack_batch"
INGEST_SCAN = "uploads.tasks.ingest_scan"


def stuck_requeue(rows, task_name, *, older_than=None):
    """Queue the task again for each of `rows` whose status has not moved for a while; returns how many.

    What a dead worker or a broker that was down left behind: the rows are
    durable, the task is idempotent, so queueing twice does no harm.
    """
    older_than = timedelta(seconds=settings.SCAN_STALE_AFTER_SECONDS) if older_than is None else older_than
    stuck = list(rows.filter(status_changed_at__lte=timezone.now() - older_than).values_list("pk", flat=True))
    for pk in stuck:
        task_queue(task_name, pk)
    if stuck:
        log.info("sweeper queued %s again for %d row(s)", task_name, len(stuck))
    return len(stuck)
