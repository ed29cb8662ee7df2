"""Every command of the portal, run as an operator would, with the database gone."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command",
    [
        ["verify_integrity"],
        ["snapshot"],
        ["backup"],
        ["seed_demo"],
        ["create_officer", "someone", "--auditor"],
        ["import_tallies", "/dev/null", "--contest", "1", "--user", "someone"],
    ],
    ids=lambda command: command[0],
)
def test_a_command_says_in_one_sentence_that_the_database_failed(tmp_path, command):
    """Exit 2 and one sentence in the portal's language (Indonesian): not a traceback, and not exit 1, which is
    a command's own refusal (verify_integrity's mismatches among them)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DJANGO_SECRET_KEY": "x",
        "KPU_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/nowhere",  # nothing listens there
    }
    run = subprocess.run(
        [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("CommandError: Basis data gagal, jadi perintah dihentikan:"), run.stderr
    assert "Connection refused" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
