"""Building the static snapshot of the public site, and checking one.

Layout of the snapshot root (a local directory, KPU_SNAPSHOT_ROOT):

    generations/00000042/      one complete site: index.html, en/..., api/v1/..., static/, media/,
                               snapshot/manifest.json, manifest.json.sig, public-key.pem
    current -> generations/00000042     what nginx, Django's fallback and a mirror serve

A build writes a new generation beside the current one. A page whose version
did not move is a hard link to the previous generation's file (no render, no
copy); the rest are rendered. The manifest (every file's sha256, the as-of
time, each contest's head) is written and signed last, then `current` is
swapped to the new generation with one rename: a reader sees the old
snapshot or the new one, whole, never a half-written one. An interrupted
build leaves a generation that never became current; the next build removes it.
On PostgreSQL the rendering is shared among forked processes (_Generation.write_parallel).
"""

import base64
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import pickle
import shutil
import signal
import time
import traceback
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.storage import default_storage, storages
from django.db import connection, connections
from django.utils import timezone

from results import digests
from results.models import Contest, Tally

from . import signing
from .site import file_of, site_pages

log = logging.getLogger(__name__)

MANIFEST = "snapshot/manifest.json"
SIGNATURE = "snapshot/manifest.json.sig"
PUBLIC_KEY = "snapshot/public-key.pem"


class SnapshotBusy(Exception):
    """Another build holds the lock: one build at a time."""


@dataclasses.dataclass
class Built:
    generation: int
    rendered: int
    reused: int
    files: int
    seconds: float


def snapshot_root():
    return Path(settings.SNAPSHOT_ROOT)


def current_dir(root=None):
    """The current generation's directory, or None before the first snapshot."""
    link = (root or snapshot_root()) / "current"
    return link.resolve() if link.exists() else None


def current_manifest(root=None):
    directory = current_dir(root)
    if directory is None:
        return None
    return json.loads((directory / MANIFEST).read_text())


@contextlib.contextmanager
def _lock(root):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SnapshotBusy("a snapshot is being built already") from None
        yield


# Paths in the build's loop are plain strings: a national snapshot has millions of files, and
# pathlib's joins and parents add microseconds to each.


def _folder(folder, made):
    """mkdir once per folder of a build: a snapshot's files share far fewer folders."""
    if folder not in made:
        os.makedirs(folder, exist_ok=True)
        made.add(folder)


def _write(path, data, made=None):
    _folder(os.path.dirname(path), made if made is not None else set())
    with open(path, "wb") as handle:
        handle.write(data)


def _link_or_copy(source, target, made=None):
    _folder(os.path.dirname(target), made if made is not None else set())
    try:
        os.link(source, target)
    except OSError:  # another file system: copy instead
        shutil.copyfile(source, target)


def _manifest_body(manifest):
    """The manifest as JSON, one file a line: the C encoder (json's indent= is pure Python, minutes nationally)."""
    encode = json.JSONEncoder(sort_keys=True, ensure_ascii=True).encode
    files = manifest["files"]
    head = encode({key: value for key, value in manifest.items() if key != "files"})[:-1]
    lines = ",\n".join(f"{encode(name)}: {encode(entry)}" for name, entry in sorted(files.items()))
    return f'{head}{", " if head != "{" else ""}"files": {{\n{lines}\n}}}}\n'.encode()


