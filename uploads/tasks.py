"""Celery tasks: they take ids and call the service; everything else lives in services.py."""

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from django.db import DatabaseError

from . import services

# Worth another try later: the database or the storage was unreachable. A bad
# file is never among these; it ends as a rejected scan on the first run.
TRANSIENT_ERRORS = (DatabaseError, OSError, BotoCoreError, ClientError)


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
)
def ingest_scan(scan_id):
    services.scan_ingest(scan_id=scan_id)


@shared_task
def sweep_scans():
    return services.scans_sweep()
