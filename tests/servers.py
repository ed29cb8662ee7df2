"""Real servers the tests start on loopback, and what they need to find them."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def moto_server(**env):
    """moto's S3-protocol server on a free port, for a fixture to `yield from`: yields its endpoint.

    `env`: the server's own settings, such as MOTO_RECORDER_FILEPATH for its request recorder.
    """
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(endpoint, timeout=1)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail("moto_server did not start")
            time.sleep(0.2)
    yield endpoint
    server.terminate()
    server.wait(10)


def collectstatic(data_dir):
    """Collect the static files into a KPU_DATA_DIR, as a deploy does: a process run in production
    settings (gunicorn, a worker) links the CSS by the manifest's hashed names and fails without it."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "DJANGO_SECRET_KEY": "collectstatic"}
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(command, cwd=ROOT, env={**env, "KPU_DATA_DIR": str(data_dir)}, check=True)
