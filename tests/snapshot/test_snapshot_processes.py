"""A build shared among forked processes (PostgreSQL): the same snapshot as one process makes, and no
process left behind when it is interrupted or one of them dies."""

import hashlib
import json
import os
import re
import signal
from pathlib import Path
from unittest.mock import ANY

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection

from snapshot.services import MANIFEST, SnapshotFailed, current_dir, snapshot_build, snapshot_files
from snapshot.tasks import refresh_snapshot
from tests.servers import collectstatic
from tests.snapshot.conftest import publish
from tests.uploads.conftest import media_root, private_root  # noqa: F401 (the workers fixture needs them)
from tests.uploads.test_worker import broker, wait_for, workers  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_processes_write_the_snapshot_one_process_writes(counted, settings):
    settings.SNAPSHOT_PROCESSES = 1
    alone = snapshot_build(full=True)
    files, index = snapshot_files(), versions_index(settings, alone.generation)
    settings.SNAPSHOT_PROCESSES = 3
    shared = snapshot_build(full=True)
    assert (shared.rendered, shared.reused) == (alone.rendered, 0)
    assert snapshot_files() == files
    assert versions_index(settings, shared.generation) == {**index, "manifest_sha256": ANY}
    for name, entry in files.items():
        assert hashlib.sha256((current_dir() / name).read_bytes()).hexdigest() == entry["sha256"], name
    call_command("snapshot_verify", str(current_dir()))

    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    again = snapshot_build()
    assert again.rendered == 31  # as with one process (tests/snapshot/test_snapshot.py)
    assert len(json.loads((current_dir() / MANIFEST).read_text())["files"]) == 31  # a layer of those
    # The layer's index, gathered from the three processes: the TPS, its four ancestors, the home page in two
    # languages and contests.json, at the versions one process finds for them.
    layer = versions_index(settings, again.generation)["versions"]
    settings.SNAPSHOT_PROCESSES = 1
    everything = versions_index(settings, snapshot_build(full=True).generation)["versions"]
    assert len(layer) == 8 and layer == {key: everything[key] for key in layer}
    assert all(index["versions"][key] != version for key, version in layer.items())


def versions_index(settings, generation):
    return json.loads((settings.SNAPSHOT_ROOT / f"generations/{generation:08d}.versions.json").read_text())


def children():
    """The pids of this process's living children (zombies are not living), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            _pid, rest = stat.read_text().split(") ", 1)
        except OSError:
            continue  # gone meanwhile
        state, ppid = rest.split()[:2]
        if int(ppid) == os.getpid() and state != "Z":
            found.append(int(stat.parent.name))
    return found


class HeldTotals:
    """The totals' table locked from a connection of its own: the build's processes wait on their first read.

    So the test acts while they are surely still at work, however fast the machine.
    """

    def __init__(self):
        db = connection.settings_dict
        self.connection = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
        with self.connection.cursor() as cursor:
            cursor.execute("LOCK TABLE results_regionresult IN ACCESS EXCLUSIVE MODE")

    def release(self):
        if not self.connection.closed:
            self.connection.rollback()
            self.connection.close()


@pytest.fixture
def held_totals():
    held = []
    yield lambda: held.append(HeldTotals()) or held[-1]
    for lock in held:
        lock.release()


def test_an_interrupted_build_leaves_no_process_behind_and_the_previous_snapshot_current(
    counted, settings, held_totals
):
    settings.SNAPSHOT_PROCESSES = 2
    snapshot_build()
    before = current_dir()
    held_totals()

    def interrupt(count):
        assert len(children()) == 2  # both at work, waiting for the table
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        snapshot_build(full=True, progress=interrupt)
    assert children() == []
    assert current_dir() == before
    call_command("snapshot_verify", str(before))


def test_a_process_killed_mid_build_abandons_the_build(counted, settings, held_totals):
    settings.SNAPSHOT_PROCESSES = 2
    snapshot_build()
    before = current_dir()
    lock = held_totals()

    def kill_one(count, killed=[]):  # noqa: B006 - once per build
        if not killed:
            killed.append(children()[0])
            os.kill(killed[0], signal.SIGKILL)
            lock.release()  # the other process goes on and finishes its part

    with pytest.raises(SnapshotFailed, match="ended without a word"):
        snapshot_build(full=True, progress=kill_one)
    assert children() == []
    assert current_dir() == before


@pytest.mark.worker
def test_the_periodic_task_renders_with_processes_inside_a_real_worker(counted, workers, tmp_path):  # noqa: F811
    """A Celery prefork worker's process is itself a child: it may still fork the build's processes."""
    collectstatic(tmp_path)  # the worker's KPU_DATA_DIR
    worker = workers()  # KPU_DATA_DIR=tmp_path: its snapshot is tmp_path/snapshot, built by one process per core
    refresh_snapshot.delay()
    finished = r"refresh_snapshot\[.*\] (succeeded|raised).*"
    line = wait_for(lambda: re.search(finished, worker.log.read_text()), "the task to finish")
    assert "succeeded" in line.group(0), worker.log.read_text()
    site = (tmp_path / "snapshot" / "current").resolve()
    built = json.loads((site / "snapshot/manifest.json").read_text())["files"]
    assert f"pilkada-2018/{counted.slug}/61.71.06.1001.001/index.html" in built
    for name, entry in built.items():
        assert hashlib.sha256((site / name).read_bytes()).hexdigest() == entry["sha256"], name
