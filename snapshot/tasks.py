"""Keeping the snapshot at most a minute behind the live site, and its bucket copy with it."""

import logging

from celery import shared_task

from .services import SnapshotBusy, snapshot_build, snapshot_publish, snapshot_storage

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def refresh_snapshot():
    """Build the next snapshot with what changed, then publish it to the bucket if there is one.

    Skips quietly if a build or publish is still running: the next run catches up.
    A bucket error fails the task after the build, which stays current locally.
    """
    try:
        built = snapshot_build()
    except SnapshotBusy:
        log.info("snapshot: the previous build is still running")
        return None
    log.info("snapshot %d: %d rendered, %d unchanged", built.generation, built.rendered, built.reused)
    if snapshot_storage() is not None:
        try:
            published = snapshot_publish()
        except SnapshotBusy:
            log.info("snapshot %d: another build or publish started; the next run publishes", built.generation)
            return built.generation
        log.info(
            "snapshot %d published: %d uploaded, %d unchanged, %d deleted",
            published.generation,
            published.uploaded,
            published.unchanged,
            published.deleted,
        )
    return built.generation
