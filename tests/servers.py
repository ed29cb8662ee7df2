"""Real servers the tests start on loopback, and what they need to find them."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests


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
