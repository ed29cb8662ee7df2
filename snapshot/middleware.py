"""When the database cannot be reached, the public pages answer from the snapshot instead of failing."""

import logging
import mimetypes

from django.db import DatabaseError
from django.http import FileResponse, HttpResponse
from django.template.loader import render_to_string

from .services import BASE, current_dir, current_manifest
from .site import file_of

log = logging.getLogger(__name__)

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".csv": "text/csv; charset=utf-8", ".json": "application/json"}


def snapshot_response(path):
    """The current snapshot's file for a URL path, or None if the snapshot has no such page."""
    directory = current_dir()
    if directory is None:
        return None
    for layer in (directory, (directory / BASE).resolve()):  # a layer's own file, else its base's
        file = (layer / file_of(path)).resolve()
        if file.is_relative_to(layer) and file.is_file():
            break
    else:
        return None
    content_type = CONTENT_TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    response = FileResponse(open(file, "rb"), content_type=content_type)
    response["X-Snapshot"] = directory.name
    # Short: the live page comes back as soon as the database does.
    response["Cache-Control"] = "public, max-age=10"
    return response


class SnapshotFallbackMiddleware:
    """A database error in a public view is answered from the current snapshot; the admin says it is degraded."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DatabaseError):
            return None
        log.error("database unreachable, %s answered without it: %s", request.path, exception)
        if not request.path_info.startswith("/admin/"):
            response = snapshot_response(request.path_info)
            if response is not None:
                return response
        manifest = current_manifest()
        body = render_to_string(
            "snapshot/degraded.html",
            {"admin": request.path_info.startswith("/admin/"), "as_of": manifest["as_of"] if manifest else None},
        )
        response = HttpResponse(body, status=503)
        response["Retry-After"] = "30"
        response["Cache-Control"] = "no-store"
        return response