def snapshot_build(*, full=False, progress=None):
    """Build a new generation and make it current; returns Built. Raises SnapshotBusy if a build runs."""
    root = snapshot_root()
    with _lock(root):
        started = time.monotonic()
        previous_dir = current_dir(root)
        previous = current_manifest(root) if previous_dir and not full else None
        known = previous["files"] if previous else {}
        generation = (current_manifest(root) or {"generation": 0})["generation"] + 1 if previous_dir else 1
        generations = root / "generations"
        target = generations / f"{generation:08d}"
        shutil.rmtree(target, ignore_errors=True)  # an interrupted build of the same number
        target.mkdir(parents=True)
        next_generation = _Generation(f"{previous_dir}/", f"{target}/", known, progress)
        parts = _processes()
        if parts > 1:
            files, rendered, reused = next_generation.write_parallel(parts)
        else:
            files, rendered, reused = next_generation.write(site_pages())
        files.update(_static_files(target))
        files.update(_media_files(target, previous_dir, known))
        _write(target / PUBLIC_KEY, signing.public_key_pem().encode())
        manifest = {
            "generation": generation,
            "as_of": timezone.now().isoformat(),
            "heads": _heads(),
            "files": files,
        }
        body = _manifest_body(manifest)
        _write(target / MANIFEST, body)
        _write(target / SIGNATURE, signing.sign(body).encode())
        os.sync()  # the whole generation on disk before it becomes current
        link = root / "current.new"
        link.unlink(missing_ok=True)
        link.symlink_to(target.relative_to(root))
        os.replace(link, root / "current")
        built = Built(generation, rendered, reused, len(files), time.monotonic() - started)
        # Once the new one is current: all but it and its predecessor (a reader may still be in that one),
        # interrupted builds included.
        for leftover in generations.glob("*"):
            if leftover not in (target, previous_dir):
                shutil.rmtree(leftover, ignore_errors=True)
        return built


def _processes():
    """How many processes render a build: KPU_SNAPSHOT_PROCESSES, by default one per core.

    One on SQLite (a test's database lives in this process's memory) and
    inside a transaction (a process of its own would not see its rows).
    """
    if connection.vendor == "sqlite" or connection.in_atomic_block:
        return 1
    return settings.SNAPSHOT_PROCESSES or os.cpu_count() or 1


class SnapshotFailed(Exception):
    """A process rendering part of a build failed: the build is abandoned, the current snapshot stays."""


@dataclasses.dataclass
class _Generation:
    """A generation being written: each page rendered when its version moved, else a hard link to the previous."""

    previous_prefix: str
    target_prefix: str
    known: dict
    progress: Callable[[int], None] | None = None

    def write(self, pages, progress=None):
        """Every page of `pages`; returns (manifest entries by file name, rendered, reused)."""
        progress = progress or self.progress
        files, rendered, reused, made = {}, 0, 0, set()
        for page in pages:
            name = file_of(page.path)
            old = self.known.get(name)
            if old and old.get("version") == page.version:
                _link_or_copy(self.previous_prefix + name, self.target_prefix + name, made)
                files[name] = old
                reused += 1
            else:
                body = page.render()
                _write(self.target_prefix + name, body, made)
                files[name] = {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body), "version": page.version}
                rendered += 1
            if progress:
                progress(1)
        return files, rendered, reused

    def write_parallel(self, parts):
        """write() over the whole site, shared among `parts` forked processes, each rendering its own regions and TPS.

        Each process enumerates the site and keeps the pages whose region or TPS falls to it; the pages
        of one region (or TPS) stay together, so each is still read once. os.fork, not multiprocessing:
        a Celery worker's pool process may not start multiprocessing children of its own.
        """
        connection.ensure_connection()  # a database that does not answer fails here, once, not in each process
        connections.close_all()  # a forked process must open its own, never share the parent's socket
        done = multiprocessing.RawArray("q", parts)  # pages handled by each process: the progress bar
        children, outcomes, shown = {}, {}, 0
        try:
            for part in range(parts):
                outcome = f"{self.target_prefix}.part-{part}.pickle"
                pid = os.fork()
                if pid == 0:
                    self._part_write(part, parts, done, outcome)  # never returns
                children[pid] = (part, outcome)
            while len(outcomes) < parts:
                time.sleep(0.1)
                for pid, (part, outcome) in children.items():
                    if part not in outcomes and os.waitpid(pid, os.WNOHANG)[0]:
                        outcomes[part] = _part_outcome(outcome)
                if self.progress:
                    self.progress(sum(done) - shown)
                    shown = sum(done)
        finally:  # an interrupted build (Ctrl-C, a task's time limit) leaves no process behind
            for pid, (part, _outcome) in children.items():
                if part not in outcomes:
                    os.kill(pid, signal.SIGKILL)  # what it wrote is in a generation that never becomes current
                    os.waitpid(pid, 0)
        failures = [detail for outcome, detail in outcomes.values() if outcome == "failed"]
        for failure in failures:
            log.error("snapshot: a process rendering the build failed:\n%s", failure)
        if failures:
            raise SnapshotFailed("; ".join(failure.strip().splitlines()[-1] for failure in failures))
        files, rendered, reused = {}, 0, 0
        for _outcome, (part_files, part_rendered, part_reused) in outcomes.values():
            files.update(part_files)
            rendered += part_rendered
            reused += part_reused
        return files, rendered, reused

    def _part_write(self, part, parts, done, outcome):
        """In a forked process: write this part's pages, leave what write() returns in `outcome`, and exit."""

        def count(pages):
            done[part] += pages

        try:
            mine = (page for page in site_pages() if _share(page, parts) == part)
            result = ("done", self.write(mine, progress=count))
        except BaseException:
            result = ("failed", traceback.format_exc())
        try:
            connections.close_all()
            with open(outcome, "wb") as handle:
                pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            os._exit(0)  # not the parent's exit handlers: they are the parent's to run


