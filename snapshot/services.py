"""Building the static snapshot of the public site, and checking one.

Layout of the snapshot root (a local directory, KPU_SNAPSHOT_ROOT):

    generations/00000040/      a base: one complete site (index.html, en/..., api/v1/..., static/,
                               media/, snapshot/manifest.json listing every file, manifest.json.sig,
                               public-key.pem, and snapshot/manifests/00000040.json: its manifest again,
                               by a name the layers over it point to)
    generations/00000042/      a layer: only the files that differ from its base, `_base` -> 00000040;
                               its signed manifest lists those files and pins the base's by sha256
    generations/00000042-base/ generation 42 written out whole by snapshot_compact: the next base
    generations/<name>.versions.json   each generation's index (not served): the version of each
                               page it holds itself, its manifest's sha256 and file count
    current -> generations/00000042     what nginx, Django's fallback and a mirror serve: a file
                               is current/<name>, else current/_base/<name>
    trash/                     generations no longer read, for snapshot_trash_empty to delete

A build writes a new generation beside the current one: a layer over the
newest base, holding the pages whose version differs from the base's
(rendered, or hard-linked from the previous layer if it rendered them), so a
build costs what changed, not the millions of files of a national site. Once a
layer holds KPU_SNAPSHOT_COMPACT_PERCENT of the base's files, snapshot_compact
writes it out whole (every file hard-linked) beside the builds, and the next
build is a layer over that. A page of the base gone from the site makes the
build a whole generation itself (a layer cannot hide a file of its base), as
does --full. The manifest (each file's sha256, the as-of time, each contest's
head) is written and signed last, then `current` is swapped to the new
generation with one rename: a reader sees the old snapshot or the new one,
whole, never a half-written one. An interrupted build leaves a generation that
never became current; the next build removes it. On PostgreSQL the rendering
is shared among forked processes (_Generation.write_parallel).
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
from .site import Unchanged, file_of, read_ahead, site_pages

log = logging.getLogger(__name__)

MANIFEST = "snapshot/manifest.json"
SIGNATURE = "snapshot/manifest.json.sig"
PUBLIC_KEY = "snapshot/public-key.pem"
BASE = "_base"  # in a layer: the link to its base
# Pages rendered together, their regions and TPS read in one batch (site.read_ahead): ~170 regions or 250 TPS.
RENDER_BATCH = 1000
TRASH = "trash"  # generations no longer read, for snapshot_trash_empty


class SnapshotBusy(Exception):
    """Another build holds the lock: one build at a time."""


@dataclasses.dataclass
class Built:
    generation: int
    rendered: int
    reused: int
    files: int
    seconds: float
    base: int  # the generation of the base it is a layer over; its own when it is whole


def snapshot_root():
    return Path(settings.SNAPSHOT_ROOT)


def current_dir(root=None):
    """The current generation's directory, or None before the first snapshot."""
    link = (root or snapshot_root()) / "current"
    return link.resolve() if link.exists() else None


def snapshot_file(directory, name):
    """Where a snapshot's file is: in the generation itself, else in its base (it may be in neither)."""
    own = directory / name
    return own if own.exists() else directory / BASE / name


def manifest_head(directory):
    """A generation's manifest without its list of files: its first line (_manifest_body), not hundreds of MB."""
    with open(directory / MANIFEST, "rb") as handle:
        head = json.loads(handle.readline().rstrip() + b"}}")
    del head["files"]
    return head


def current_manifest(root=None):
    """The current snapshot's generation, as-of time, heads and base; None before the first snapshot."""
    directory = current_dir(root)
    return None if directory is None else manifest_head(directory)


def snapshot_files(directory=None):
    """Every file of a snapshot (the current one by default) and its manifest entry: the base's, then its own."""
    directory = directory or current_dir()
    manifest = json.loads((directory / MANIFEST).read_bytes())
    if "base" not in manifest:
        return manifest["files"]
    base = json.loads(snapshot_file(directory, manifest["base"]["manifest"]).read_bytes())
    return {**base["files"], **manifest["files"]}


