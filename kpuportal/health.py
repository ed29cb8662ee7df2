"""Health endpoints for orchestrators and nginx: is the process alive, can it serve live pages."""

import datetime
import json

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.utils import timezone
from kombu import Connection

from snapshot.services import current_manifest


def live(request):
    """The process answers: nothing else is asked."""
    return HttpResponse("ok\n", content_type="text/plain")


def _database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except DatabaseError as error:
        return f"unreachable: {error.__class__.__name__}"


def _cache():
    try:
        cache.set("health:probe", "1", 10)
        return "ok" if cache.get("health:probe") == "1" else "not keeping values"
    except Exception as error:  # any cache failure is a finding, not a crash
        return f"unreachable: {error.__class__.__name__}"


def _broker():
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_BROKER_URL:
        return "none (tasks run in the web process)"
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=1) as broker:
            broker.ensure_connection(max_retries=0, timeout=1)
        return "ok"
    except Exception as error:
        return f"unreachable: {error.__class__.__name__}"


def _snapshot_age():
    try:
        manifest = current_manifest()
    except (OSError, ValueError):
        return None
    if manifest is None:
        return None
    as_of = datetime.datetime.fromisoformat(manifest["as_of"])
    return round((timezone.now() - as_of).total_seconds())


def ready(request):
    """200 while live pages can be served (the database answers), 503 otherwise; every check named."""
    checks = {"database": _database(), "cache": _cache(), "broker": _broker(), "snapshot_age_seconds": _snapshot_age()}
    age = checks["snapshot_age_seconds"]
    if checks["database"] != "ok":
        status = "down"
    elif checks["cache"] != "ok" or checks["broker"] not in ("ok", "none (tasks run in the web process)"):
        status = "degraded"
    elif age is None or age > settings.SNAPSHOT_MAX_AGE_SECONDS:
        status = "degraded"
    else:
        status = "ready"
    response = HttpResponse(
        json.dumps({"status": status, "checks": checks}, indent=1),
        content_type="application/json",
        status=503 if status == "down" else 200,
    )
    response["Cache-Control"] = "no-store"
    return response
