"""Pillow's own test images, every one through the real upload path: each ends ready or rejected with a reason.

The images come from the Pillow source distribution of the pinned version,
downloaded once with pip and kept in the user's cache directory.
"""

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import __version__ as PILLOW_VERSION

from uploads.models import BatchFile, Scan
from uploads.services import batch_receive

pytestmark = pytest.mark.corpus
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kpuportal"
# Upload in parts, as an officer would, to keep each request and its report small.
PART = 100


@pytest.fixture(scope="module")
def corpus():
    """Paths of every file under Tests/images of Pillow's sdist."""
    folder = CACHE / f"pillow-{PILLOW_VERSION}-images"
    if not folder.exists():
        download = CACHE / "download"
        download.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
            + ["--dest", str(download), f"pillow=={PILLOW_VERSION}"],
            check=True,
        )
        (sdist,) = download.glob(f"pillow-{PILLOW_VERSION}.tar.gz")
        partial = folder.with_suffix(".partial")
        with tarfile.open(sdist) as archive:
            members = [member for member in archive.getmembers() if "/Tests/images/" in member.name and member.isfile()]
            archive.extractall(partial, members=members, filter="data")
        partial.rename(folder)  # complete or absent, never half there
        sdist.unlink()
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    assert len(files) > 1000, f"only {len(files)} files in {folder}"
    return files


def test_every_pillow_test_image_ends_ready_or_rejected_with_a_reason(
    kalbar, contest, superuser, corpus, django_capture_on_commit_callbacks
):
    station = kalbar["tps_bansir_laut_1"]
    for start in range(0, len(corpus), PART):
        part = corpus[start : start + PART]
        files = [SimpleUploadedFile(path.name, path.read_bytes()) for path in part]
        with django_capture_on_commit_callbacks(execute=True):
            batch_receive(contest=contest, station=station, files=files, uploaded_by=superuser, first_page=start + 1)
    lines = BatchFile.objects.select_related("scan")
    assert lines.count() == len(corpus)
    unfinished, unexplained = [], []
    for line in lines:
        if line.outcome == BatchFile.Outcome.REJECTED:
            if not str(line.reason):
                unexplained.append(line.name)
        elif line.scan.status == Scan.Status.REJECTED:
            if not line.scan.rejection_code or not str(line.scan.rejection_reason):
                unexplained.append(line.name)
        elif line.scan.status != Scan.Status.READY:
            unfinished.append((line.name, line.scan.status))
    assert unfinished == [] and unexplained == []
    statuses = set(Scan.objects.values_list("status", flat=True))
    assert statuses == {Scan.Status.READY, Scan.Status.REJECTED}
    # Everything a scan can be got through somewhere in the corpus.
    ready = Scan.objects.filter(status=Scan.Status.READY)
    assert set(ready.values_list("image_format", flat=True)) == {"JPEG", "MPO", "PNG", "WEBP", "TIFF"}
