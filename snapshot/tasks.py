"""Keeping the snapshot at most a minute behind the live site."""

import logging

from celery import shared_task

from .services import SnapshotBusy, snapshot_build

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def refresh_snapshot():
    """Build the next snapshot with what changed; skip quietly if the previous build is still running."""
    try:
        built = snapshot_build()
    except SnapshotBusy:
        log.info("snapshot: the previous build is still running")
        return None
    log.info("snapshot %d: %d rendered, %d unchanged", built.generation, built.rendered, built.reused)
    return built.generation
