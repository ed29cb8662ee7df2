"""Settings come from the environment; each case runs in a fresh interpreter."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, django
from django.conf import settings
django.setup()
from kpuportal.celery import app
print(json.dumps({
    "debug": settings.DEBUG,
    "database": settings.DATABASES["default"]["ENGINE"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "storage": settings.STORAGES["default"]["BACKEND"],
    "private": {key: str(value) for key, value in settings.STORAGES["private"].get("OPTIONS", {}).items()
                if key in ("location", "bucket_name", "querystring_auth")},
    "eager": app.conf.task_always_eager,
    "broker": app.conf.broker_url,
    "acks_late": app.conf.task_acks_late,
}))
"""


def run(env, *args):
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "kpuportal.settings", **env}
    return subprocess.run(args, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def probe(env):
    result = run(env, sys.executable, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_nothing_set_means_the_embedded_defaults(tmp_path):
    found = probe({"KPU_DATA_DIR": str(tmp_path)})
    assert found == {
        "debug": False,
        "database": "django.db.backends.sqlite3",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "storage": "django.core.files.storage.FileSystemStorage",
        "private": {"location": str(tmp_path / "private")},
        "eager": True,
        "broker": "",
        "acks_late": True,
    }


def test_service_urls_switch_to_postgres_redis_a_worker_and_s3(tmp_path):
    found = probe(
        {
            "DJANGO_SECRET_KEY": "k",
            "KPU_DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/kpuportal",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
            "AWS_STORAGE_BUCKET_NAME": "scans",
            "AWS_PRIVATE_BUCKET_NAME": "scan-originals",
        }
    )
    assert found["database"] == "django.db.backends.postgresql"
    assert found["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert found["storage"] == "storages.backends.s3.S3Storage"
    assert found["private"] == {"bucket_name": "scan-originals", "querystring_auth": "True"}
    assert found["eager"] is False
    assert found["broker"] == "redis://127.0.0.1:6379/3"


def test_a_bucket_without_a_private_bucket_for_the_originals_is_an_error(tmp_path):
    env = {"DJANGO_SECRET_KEY": "k", "KPU_DATA_DIR": str(tmp_path), "AWS_STORAGE_BUCKET_NAME": "scans"}
    for private in (None, "scans"):
        result = run({**env, **({"AWS_PRIVATE_BUCKET_NAME": private} if private else {})}, sys.executable, "-c", PROBE)
        assert result.returncode != 0
        assert "AWS_PRIVATE_BUCKET_NAME must name a second, non-public bucket" in result.stderr


def test_nothing_set_at_all_runs_with_a_key_made_once_for_the_installation(tmp_path):
    result = run({"KPU_DATA_DIR": str(tmp_path)}, sys.executable, "manage.py", "check")
    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 50
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert run({"KPU_DATA_DIR": str(tmp_path)}, sys.executable, "manage.py", "check").returncode == 0
    assert key_file.read_text() == key  # every later process reads the same key


def test_production_without_a_secret_key_is_an_error(tmp_path):
    result = run({"KPU_PRODUCTION": "1", "KPU_DATA_DIR": str(tmp_path)}, sys.executable, "-c", PROBE)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_a_misspelt_boolean_is_an_error_not_false(tmp_path):
    result = run(
        {"DJANGO_SECRET_KEY": "k", "DJANGO_DEBUG": "ture", "KPU_DATA_DIR": str(tmp_path)}, sys.executable, "-c", PROBE
    )
    assert result.returncode != 0
    assert "DJANGO_DEBUG='ture'" in result.stderr


def test_production_cannot_run_in_debug(tmp_path):
    result = run(
        {"DJANGO_SECRET_KEY": "k", "DJANGO_DEBUG": "1", "KPU_PRODUCTION": "1", "KPU_DATA_DIR": str(tmp_path)},
        sys.executable,
        "-c",
        PROBE,
    )
    assert "KPU_PRODUCTION=1 cannot run with DJANGO_DEBUG=1" in result.stderr


def test_production_mode_passes_the_deploy_check_without_warnings(tmp_path):
    result = run(
        {
            "KPU_PRODUCTION": "1",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "results.example.org",
            "KPU_DATA_DIR": str(tmp_path),
        },
        sys.executable,
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
