"""Storing uploaded scans durably, ingesting them, and sweeping up what got stuck."""

import logging
import posixpath
import re
import zipfile
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerUnavailable

from results import codes
from results.models import PollingStation, Tally
from results.services import station_access_require

from .imaging import ScanRejected, render_scan, sha256_hex
from .models import BatchFile, Scan, UploadBatch

log = logging.getLogger(__name__)

# "61.71.06.1001.001-1.jpg" or "6171061001001_2.png": TPS code, page, image type.
SCAN_FILE_NAME = re.compile(r"^(?P<code>[0-9.]+)[-_](?P<page>\d{1,2})\.(?P<extension>[A-Za-z]{3,4})$")
SCAN_EXTENSIONS = {"jpg", "jpeg", "png", "webp", "tif", "tiff"}
# A zip may hold a whole district's forms, not a whole province's.
ZIP_MAX_MEMBERS = 2000
# A file that kills the worker every time (a decoder crash) must not be
# redelivered forever: after this many claims it is rejected.
INGEST_MAX_ATTEMPTS = 5


class UploadRefused(Exception):
    """A file that is not stored at all; `reason` is shown in the upload report."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _content_path(kind, digest, suffix=""):
    return f"scans/{kind}/{digest[:2]}/{digest}{suffix}"


def _storage_put(name, data):
    """Write content-addressed bytes once. A complete copy already there is kept as it is."""
    if default_storage.exists(name):
        if default_storage.size(name) == len(data):
            return name
        # Only a write cut short leaves a different size under a content address.
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(data))


def _too_large(size):
    return UploadRefused(
        _("The file is %(size)s; at most %(limit)s is accepted.")
        % {"size": filesizeformat(size), "limit": filesizeformat(settings.SCAN_MAX_BYTES)}
    )


def scan_ingest_queue(scan_id):
    """Queue the ingest; with the broker down the scan waits, durable, for the sweeper."""
    # Imported here: tasks.py imports this module.
    from .tasks import ingest_scan

    try:
        ingest_scan.delay(scan_id)
    except BrokerUnavailable:
        log.warning("broker unreachable: scan %s stays received until the sweeper queues it", scan_id)


def scan_store(*, data, original_name, tally, page, uploaded_by):
    """Keep the raw bytes, then the Scan row; queue the ingest only once both are committed.

    Returns (scan, created): the same bytes uploaded again give the scan already stored.
    """
    station_access_require(user=uploaded_by, station=tally.station)
    if not data:
        raise UploadRefused(_("The file is empty (0 bytes)."))
    if len(data) > settings.SCAN_MAX_BYTES:
        raise _too_large(len(data))
    digest = sha256_hex(data)
    existing = Scan.objects.filter(sha256=digest).first()
    if existing:
        return existing, False
    name = _storage_put(_content_path("raw", digest), data)
    try:
        with transaction.atomic():
            scan = Scan.objects.create(
                sha256=digest,
                tally=tally,
                page=page,
                raw=name,
                original_name=original_name[-255:],
                size_bytes=len(data),
                uploaded_by=uploaded_by,
            )
    except IntegrityError:
        # The same bytes arrived at the same moment from someone else.
        return Scan.objects.get(sha256=digest), False
    # robust: whatever happens to the queueing, the upload itself has succeeded.
    transaction.on_commit(partial(scan_ingest_queue, scan.pk), robust=True)
    return scan, True


def _duplicate_reason(scan):
    return _("Already uploaded as TPS %(code)s page %(page)d.") % {
        "code": scan.tally.station.code,
        "page": scan.page,
    }


def _record(batch, name, store):
    """Run one file's store step and write its line of the upload report."""
    try:
        scan, created = store()
    except (UploadRefused, PermissionDenied) as refused:
        reason = refused.reason if isinstance(refused, UploadRefused) else str(refused)
        return BatchFile.objects.create(batch=batch, name=name, outcome=BatchFile.Outcome.REJECTED, reason=reason)
    if created:
        return BatchFile.objects.create(batch=batch, name=name, outcome=BatchFile.Outcome.ACCEPTED, scan=scan)
    return BatchFile.objects.create(
        batch=batch, name=name, outcome=BatchFile.Outcome.DUPLICATE, scan=scan, reason=_duplicate_reason(scan)
    )


def _tally_for(contest, station, user):
    station_access_require(user=user, station=station)
    if not contest.covers(station.code):
        raise UploadRefused(
            _("TPS %(code)s is not in the region of %(contest)s.") % {"code": station.code, "contest": contest}
        )
    tally, _created = Tally.objects.get_or_create(contest=contest, station=station)
    return tally


def upload_form_pages(*, contest, station, files, uploaded_by, first_page=1):
    """Pages of one C1 form, in order: `files` is [(name, bytes)]."""
    with transaction.atomic():
        tally = _tally_for(contest, station, uploaded_by)
        batch = UploadBatch.objects.create(contest=contest, uploaded_by=uploaded_by)
        for offset, (name, data) in enumerate(files):
            _record(
                batch,
                name,
                partial(
                    scan_store,
                    data=data,
                    original_name=name,
                    tally=tally,
                    page=first_page + offset,
                    uploaded_by=uploaded_by,
                ),
            )
    return batch


