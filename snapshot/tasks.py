"""Keeping the snapshot at most a minute behind the live site, and its bucket copy with it."""

import logging

from celery import shared_task

from .services import SnapshotBusy, snapshot_build, snapshot_publish, snapshot_storage

log = logging.getLogger(__name__)


# A first build (or one after a deploy changed the templates) renders every page: far longer than
# the minute a task gets by default. The build lock makes the minute's next runs skip meanwhile.
@shared_task(ignore_result=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60)
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
