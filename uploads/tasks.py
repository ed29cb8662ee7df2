"""Celery tasks: they take ids and call a service. Services queue them by name (services/queueing.py)."""

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from django.db import DatabaseError

from .services import batch_unpack, batches_sweep, scan_ingest, scans_sweep

# Worth another try later: the database or the storage was unreachable. A bad
# file is never among these; it ends as a rejected scan or line on the first run.
TRANSIENT_ERRORS = (DatabaseError, OSError, BotoCoreError, ClientError)

RETRIED = {
    "acks_late": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 10,
}


# Unpacking a district's zip takes longer than checking one scan (the global
# limits); a run cut short resumes where it stopped when the sweeper queues it.
@shared_task(**RETRIED, soft_time_limit=600, time_limit=660)
def unpack_batch(batch_id):
    batch_unpack(batch_id=batch_id)


@shared_task(**RETRIED)
def ingest_scan(scan_id):
    scan_ingest(scan_id=scan_id)


@shared_task
def sweep_scans():
    """Uploads first: unpacking one may add scans for the second sweep to find."""
    return batches_sweep() + scans_sweep()
