"""Serving scan files: the originals to staff only, the renditions to anyone."""

import re

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from .storage import private_storage

# Only content-addressed renditions live in the public store, under these names.
RENDITION_PATH = re.compile(r"^scans/(web|thumbnail|full)/[0-9a-f]{2}/[0-9a-f]{64}\.jpg$")
# Formats a browser may show inline; anything else is a download (a rejected
# "scan" may be HTML that must never render on our origin).
INLINE_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
}


def original_response(scan):
    """The raw upload exactly as it arrived, for staff who may see this scan (the caller checked)."""
    content_type = INLINE_TYPES.get(scan.image_format)
    disposition = "inline" if content_type else "attachment"
    content_type = content_type or "application/octet-stream"
    name = scan.original_name or scan.sha256
    if settings.PRIVATE_ACCEL_REDIRECT_PREFIX:
        # nginx sends the file from an internal location; Django only authorised it.
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.PRIVATE_ACCEL_REDIRECT_PREFIX.rstrip("/") + "/" + scan.raw.name
    elif hasattr(private_storage, "bucket_name"):
        # A short-lived signed URL on the private bucket, with the real name and type.
        url = private_storage.url(
            scan.raw.name,
            parameters={
                "ResponseContentType": content_type,
                "ResponseContentDisposition": _content_disposition(disposition, name),
            },
        )
        response = HttpResponseRedirect(url)
    else:
        response = FileResponse(scan.raw.open("rb"), content_type=content_type)
    response["Content-Disposition"] = _content_disposition(disposition, name)
    # Never cached by a proxy; never run as a page even if a browser sniffs it.
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _content_disposition(disposition, name):
    return content_disposition_header(disposition == "attachment", name)


@require_safe
def rendition(request, path):
    """A public rendition from the local public store, for a server with no web server in front.

    Behind nginx or with a bucket, the files are served without Django; the
    names are content-addressed, so they never change and may be cached for good.
    """
    if not RENDITION_PATH.match(path) or not default_storage.exists(path):
        raise Http404
    response = FileResponse(default_storage.open(path, "rb"), content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