def _part_outcome(outcome):
    """What a build process left behind: ("done", write()'s result) or ("failed", why)."""
    try:
        with open(outcome, "rb") as handle:
            return pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError):
        return ("failed", "the process ended without a word (killed?)")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(outcome)


def _share(page, parts):
    """Which of `parts` processes writes a page: by its region or TPS, the same in every process."""
    return zlib.crc32((page.unit or page.path).encode()) % parts


def _heads():
    """Each contest's head over its published forms right now: {"<election>/<contest>": {digest, forms}}."""
    heads = {}
    for contest in Contest.objects.select_related("election"):
        forms = Tally.objects.published().filter(contest=contest)
        pairs = list(forms.values_list("station__code", "current_revision__digest"))
        heads[f"{contest.election.slug}/{contest.slug}"] = {"digest": digests.head_digest(pairs), "forms": len(pairs)}
    return heads


def _static_files(target):
    """The CSS (and whatever else the pages load) under static/, as collectstatic or the finders have it."""
    files = {}
    static_root = Path(settings.STATIC_ROOT)
    if static_root.exists() and any(static_root.iterdir()):
        sources = (
            (path.relative_to(static_root).as_posix(), path) for path in static_root.rglob("*") if path.is_file()
        )
    else:
        sources = (
            (relative, Path(storage.path(relative)))
            for finder in finders.get_finders()
            for relative, storage in finder.list(["CVS", ".*", "*~"])
        )
    prefix = settings.STATIC_URL.strip("/")
    for relative, source in sources:
        name = f"{prefix}/{relative}"
        data = source.read_bytes()
        _write(target / name, data)
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    return files


def _media_files(target, previous_dir, known):
    """The public scan renditions the TPS pages show, when the portal serves them itself (MEDIA_URL a path)."""
    if not settings.MEDIA_URL.startswith("/"):
        return {}  # a bucket or CDN serves them: the pages link there
    from uploads.models import Scan  # the uploads app builds on results; the snapshot reads its renditions

    files = {}
    prefix = settings.MEDIA_URL.strip("/")
    ready = Scan.objects.filter(status=Scan.Status.READY).exclude(web="")
    renditions = (
        (stored, sha256)
        for web, web_sha256, full, full_sha256 in ready.values_list(
            "web", "web_sha256", "full", "full_sha256"
        ).iterator(chunk_size=5000)
        for stored, sha256 in ((web, web_sha256), (full, full_sha256))
        if stored
    )
    for stored, sha256 in renditions:
        name = f"{prefix}/{stored}"
        if name in known and previous_dir is not None:
            _link_or_copy(previous_dir / name, target / name)
        else:
            with default_storage.open(stored, "rb") as handle:
                _write(target / name, handle.read())
        files[name] = {"sha256": sha256, "size": (target / name).stat().st_size}
    return files


@dataclasses.dataclass
class Verified:
    files: int
    problems: list


def snapshot_verify(read, public_key_pem):
    """Check a snapshot through `read(name) -> bytes or None`: the signature, then every file's sha256."""
    manifest_bytes = read(MANIFEST)
    signature = read(SIGNATURE)
    if manifest_bytes is None or signature is None:
        return Verified(0, ["no manifest or no signature: not a snapshot"])
    key = serialization.load_pem_public_key(public_key_pem.encode())
    try:
        key.verify(base64.b64decode(signature), manifest_bytes)
    except (InvalidSignature, ValueError):
        return Verified(0, ["the manifest's signature is not the portal's"])
    manifest = json.loads(manifest_bytes)
    problems = []
    for name, entry in manifest["files"].items():
        data = read(name)
        if data is None:
            problems.append(f"{name}: missing")
        elif hashlib.sha256(data).hexdigest() != entry["sha256"]:
            problems.append(f"{name}: differs from the manifest")
    return Verified(len(manifest["files"]), problems)