def _zip_members(name, data):
    """(name, bytes or UploadRefused) for each file in a zip, checked before it is inflated."""
    try:
        archive = zipfile.ZipFile(ContentFile(data))
    except (zipfile.BadZipFile, OSError):
        yield name, UploadRefused(_("The zip file is damaged."))
        return
    with archive:
        members = [
            member
            for member in archive.infolist()
            if not member.is_dir()
            and not member.filename.startswith("__MACOSX/")
            and not posixpath.basename(member.filename).startswith(".")
        ]
        if len(members) > ZIP_MAX_MEMBERS:
            yield (
                name,
                UploadRefused(
                    _("The zip holds %(count)d files; at most %(limit)d per upload.")
                    % {"count": len(members), "limit": ZIP_MAX_MEMBERS}
                ),
            )
            return
        for member in members:
            member_name = posixpath.basename(member.filename)
            if member.file_size > settings.SCAN_MAX_BYTES:
                yield member_name, _too_large(member.file_size)
                continue
            try:
                # Read at most one byte past the limit: the size in the header may lie.
                with archive.open(member) as handle:
                    content = handle.read(settings.SCAN_MAX_BYTES + 1)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError):
                yield member_name, UploadRefused(_("This file in the zip is damaged or encrypted."))
                continue
            yield member_name, content


def _expand(files):
    for name, data in files:
        if name.lower().endswith(".zip") or data[:4] == b"PK\x03\x04":
            yield from _zip_members(name, data)
        else:
            yield name, data


def _bulk_store(contest, name, data, uploaded_by):
    if isinstance(data, UploadRefused):
        raise data
    match = SCAN_FILE_NAME.match(name)
    if not match:
        raise UploadRefused(
            _("The file name does not say which TPS and page it is: name it like 61.71.06.1001.001-1.jpg.")
        )
    if match["extension"].lower() not in SCAN_EXTENSIONS:
        raise UploadRefused(
            _("“.%(extension)s” files are not accepted: upload JPEG, PNG, WebP or TIFF images.")
            % {"extension": match["extension"]}
        )
    try:
        code = codes.normalize_station_code(match["code"])
    except codes.CodeError as error:
        raise UploadRefused(str(error)) from None
    station = PollingStation.objects.filter(code=code).first()
    if station is None:
        raise UploadRefused(_("There is no TPS %(code)s.") % {"code": code})
    tally = _tally_for(contest, station, uploaded_by)
    return scan_store(data=data, original_name=name, tally=tally, page=int(match["page"]), uploaded_by=uploaded_by)


def upload_bulk(*, contest, files, uploaded_by):
    """Many files named by TPS code and page, loose or in zips: `files` is [(name, bytes)]."""
    with transaction.atomic():
        batch = UploadBatch.objects.create(contest=contest, uploaded_by=uploaded_by)
        for name, data in _expand(files):
            _record(batch, name, partial(_bulk_store, contest, name, data, uploaded_by))
    return batch


def _set_status(scan_id, status, **fields):
    """Move a scan that is still processing; a final status is never overwritten."""
    return Scan.objects.filter(pk=scan_id, status=Scan.Status.PROCESSING).update(
        status=status, status_changed_at=timezone.now(), **fields
    )


def scan_ingest(*, scan_id):
    """Verify a stored scan and make its renditions. Idempotent and safe to run twice at once.

    Bad files end as rejected with a reason. Storage and database errors
    propagate, for the task to retry; the raw file is only ever read.
    """
    claimed = Scan.objects.filter(pk=scan_id, status__in=[Scan.Status.RECEIVED, Scan.Status.PROCESSING]).update(
        status=Scan.Status.PROCESSING, status_changed_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return  # already ready or rejected, or gone
    scan = Scan.objects.get(pk=scan_id)
    if scan.attempts > INGEST_MAX_ATTEMPTS:
        _set_status(
            scan_id,
            Scan.Status.REJECTED,
            rejection_reason=_("The scan could not be processed. Scan or photograph the page again."),
            processed_at=timezone.now(),
        )
        log.error("scan %s: rejected after %d ingest attempts", scan_id, scan.attempts - 1)
        return
    with default_storage.open(scan.raw.name, "rb") as handle:
        data = handle.read()
    if sha256_hex(data) != scan.sha256:
        _set_status(scan_id, Scan.Status.REJECTED, rejection_reason=_("The stored file is damaged. Upload it again."))
        log.error("scan %s: stored bytes do not match sha256 %s", scan_id, scan.sha256)
        return
    try:
        renditions = render_scan(data, max_pixels=settings.SCAN_MAX_PIXELS)
    except ScanRejected as rejected:
        _set_status(scan_id, Scan.Status.REJECTED, rejection_reason=str(rejected.reason), processed_at=timezone.now())
        return
    web_sha256 = sha256_hex(renditions.web)
    thumbnail_sha256 = sha256_hex(renditions.thumbnail)
    web = _storage_put(_content_path("web", web_sha256, ".jpg"), renditions.web)
    thumbnail = _storage_put(_content_path("thumbnail", thumbnail_sha256, ".jpg"), renditions.thumbnail)
    _set_status(
        scan_id,
        Scan.Status.READY,
        image_format=renditions.format,
        width=renditions.width,
        height=renditions.height,
        web=web,
        web_sha256=web_sha256,
        thumbnail=thumbnail,
        thumbnail_sha256=thumbnail_sha256,
        rejection_reason="",
        processed_at=timezone.now(),
    )


def scans_sweep(*, older_than=None):
    """Queue again every scan stuck in received or processing (dead worker, broker down)."""
    older_than = timedelta(seconds=settings.SCAN_STALE_AFTER_SECONDS) if older_than is None else older_than
    stuck = list(
        Scan.objects.filter(
            status__in=[Scan.Status.RECEIVED, Scan.Status.PROCESSING],
            status_changed_at__lte=timezone.now() - older_than,
        ).values_list("pk", flat=True)
    )
    for scan_id in stuck:
        scan_ingest_queue(scan_id)
    if stuck:
        log.info("sweeper queued %d stuck scan(s) again", len(stuck))
    return len(stuck)
