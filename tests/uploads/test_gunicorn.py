"""A slow officer's link against the real gunicorn with the shipped config (PostgreSQL shared with it)."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.servers import free_port
from tests.uploads import images
from uploads.models import UploadBatch

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
HEARTBEAT_TIMEOUT = 3


@pytest.fixture
def gunicorn(tmp_path, media_root, private_root):
    """Starts gunicorn with deploy/gunicorn.conf.py and a short heartbeat timeout; yields its base URL."""
    db = connection.settings_dict
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        # The test process makes the officer's session: both must sign with the same key.
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "KPU_DATA_DIR": str(tmp_path),
        "KPU_MEDIA_ROOT": str(media_root),
        "KPU_PRIVATE_ROOT": str(private_root),
        "CELERY_TASK_ALWAYS_EAGER": "1",
    }
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    processes = []

    def start(*extra):
        port = free_port()
        log = (tmp_path / f"gunicorn-{port}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "kpuportal.wsgi"]
            + ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", str(HEARTBEAT_TIMEOUT), *extra],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{url}/admin/login/", timeout=1)
                return url
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or its worker still booting
                time.sleep(0.2)
        pytest.fail("gunicorn did not start")

    yield start
    for process in processes:
        process.terminate()
        process.wait(20)


def logged_in_session(officer, url):
    """An officer's session (made by Django's test client) and the CSRF token of the upload page."""
    browser = Client()
    browser.force_login(officer)
    session = requests.Session()
    session.cookies.set("sessionid", browser.cookies["sessionid"].value)
    page = session.get(f"{url}/admin/uploads/scan/upload/", timeout=10)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    return session, token


def slow_post(url, session, token, fields, files, seconds):
    """POST a multipart form over a raw socket, trickling the body over `seconds`."""
    request = requests.Request(
        "POST", f"{url}/admin/uploads/scan/upload/", data={**fields, "csrfmiddlewaretoken": token}, files=files
    )
    prepared = session.prepare_request(request)
    prepared.headers["Referer"] = f"{url}/admin/uploads/scan/upload/"
    host, port = url.removeprefix("http://").split(":")
    head = f"POST /admin/uploads/scan/upload/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in prepared.headers.items()) + "\r\n"
    body = prepared.body
    with socket.create_connection((host, int(port)), timeout=30) as link:
        link.sendall(head.encode())
        step = max(1, len(body) // (seconds * 10))
        for start in range(0, len(body), step):
            try:
                link.sendall(body[start : start + step])
            except OSError:
                return None  # the server hung up mid-upload
            time.sleep(0.1)
        try:
            answer = link.recv(4096)
        except OSError:
            return None
    return answer.split(b"\r\n", 1)[0].decode() if answer else None


def form_upload(kalbar, contest):
    scan = images.jpeg(1800, 2500, quality=95) + os.urandom(2_000_000)  # about 2.5 MB
    fields = {"contest": contest.pk, "station": kalbar["tps_bansir_laut_1"].pk, "first_page": 1}
    return fields, {"files": ("c1.jpg", scan, "image/jpeg")}


def test_a_slow_upload_outlasting_the_worker_timeout_is_received(kalbar, contest, officer, gunicorn):
    url = gunicorn()
    session, token = logged_in_session(officer, url)
    fields, files = form_upload(kalbar, contest)
    status = slow_post(url, session, token, fields, files, seconds=HEARTBEAT_TIMEOUT * 2)
    assert status == "HTTP/1.1 302 Found"
    assert UploadBatch.objects.get().arrivals.get().size_bytes > 2_000_000


def test_the_sync_worker_would_have_killed_that_upload(kalbar, contest, officer, gunicorn):
    """The same upload against gunicorn's default worker class: why the config says gthread."""
    url = gunicorn("--worker-class", "sync", "--threads", "1")  # more threads would mean gthread
    session, token = logged_in_session(officer, url)
    fields, files = form_upload(kalbar, contest)
    status = slow_post(url, session, token, fields, files, seconds=HEARTBEAT_TIMEOUT * 2)
    assert status is None or not status.startswith("HTTP/1.1 302")
    assert UploadBatch.objects.count() == 0
