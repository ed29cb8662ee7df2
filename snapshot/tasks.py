"""Keeping the snapshot at most a minute behind the live site, and its bucket copy with it."""

import logging

from celery import shared_task

from kpuportal.celery import task_queue

from .services import (
    SnapshotBusy,
    snapshot_build,
    snapshot_compact,
    snapshot_compaction_due,
    snapshot_publish,
    snapshot_storage,
    snapshot_trash_empty,
)

log = logging.getLogger(__name__)

COMPACT_SNAPSHOT = "snapshot.tasks.compact_snapshot"
EMPTY_SNAPSHOT_TRASH = "snapshot.tasks.empty_snapshot_trash"


# A first build (or one after a deploy changed the templates) renders every page: far longer than
# the minute a task gets by default. The build lock makes the minute's next runs skip meanwhile.
@shared_task(ignore_result=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60)
def refresh_snapshot():
    """Build the next snapshot with what changed, then publish it to the bucket if there is one.

    Skips quietly if a build or publish is still running: the next run catches up.
    A bucket error fails the task after the build, which stays current locally.
    A layer grown past its share of the base queues its compaction, which runs beside the next builds.
    """
    try:
        built = snapshot_build()
    except SnapshotBusy:
        log.info("snapshot: the previous build is still running")
        return None
    log.info("snapshot %d: %d rendered, %d unchanged", built.generation, built.rendered, built.reused)
    task_queue(EMPTY_SNAPSHOT_TRASH)
    if snapshot_compaction_due():
        task_queue(COMPACT_SNAPSHOT)
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


# Nationally, minutes of hard links: far longer than a minute, never in the way of the builds.
@shared_task(ignore_result=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60)
def compact_snapshot():
    """Write the current snapshot out whole, the base of the next builds; skips if a compaction runs already."""
    try:
        compacted = snapshot_compact()
    except SnapshotBusy:
        log.info("snapshot: a compaction is running already")
        return None
    if compacted is not None:
        log.info(
            "snapshot %d written whole: %d files, %.1f s", compacted.generation, compacted.files, compacted.seconds
        )
    return compacted and compacted.generation


@shared_task(ignore_result=True, soft_time_limit=3600, time_limit=3600 + 60)
def empty_snapshot_trash():
    """Delete the generations the builds set aside, in a worker of its own, never in a build's minute."""
    emptied = snapshot_trash_empty()
    if emptied:
        log.info("snapshot: %d generations deleted", emptied)
