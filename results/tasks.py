"""Periodic tasks of the results app: they call the domain functions and record what they found."""

import logging

from celery import shared_task

from .integrity import integrity_check
from .models import Contest, IntegrityCheck, TallyRevision
from .pages import pages_refresh
from .services import contest_head_record

log = logging.getLogger(__name__)


@shared_task
def check_integrity():
    """Recompute every chain and every total; record the run, and shout if anything drifted."""
    readings = TallyRevision.objects.count()
    mismatches = integrity_check()
    IntegrityCheck.objects.create(
        readings=readings, mismatches=[{"contest": m.contest, "where": m.where, "what": m.what} for m in mismatches]
    )
    for mismatch in mismatches:
        log.error("integrity: %s", mismatch)
    return len(mismatches)


@shared_task
def record_heads():
    """Append each contest's head to its log when it moved."""
    for contest in Contest.objects.all():
        contest_head_record(contest)


@shared_task(ignore_result=True)
def refresh_pages(contest_id, _station_code=None):
    """Render the contest's hot pages that moved, so no visitor pays for their render.

    (Messages queued before a deploy of this version still carry the TPS's code; it is not needed.)
    """
    contest = Contest.objects.select_related("election", "region").filter(pk=contest_id).first()
    if contest is not None:
        pages_refresh(contest)