@contextlib.contextmanager
def _lock(root, name=".lock"):
    """One build (or publish) at a time; one compaction (.compact-lock) at a time, beside them."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / name, "w") as handle:
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
    """The manifest as JSON, one file a line: the C encoder (json's indent= is pure Python, minutes nationally).

    The first line holds every field but the files (manifest_head reads only it).
    """
    encode = json.JSONEncoder(sort_keys=True, ensure_ascii=True).encode
    files = manifest["files"]
    head = encode({key: value for key, value in manifest.items() if key != "files"})[:-1]
    lines = ",\n".join(f"{encode(name)}: {encode(entry)}" for name, entry in sorted(files.items()))
    return f'{head}{", " if head != "{" else ""}"files": {{\n{lines}\n}}}}\n'.encode()


COMPACTED = "-base"  # 00000042-base: generation 42, a layer, written out whole by snapshot_compact


def _generation_of(directory):
    return int(directory.name[:8])


def _index_path(directory):
    """A generation's index (not served): its manifest's sha256 and total, and the version of each page it holds."""
    return directory.parent / f"{directory.name}.versions.json"


def _base_dir(directory):
    """The full generation a generation's files are completed from: its _base, or itself."""
    link = directory / BASE
    return link.resolve() if link.is_symlink() else directory


def _manifest_copy(generation):
    """Where a base's manifest is found by the layers over it, in the directory and in a bucket."""
    return f"snapshot/manifests/{generation:08d}.json"


def snapshot_build(*, full=False, progress=None):
    """Build a new generation and make it current; returns Built. Raises SnapshotBusy if a build runs."""
    root = snapshot_root()
    with _lock(root):
        return _build(root, full=full, progress=progress)


def _build(root, *, full, progress, whole=False):
    """One generation: a layer over the newest base, or (full, or whole) a full one, a base itself."""
    started = time.monotonic()
    generations = root / "generations"
    previous_dir = current_dir(root)
    previous = manifest_head(previous_dir) if previous_dir else None
    generation = previous["generation"] + 1 if previous else 1
    base_dir = _newest_base(generations, _base_dir(previous_dir)) if previous else None
    base_index = _index_read(base_dir) if previous and not full and not whole else None
    layered = base_index is not None
    target = generations / f"{generation:08d}"
    shutil.rmtree(target, ignore_errors=True)  # an interrupted build of the same number
    target.mkdir(parents=True)
    if layered:
        base, base_versions = _generation_of(base_dir), base_index["versions"]
        # What the previous layer rendered since its base can be linked; a previous base had it all.
        known = json.loads((previous_dir / MANIFEST).read_bytes())["files"] if "base" in previous else {}
        (target / BASE).symlink_to(f"../{base_dir.name}")
    else:
        base, base_versions = generation, {}
        known = snapshot_files(previous_dir) if previous and not full else {}
    next_generation = _Generation(f"{previous_dir}/", f"{target}/", known, base_versions, progress)
    parts = _processes()
    written = next_generation.write_parallel(parts) if parts > 1 else next_generation.write(site_pages(base_versions))
    next_generation.write_static(written)
    next_generation.write_media(written)
    if layered and written.seen < len(base_versions):
        # A page of the base is gone from the site: a layer cannot hide it, a full generation leaves it out.
        shutil.rmtree(target)
        return _build(root, full=False, progress=progress, whole=True)
    manifest = {
        "generation": generation,
        "as_of": timezone.now().isoformat(),
        "heads": _heads(),
        "total": written.total,
        "layer": len(written.files),
        "files": written.files,
    }
    if layered:
        manifest["base"] = {
            "generation": base,
            "manifest": _manifest_copy(base),
            "sha256": base_index["manifest_sha256"],
            "total": base_index["total"],
        }
    _generation_close(target, manifest, written.versions)
    link = root / "current.new"
    link.unlink(missing_ok=True)
    link.symlink_to(target.relative_to(root))
    os.replace(link, root / "current")
    built = Built(generation, written.rendered, written.reused, written.total, time.monotonic() - started, base)
    _prune(root, keep=(target, previous_dir))
    return built


def _index_read(directory):
    """A base's index, or None where a layer cannot be built over it: then the build is whole, a base with one.

    A base written before layers existed has none; one damaged on disk is logged and never trusted.
    """
    try:
        return json.loads(_index_path(directory).read_bytes())
    except FileNotFoundError:
        return None
    except ValueError:
        log.warning("snapshot: the index of %s is unreadable; this build is whole", directory.name)
        return None


def _generation_close(directory, manifest, versions):
    """Sign a generation's manifest, write its index, and have it all on disk: it may become current now."""
    body = _manifest_body(manifest)
    _write(directory / PUBLIC_KEY, signing.public_key_pem().encode())
    _write(directory / MANIFEST, body)
    _write(directory / SIGNATURE, signing.sign(body).encode())
    if "base" not in manifest:  # the name the layers over it find its manifest by
        _link_or_copy(directory / MANIFEST, directory / _manifest_copy(manifest["generation"]))
    index = {"manifest_sha256": hashlib.sha256(body).hexdigest(), "total": manifest["total"], "versions": versions}
    _index_path(directory).write_text(json.dumps(index))
    os.sync()


def _newest_base(generations, base_dir):
    """The base a new layer goes over: the current one, or a newer one snapshot_compact has written since."""
    compacted = [
        directory
        for directory in generations.glob(f"*{COMPACTED}")
        if _generation_of(directory) > _generation_of(base_dir)
    ]
    return max(compacted, key=_generation_of, default=base_dir)


def snapshot_compaction_due():
    """Whether the current snapshot is a layer grown past KPU_SNAPSHOT_COMPACT_PERCENT of its base."""
    head = current_manifest()
    if head is None or "base" not in head:
        return False
    return head["layer"] * 100 > settings.SNAPSHOT_COMPACT_PERCENT * head["base"]["total"]


def snapshot_compact(*, progress=None):
    """Write the current snapshot, a layer, out whole: the base the next builds are layers over.

    Returns Built, or None if the current snapshot is whole already. Runs beside
    the builds, under a lock of its own: nationally it hard-links millions of
    files, minutes the build of each minute must not wait for. The new base is
    the same snapshot as the layer (its generation, as-of time and heads),
    signed again; it becomes usable, whole, with one rename.
    """
    root = snapshot_root()
    generations = root / "generations"
    with _lock(root, ".compact-lock"):
        started = time.monotonic()
        source = current_dir(root)
        head = manifest_head(source) if source else None
        if head is None or "base" not in head:
            return None
        base_dir = _base_dir(source)
        target = generations / f"{source.name}{COMPACTED}"
        if target.exists() or _newest_base(generations, base_dir) != base_dir:
            return None  # written whole already, or a newer layer's next build goes over a newer base
        work = generations / f"{target.name}.tmp"
        # What the builds' pruning keeps while this runs: a build every minute would otherwise remove the source.
        (root / ".compacting").write_text(json.dumps([source.name, base_dir.name, target.name]))
        try:
            shutil.rmtree(work, ignore_errors=True)
            files = snapshot_files(source)
            made, own, based = set(), f"{source}/", f"{source}/{BASE}/"
            for name in files:
                _link_or_copy(own + name if os.path.exists(own + name) else based + name, f"{work}/{name}", made)
                if progress:
                    progress(1)
            versions = {
                **json.loads(_index_path(base_dir).read_bytes())["versions"],
                **json.loads(_index_path(source).read_bytes())["versions"],
            }
            manifest = {**{key: value for key, value in head.items() if key != "base"}, "layer": len(files)}
            _generation_close(work, {**manifest, "files": files}, versions)
            _index_path(work).rename(_index_path(target))
            os.rename(work, target)  # whole, or not there: a build takes it as its base only then
        finally:
            (root / ".compacting").unlink(missing_ok=True)
        generation = head["generation"]
        return Built(generation, 0, len(files), len(files), time.monotonic() - started, generation)


def _prune(root, keep):
    """All but the current generation, its predecessor (a reader may still be in it), their bases, a newer
    base snapshot_compact has written, and what a compaction running now reads and writes.

    Interrupted builds and compactions included.
    """
    kept = set()
    for directory in keep:
        if directory is not None:
            kept |= {directory.name, _base_dir(directory).name}
    generations = root / "generations"
    newest = _newest_base(generations, _base_dir(keep[0]))
    kept.add(newest.name)
    try:
        with _lock(root, ".compact-lock"):
            pass  # no compaction runs
    except SnapshotBusy:
        with contextlib.suppress(OSError, ValueError):
            kept |= set(json.loads((root / ".compacting").read_text()))
    trash = root / TRASH
    for leftover in generations.iterdir():
        if leftover.name.split(".")[0] in kept:
            continue
        if leftover.is_dir() and not leftover.is_symlink():
            trash.mkdir(exist_ok=True)
            os.rename(leftover, trash / f"{leftover.name}.{time.time_ns()}")
        else:
            leftover.unlink(missing_ok=True)


def snapshot_trash_empty():
    """Delete the generations the builds have set aside; returns how many.

    A build only moves them to trash/ (one rename each): nationally a base is
    millions of files and folders, minutes of deleting a build must not wait for.
    """
    trash = snapshot_root() / TRASH
    emptied = list(trash.iterdir()) if trash.exists() else []
    for directory in emptied:
        shutil.rmtree(directory, ignore_errors=True)  # another emptying at the same time: whoever comes first
    return len(emptied)


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
class _Written:
    """What a build (or one process's part of it) wrote."""

    files: dict = dataclasses.field(default_factory=dict)  # the manifest entries of the generation's own files
    versions: dict = dataclasses.field(default_factory=dict)  # the key and version of each page it holds itself
    rendered: int = 0
    reused: int = 0  # left to the base, or linked from the previous generation
    seen: int = 0  # keys of the base's index still on the site

    @property
    def total(self):
        """The files of the whole snapshot: its own and those it leaves to its base."""
        return self.rendered + self.reused

    def add(self, other):
        self.files.update(other.files)
        self.versions.update(other.versions)
        self.rendered += other.rendered
        self.reused += other.reused
        self.seen += other.seen


@dataclasses.dataclass
class _Generation:
    """A generation being written: each page rendered when its version moved, else left to the base or linked.

    A page's key is its region or TPS (all of a region's six files share its version), or its own path;
    a file that is no page (the CSS, a scan rendition) is keyed by its name and versioned by its sha256.
    """

    previous_prefix: str
    target_prefix: str
    known: dict  # name -> manifest entry of the previous generation's files that can be linked
    base: dict  # key -> version of the pages the base holds: a layer leaves those to it
    progress: Callable[[int], None] | None = None

    def write(self, pages, progress=None):
        """Every page of `pages`; returns _Written."""
        progress = progress or self.progress
        written, made, seen, due = _Written(), set(), set(), []
        for page in pages:
            if isinstance(page, Unchanged):  # a region or TPS the base holds as it is
                seen.add(page.unit)
                written.reused += page.files
                if progress:
                    progress(page.files)
                continue
            key = page.unit or page.path
            base_version = self.base.get(key)
            if base_version is not None:
                seen.add(key)
            name = file_of(page.path)
            old = self.known.get(name)
            later = False  # rendered with its batch, and counted then
            if base_version == page.version:
                written.reused += 1
            elif old and old.get("version") == page.version:
                self._link(name, made)
                written.files[name] = old
                written.reused += 1
            else:
                due.append(page)
                later = True
                if len(due) == RENDER_BATCH:
                    self._render(due, written, made, progress)
            if base_version != page.version:  # what the generation holds itself
                written.versions[key] = page.version
            if progress and not later:
                progress(1)
        self._render(due, written, made, progress)
        written.seen = len(seen)
        return written

    def _render(self, due, written, made, progress):
        """Render and write the pages due, their regions and TPS read together first; empties `due`."""
        read_ahead(due)
        for page in due:
            body = page.render()
            name = file_of(page.path)
            _write(self.target_prefix + name, body, made)
            written.files[name] = {
                "sha256": hashlib.sha256(body).hexdigest(),
                "size": len(body),
                "version": page.version,
            }
            written.rendered += 1
        if progress and due:
            progress(len(due))
        due.clear()

    def _link(self, name, made):
        source = self.previous_prefix + name
        if not os.path.exists(source):  # the previous generation was a layer: its base has it
            source = f"{self.previous_prefix}{BASE}/{name}"
        _link_or_copy(source, self.target_prefix + name, made)

    def write_file(self, written, name, sha256, read):
        """A file that is no page, known by its sha256: left to the base, linked, or written from read()."""
        if name in self.base:
            written.seen += 1
        old = self.known.get(name)
        if self.base.get(name) == sha256:
            written.reused += 1
            return
        written.versions[name] = sha256
        if old and old["sha256"] == sha256:
            self._link(name, set())
            written.files[name] = old
            written.reused += 1
        else:
            data = read()
            _write(self.target_prefix + name, data)
            written.files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            written.rendered += 1

    def write_static(self, written):
        """The CSS (and whatever else the pages load) under static/, as collectstatic or the finders have it."""
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
            data = source.read_bytes()
            self.write_file(written, f"{prefix}/{relative}", hashlib.sha256(data).hexdigest(), lambda data=data: data)

    def write_media(self, written):
        """The public scan renditions the TPS pages show, when the portal serves them itself (MEDIA_URL a path)."""
        if not settings.MEDIA_URL.startswith("/"):
            return  # a bucket or CDN serves them: the pages link there
        from uploads.models import Scan  # the uploads app builds on results; the snapshot reads its renditions

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
            self.write_file(written, f"{prefix}/{stored}", sha256, lambda stored=stored: _stored(stored))

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
        written = _Written()
        for _outcome, part_written in outcomes.values():
            written.add(part_written)
        return written

    def _part_write(self, part, parts, done, outcome):
        """In a forked process: write this part's pages, leave what write() returns in `outcome`, and exit."""

        def count(pages):
            done[part] += pages

        try:
            mine = (page for page in site_pages(self.base) if _share(page, parts) == part)
            result = ("done", self.write(mine, progress=count))
        except BaseException:
            result = ("failed", traceback.format_exc())
        try:
            connections.close_all()
            with open(outcome, "wb") as handle:
                pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            os._exit(0)  # not the parent's exit handlers: they are the parent's to run


def _stored(name):
    with default_storage.open(name, "rb") as handle:
        return handle.read()


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


@dataclasses.dataclass
class Verified:
    files: int
    problems: list


def snapshot_verify(read, public_key_pem):
    """Check a snapshot through `read(name) -> bytes or None`: the signature, then every file's sha256.

    A layer's manifest pins its base's by sha256: the files are the base's, overlaid with the layer's.
    """
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
    files = manifest["files"]
    if "base" in manifest:
        pin = manifest["base"]
        base_bytes = read(pin["manifest"])
        if base_bytes is None or hashlib.sha256(base_bytes).hexdigest() != pin["sha256"]:
            return Verified(0, [f"{pin['manifest']}: the base's manifest is missing or not the one the manifest names"])
        files = {**json.loads(base_bytes)["files"], **files}
    problems = []
    for name, entry in files.items():
        data = read(name)
        if data is None:
            problems.append(f"{name}: missing")
        elif hashlib.sha256(data).hexdigest() != entry["sha256"]:
            problems.append(f"{name}: differs from the manifest")
    return Verified(len(files), problems)


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

    The bucket holds every file at its name, as a static host serves it: a
    layer's files replace its base's there. Only files whose sha256 differs from
    the snapshot already in the bucket are uploaded, streamed from disk; while
    the bucket's base is the current one, only the two layers are compared.
    S3 has no atomic switch of many objects:
    during an upload the changed pages are replaced one by one (each one whole),
    so for that moment the bucket mixes two snapshots. What a mirror verifies is
    the signed manifest, and it goes up after every file it lists (and the
    base's manifest it pins): the bucket
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
        manifest_bytes = (directory / MANIFEST).read_bytes()
        manifest = json.loads(manifest_bytes)
        base = _base_pin(manifest, manifest_bytes)
        published, published_base = (None, None) if full else _published_manifest(storage)
        if published is not None and published_base == base:
            # The bucket's snapshot has the same base: only the layers can differ, not millions of files.
            files, total = manifest["files"], manifest["total"]
            old = published["files"] if "base" in published else {}
            changed = _changed(files, old) + [name for name in old if name not in files]  # back to the base's
            gone, signed = [], SIGNED
        else:
            files = snapshot_files(directory)
            total = len(files)
            old = _published_files(storage, published) if published else {}
            changed = _changed(files, old)
            gone = [name for name in old if name not in files]
            if published is not None and published_base[0] != base[0]:
                gone.append(published_base[0])
            signed = (base[0], *SIGNED)  # the full manifest the layers point to, then the signed one
        if progress:
            progress(total - len(changed))

        def upload(name):
            with open(snapshot_file(directory, name), "rb") as handle:
                storage.save(name, File(handle, name=name))
            if progress:
                progress(1)

        _each(upload, changed)
        for name in signed:  # in this order, each after the one before it is stored
            upload(name)
        if full:
            gone = [name for name in _bucket_names(storage) if name not in files and name not in signed]
        _each(storage.delete, gone)
        return Published(
            manifest["generation"],
            uploaded=len(changed) + len(signed),
            unchanged=total - len(changed),
            deleted=len(gone),
            seconds=time.monotonic() - started,
        )


def _changed(files, published):
    return [name for name, entry in files.items() if published.get(name, {}).get("sha256") != entry["sha256"]]


def _base_pin(manifest, manifest_bytes):
    """The name and sha256 of the full manifest a snapshot's files are listed in: its base's, or its own."""
    if "base" in manifest:
        return manifest["base"]["manifest"], manifest["base"]["sha256"]
    return _manifest_copy(manifest["generation"]), hashlib.sha256(manifest_bytes).hexdigest()


def _published_manifest(storage):
    """The bucket's manifest and its _base_pin, or Nones (none yet, or unreadable: everything goes up again)."""
    try:
        with storage.open(MANIFEST, "rb") as handle:
            data = handle.read()
        manifest = json.loads(data)
        return manifest, _base_pin(manifest, data)
    except FileNotFoundError:
        return None, None
    except (ValueError, KeyError):
        log.warning("snapshot: the bucket's manifest is unreadable; publishing every file")
        return None, None


def _published_files(storage, published):
    """Every file of the snapshot in the bucket: its base's manifest overlaid with its own."""
    if "base" not in published:
        return published["files"]
    try:
        with storage.open(published["base"]["manifest"], "rb") as handle:
            return {**json.loads(handle.read())["files"], **published["files"]}
    except (FileNotFoundError, ValueError):
        log.warning("snapshot: the bucket's base manifest is missing or unreadable; publishing every file")
        return {}


def _bucket_names(storage):
    prefix = f"{storage.location.strip('/')}/" if storage.location else ""
    return [item.key.removeprefix(prefix) for item in storage.bucket.objects.filter(Prefix=prefix)]


def _each(function, names):
    with ThreadPoolExecutor(max_workers=PUBLISH_THREADS) as pool:
        for _done in pool.map(function, names):  # re-raises the first failure
            pass
