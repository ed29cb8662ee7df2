"""The two stores of scans: private for what officers uploaded, public for the renditions.

Everything is content-addressed (the sha256 of the bytes names the file), so
a name that exists already holds these very bytes and is never overwritten.
"""

import hashlib
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

CHUNK_BYTES = 1024 * 1024


class PrivateStorage(LazyObject):
    """STORAGES["private"]: raw uploads, never public (they may carry an officer's GPS position)."""

    def _setup(self):
        self._wrapped = storages["private"]


private_storage = PrivateStorage()


def get_private_storage():
    """For FileField(storage=...): a callable, so that migrations name it rather than serialise it."""
    return private_storage


@receiver(setting_changed)
def _private_storage_changed(*, setting, **kwargs):
    # As Django does for default_storage: tests that override STORAGES get the new one.
    if setting == "STORAGES":
        private_storage._wrapped = empty


def content_path(kind, digest, suffix=""):
    return f"scans/{kind}/{digest[:2]}/{digest}{suffix}"


def file_sha256(file):
    """The digest and size of a file read in chunks, left at position 0 again."""
    digest, size = hashlib.sha256(), 0
    file.seek(0)
    while chunk := file.read(CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    file.seek(0)
    return digest.hexdigest(), size


def _put(storage, name, file, size):
    if storage.exists(name):
        if storage.size(name) == size:
            return name
        # Only a write cut short leaves a different size under a content address.
        storage.delete(name)
    return storage.save(name, file)


@dataclass(frozen=True)
class StoredFile:
    """A file kept in the private store under its digest."""

    name: str
    sha256: str
    size: int


def raw_put(file, *, sha256=None, size=None):
    """Keep a file, streamed (never read whole), in the private store under its digest."""
    if sha256 is None:
        sha256, size = file_sha256(file)
    file.seek(0)
    return StoredFile(name=_put(private_storage, content_path("raw", sha256), file, size), sha256=sha256, size=size)


def rendition_put(kind, data):
    """Keep a rendition (bytes) in the public store; returns (name, sha256)."""
    digest = hashlib.sha256(data).hexdigest()
    return _put(default_storage, content_path(kind, digest, ".jpg"), ContentFile(data), len(data)), digest