# Publishing to a bucket (STORAGES["snapshot"], KPU_SNAPSHOT_BUCKET)

# A bucket answers each request in tens of milliseconds: a few at once, not one after another.
PUBLISH_THREADS = 8
# Uploaded after every file they describe, the manifest itself the very last.
SIGNED = (PUBLIC_KEY, SIGNATURE, MANIFEST)


class SnapshotNotBuilt(Exception):
    """There is no current snapshot to publish yet."""


@dataclasses.dataclass
class Published:
    generation: int
    uploaded: int
    unchanged: int
    deleted: int
    seconds: float


def snapshot_storage():
    """The bucket the snapshot is published to, or None: then the local directory is the only store."""
    return storages["snapshot"] if "snapshot" in settings.STORAGES else None


def snapshot_publish(*, full=False, progress=None):
    """Copy the current snapshot to the snapshot bucket; returns Published.

    Only files whose sha256 differs from the manifest already in the bucket
    are uploaded, streamed from disk. S3 has no atomic switch of many objects:
    during an upload the changed pages are replaced one by one (each one whole),
    so for that moment the bucket mixes two snapshots. What a mirror verifies is
    the signed manifest, and it goes up after every file it lists: the bucket
    holds the old signed manifest (while pages it lists may already be new) or
    the new one with all its files in place
    (the manifest and its signature are two objects put a moment apart; a
    verifier caught between them sees a bad signature and tries again).
    Files the new manifest no longer lists are deleted only after it is up,
    so they stay while the old manifest that lists them is the bucket's.

    full: upload every file whatever the bucket's manifest says, and delete every
    object the manifest does not list (a bucket altered by hand, or a publish
    interrupted before its deletions).
    """
    storage = snapshot_storage()
    if storage is None:
        raise ImproperlyConfigured("No snapshot bucket: set KPU_SNAPSHOT_BUCKET.")
    root = snapshot_root()
    with _lock(root):  # one build or publish at a time: two publishes would race for the last manifest
        started = time.monotonic()
        directory = current_dir(root)
        if directory is None:
            raise SnapshotNotBuilt("there is no snapshot to publish yet")
        manifest = json.loads((directory / MANIFEST).read_bytes())
        files = manifest["files"]
        published = {} if full else (_published_manifest(storage) or {}).get("files", {})
        changed = [name for name, entry in files.items() if published.get(name, {}).get("sha256") != entry["sha256"]]
        if progress:
            progress(len(files) - len(changed))

        def upload(name):
            with open(directory / name, "rb") as handle:
                storage.save(name, File(handle, name=name))
            if progress:
                progress(1)

        _each(upload, changed)
        for name in SIGNED:  # in this order, each after the one before it is stored
            upload(name)
        if full:
            gone = [name for name in _bucket_names(storage) if name not in files and name not in SIGNED]
        else:
            gone = [name for name in published if name not in files]
        _each(storage.delete, gone)
        return Published(
            manifest["generation"],
            uploaded=len(changed) + len(SIGNED),
            unchanged=len(files) - len(changed),
            deleted=len(gone),
            seconds=time.monotonic() - started,
        )


def _published_manifest(storage):
    """The manifest of the snapshot in the bucket, or None (none yet, or unreadable: everything goes up again)."""
    try:
        with storage.open(MANIFEST, "rb") as handle:
            return json.loads(handle.read())
    except FileNotFoundError:
        return None
    except ValueError:
        log.warning("snapshot: the bucket's manifest is unreadable; publishing every file")
        return None


def _bucket_names(storage):
    prefix = f"{storage.location.strip('/')}/" if storage.location else ""
    return [item.key.removeprefix(prefix) for item in storage.bucket.objects.filter(Prefix=prefix)]


def _each(function, names):
    with ThreadPoolExecutor(max_workers=PUBLISH_THREADS) as pool:
        for _done in pool.map(function, names):  # re-raises the first failure
            pass
