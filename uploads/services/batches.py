"""An upload: the request keeps what arrived, a task unpacks it into the report, line by line.

The request does as little as it can (stream each file to the private store
under its sha256, one short transaction, queue one task) so that a slow
link, a big zip or a dead broker cannot turn it into an error after the
files were kept. The task unpacks zips, reads which TPS and page each file
is, and stores it as a scan: one short transaction per file, in the order
tally -> scan -> report line, so that two uploads of the same files in any
order cannot deadlock. It can run again at any point: lines already written
are skipped.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from results import codes
from results.access import station_access_require, user_may_access_station
from results.models import PollingStation, Tally

from ..archives import (
    FileRefused,
    InflateBudget,
    ZipLimits,
    display_name,
    is_zip,
    scan_file_name_parse,
    zip_members,
)
from ..models import Arrival, BatchFile, UploadBatch
from ..reasons import Reason, Refusal
from ..storage import StoredFile, file_sha256, raw_put
from .queueing import UNPACK_BATCH, stuck_requeue, task_queue_on_commit
from .storing import scan_store

log = logging.getLogger(__name__)

# An upload whose unpacking kills the worker every time is given up after this many claims.
UNPACK_MAX_ATTEMPTS = 5


class UploadRefused(Refusal):
    """The whole upload is refused before anything is kept (a TPS outside the officer's region or the contest)."""


def _station_check(*, contest, station, user):
    try:
        station_access_require(user=user, station=station)
    except PermissionDenied:
        raise UploadRefused("outside_region", code=station.code) from None
    if not contest.covers(station.code):
        raise UploadRefused("outside_contest", code=station.code, contest=str(contest))


def _head(file):
    file.seek(0)
    head = file.read(4)
    file.seek(0)
    return head


def batch_receive(*, contest, files, uploaded_by, station=None, first_page=1):
    """Keep every uploaded file, record the upload and queue its unpacking; returns the UploadBatch.

    `files` are Django uploaded files (or any File with a name and a size).
    With `station`, they are the pages of that TPS's form in order, from
    `first_page`; without, a bulk upload whose file names say TPS and page.
    A file too large or empty is not kept: it gets its report line at once.
    """
    if station is not None:
        _station_check(contest=contest, station=station, user=uploaded_by)
    arrivals, refused = [], []
    for position, file in enumerate(files, start=1):
        name = display_name(file.name or "")
        zipped = station is None and is_zip(name, _head(file))
        limit = settings.ZIP_MAX_BYTES if zipped else settings.SCAN_MAX_BYTES
        # The size is known before a byte is read: Django spooled the file to disk.
        if file.size == 0 or file.size > limit:
            if file.size == 0:
                refused.append((position, name, Reason("empty")))
            else:
                refused.append((position, name, Reason("too_large", {"size_bytes": file.size, "limit_bytes": limit})))
            continue
        sha256, size = file_sha256(file)
        kept = raw_put(file, sha256=sha256, size=size)
        arrivals.append(
            Arrival(position=position, name=name, sha256=sha256, size_bytes=size, blob=kept.name, is_zip=zipped)
        )
    with transaction.atomic():
        batch = UploadBatch.objects.create(
            contest=contest,
            station=station,
            first_page=first_page if station is not None else None,
            uploaded_by=uploaded_by,
            status=UploadBatch.Status.RECEIVED if arrivals else UploadBatch.Status.UNPACKED,
        )
        for arrival in arrivals:
            arrival.batch = batch
        Arrival.objects.bulk_create(arrivals)
        BatchFile.objects.bulk_create(
            BatchFile(
                batch=batch,
                name=name,
                outcome=BatchFile.Outcome.REJECTED,
                reason_code=reason.code,
                reason_params=reason.params,
                page=first_page + position - 1 if station is not None else None,
                station=station,
            )
            for position, name, reason in refused
        )
        if arrivals:
            task_queue_on_commit(UNPACK_BATCH, batch.pk)
    return batch


def _zip_limits(batch):
    """The inflate budget of the whole upload: a fixed cap, and a ratio to the size of its zips."""
    zipped = sum(batch.arrivals.filter(is_zip=True).values_list("size_bytes", flat=True))
    by_ratio = settings.UPLOAD_MAX_RATIO * zipped
    if by_ratio < settings.UPLOAD_MAX_INFLATED_BYTES:
        budget, reason, params = by_ratio, "upload_ratio", {"limit": settings.UPLOAD_MAX_RATIO}
    else:
        budget, reason = settings.UPLOAD_MAX_INFLATED_BYTES, "upload_inflated"
        params = {"limit_bytes": settings.UPLOAD_MAX_INFLATED_BYTES}
    return ZipLimits(
        member_max_bytes=settings.SCAN_MAX_BYTES,
        member_max_ratio=settings.ZIP_MEMBER_MAX_RATIO,
        max_members=settings.ZIP_MAX_MEMBERS,
        budget=InflateBudget(max_bytes=budget),
        budget_reason=reason,
        budget_params=params,
    )


def batch_unpack(*, batch_id):
    """Unpack, name and store every arrived file of an upload, one report line each. Safe to run again."""
    claimed = UploadBatch.objects.filter(
        pk=batch_id, status__in=[UploadBatch.Status.RECEIVED, UploadBatch.Status.UNPACKING]
    ).update(status=UploadBatch.Status.UNPACKING, status_changed_at=timezone.now(), attempts=F("attempts") + 1)
    if not claimed:
        return  # unpacked already, or gone
    batch = UploadBatch.objects.select_related("contest__region", "station", "uploaded_by").get(pk=batch_id)
    limits = _zip_limits(batch)
    for arrival in batch.arrivals.filter(unpacked=False):
        written = set(arrival.lines.values_list("member", flat=True))
        if batch.attempts > UNPACK_MAX_ATTEMPTS:
            if not written:
                _line_write(batch, arrival, 0, arrival.name, refusal=Refusal("gave_up"))
            log.error("upload %s: gave up unpacking %s after %d attempts", batch_id, arrival.name, batch.attempts - 1)
        elif arrival.is_zip:
            _zip_unpack(batch, arrival, written, limits)
        elif 0 not in written:
            raw = StoredFile(name=arrival.blob.name, sha256=arrival.sha256, size=arrival.size_bytes)
            _line_write(batch, arrival, 0, arrival.name, raw=raw)
        Arrival.objects.filter(pk=arrival.pk).update(unpacked=True)
    UploadBatch.objects.filter(pk=batch_id).update(status=UploadBatch.Status.UNPACKED, status_changed_at=timezone.now())


def _zip_unpack(batch, arrival, written, limits):
    with arrival.blob.open("rb") as archive:
        try:
            for member in zip_members(archive, limits=limits, skip=written):
                try:
                    if member.refusal:
                        _line_write(batch, arrival, member.index, member.name, refusal=member.refusal)
                    else:
                        raw = raw_put(member.content, sha256=member.sha256, size=member.size)
                        _line_write(batch, arrival, member.index, member.name, raw=raw)
                finally:
                    member.close()
        except FileRefused as refused:
            if 0 not in written:
                _line_write(batch, arrival, 0, arrival.name, refusal=refused)


def _station_named(name):
    """The TPS and page a bulk file's name says; FileRefused when it says none that exists."""
    parsed = scan_file_name_parse(name)
    try:
        code = codes.normalize_station_code(parsed.code)
    except codes.CodeError:
        raise FileRefused("bad_tps_code", code=parsed.code) from None
    station = PollingStation.objects.filter(code=code).first()
    if station is None:
        raise FileRefused("no_tps", code=code)
    return station, parsed.page


def _line_write(batch, arrival, member, name, *, raw=None, refusal=None):
    """Write one line of the report, storing the scan first when the file is good: one short transaction."""
    line = BatchFile(batch=batch, arrival=arrival, member=member, name=name)
    try:
        if refusal is not None:
            raise refusal
        if batch.station is not None:
            line.station, line.page = batch.station, batch.first_page + arrival.position - 1
        else:
            line.station, line.page = _station_named(name)
        _station_check(contest=batch.contest, station=line.station, user=batch.uploaded_by)
        with transaction.atomic():
            tally, _created = Tally.objects.get_or_create(contest=batch.contest, station=line.station)
            scan, created = scan_store(
                raw=raw, original_name=name, tally=tally, page=line.page, uploaded_by=batch.uploaded_by
            )
            line.scan = scan
            if created:
                line.outcome = BatchFile.Outcome.ACCEPTED
            else:
                _duplicate_describe(line, scan, batch.uploaded_by)
            return _line_save(line)
    except Refusal as refused:
        line.outcome = BatchFile.Outcome.REJECTED
        line.reason_code, line.reason_params = refused.reason.code, refused.reason.params
        with transaction.atomic():
            return _line_save(line)


def _duplicate_describe(line, scan, user):
    """Say what the same bytes already are, without showing another region's TPS.

    The same image under another TPS is a sign of a misfiled form: the line
    keeps the TPS it was uploaded for, and the scan admin flags the pair.
    """
    line.outcome = BatchFile.Outcome.DUPLICATE
    station = scan.tally.station
    if station.pk == line.station.pk:
        line.reason_code, line.reason_params = "duplicate", {"code": station.code, "page": scan.page}
    elif user_may_access_station(user, station):
        line.reason_code, line.reason_params = "filed_under", {"code": station.code, "page": scan.page}
    else:
        line.reason_code, line.reason_params = "filed_elsewhere", {}


def _line_save(line):
    try:
        with transaction.atomic():
            line.save()
    except IntegrityError:
        # The same task ran twice at once and the other run wrote this line.
        return BatchFile.objects.get(arrival=line.arrival, member=line.member)
    return line


def batches_sweep(*, older_than=None):
    """Queue again every upload not yet unpacked (dead worker, broker down)."""
    waiting = UploadBatch.objects.filter(status__in=[UploadBatch.Status.RECEIVED, UploadBatch.Status.UNPACKING])
    return stuck_requeue(waiting, UNPACK_BATCH, older_than=older_than)
