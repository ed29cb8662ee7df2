"""The periodic backup: one new backup, then only the newest KPU_BACKUP_KEEP kept."""

import logging

from celery import shared_task
from django.conf import settings

from .services import BackupBusy, backup_make, backups_prune

log = logging.getLogger(__name__)

# A dump outlasts the default task limits (a minute). If the broker hands the
# task out again while it runs (visibility timeout), the second run finds the
# lock taken and skips.
HOURS = 3600


@shared_task(ignore_result=True, soft_time_limit=6 * HOURS, time_limit=6 * HOURS + 60)
def make_backup():
    try:
        made = backup_make()
        pruned = backups_prune(keep=settings.BACKUP_KEEP)
    except BackupBusy:
        log.info("backup: another backup or restore is running")
        return None
    log.info("backup %s: %d bytes in %.1f s; deleted %s", made.name, made.dump_bytes, made.seconds, pruned or "none")
    return made.name
