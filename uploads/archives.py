"""What a bulk upload's files are: names that say which TPS and page, and zip archives.

Pure, like imaging.py: files in, members and refusals out, no storage and no
database. Every way a name or an archive can be bad ends in a `Refusal` for
that one file's line of the report; nothing here may raise on hostile input.
"""

import hashlib
import posixpath
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass

from .reasons import Refusal

# "61.71.06.1001.001-1.jpg" or "6171061001001_2.png": TPS code, page, image type.
SCAN_FILE_NAME = re.compile(r"^(?P<code>[0-9.]+)[-_](?P<page>\d{1,2})\.(?P<extension>[A-Za-z0-9]{1,5})$")
SCAN_EXTENSIONS = {"jpg", "jpeg", "png", "webp", "tif", "tiff"}
ZIP_MAGIC = b"PK\x03\x04"
NAME_MAX_LENGTH = 255
CHUNK_BYTES = 1024 * 1024
# Member contents up to this size stay in memory; larger ones spill to a temporary file.
SPOOL_BYTES = 2 * 1024 * 1024


class FileRefused(Refusal):
    """This one file (loose, or a member of a zip) is not stored; the rest of the upload goes on."""


@dataclass(frozen=True)
class ScanFileName:
    code: str  # as written: dotted or undotted, normalised later against the regions
    page: int


def display_name(name):
    """A file name fit for a report line: no control characters, at most 255 characters, the end kept."""
    cleaned = "".join("\ufffd" if unicodedata.category(char) == "Cc" else char for char in name)
    if len(cleaned) > NAME_MAX_LENGTH:
        cleaned = "…" + cleaned[-(NAME_MAX_LENGTH - 1) :]
    return cleaned or "?"


def scan_file_name_parse(name):
    """Which TPS and page a bulk file is, from its name; FileRefused when the name does not say."""
    if name.startswith("."):
        raise FileRefused("hidden", name=name)
    match = SCAN_FILE_NAME.match(name)
    if not match:
        raise FileRefused("unnamed")
    if match["extension"].lower() not in SCAN_EXTENSIONS:
        raise FileRefused("extension", extension=match["extension"])
    return ScanFileName(code=match["code"], page=int(match["page"]))


def is_zip(name, head):
    return name.lower().endswith(".zip") or head.startswith(ZIP_MAGIC)


@dataclass
class InflateBudget:
    """How much the zip files of one upload may inflate, all members together."""

    max_bytes: int
    used: int = 0

    def remaining(self):
        return self.max_bytes - self.used


@dataclass(frozen=True)
class ZipLimits:
    member_max_bytes: int
    member_max_ratio: int
    max_members: int
    budget: InflateBudget
    # Which reason to give once the budget is spent: the upload's size or its ratio.
    budget_reason: str = "upload_inflated"
    budget_params: dict = None


@dataclass
class Member:
    """One file of a zip: `content` (a file at position 0) and its digest, or the refusal."""

    index: int
    name: str
    content: object = None
    sha256: str = ""
    size: int = 0
    refusal: FileRefused = None

    def close(self):
        if self.content is not None:
            self.content.close()


def _inflate(archive, info, limit):
    """Inflate one member into a spooled file, reading at most `limit` + 1 bytes: headers may lie."""
    digest = hashlib.sha256()
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    size = 0
    try:
        with archive.open(info) as handle:
            while size <= limit:
                chunk = handle.read(min(CHUNK_BYTES, limit + 1 - size))
                if not chunk:
                    break
                size += len(chunk)
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out, digest.hexdigest(), size


def zip_members(file, *, limits, skip=frozenset()):
    """Yield a Member for every file entry of the zip, in order, each checked before and while it inflates.

    Entries whose index is in `skip` (reported by an earlier run) are passed over uninflated.

    Raises FileRefused only for the archive as a whole (damaged, unreadable
    names, too many files); after that every member gets its own Member.
    The caller closes each member's content.
    """
    try:
        archive = zipfile.ZipFile(file)
    except UnicodeDecodeError:
        raise FileRefused("zip_names") from None
    except Exception:
        # zipfile raises BadZipFile, OSError, ValueError, EOFError... on a damaged directory.
        raise FileRefused("zip_damaged") from None
    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        if len(entries) > limits.max_members:
            raise FileRefused("zip_too_many", count=len(entries), limit=limits.max_members)
        for index, info in enumerate(entries, start=1):
            if index not in skip:
                yield _member(archive, index, info, limits)


def _member(archive, index, info, limits):
    name = display_name(posixpath.basename(info.filename.replace("\\", "/")) or info.filename)
    member = Member(index=index, name=name)
    try:
        scan_file_name_parse(name)
    except FileRefused as refused:
        member.refusal = refused
        return member
    budget = limits.budget
    if budget.remaining() <= 0:
        member.refusal = FileRefused(limits.budget_reason, **(limits.budget_params or {}))
        return member
    if info.file_size > limits.member_max_bytes:
        member.refusal = FileRefused("too_large", size_bytes=info.file_size, limit_bytes=limits.member_max_bytes)
        return member
    ratio_limit = limits.member_max_ratio * max(info.compress_size, 1)
    if info.file_size > ratio_limit:
        member.refusal = _ratio_refusal(info.file_size, info.compress_size, limits)
        return member
    limit = min(limits.member_max_bytes, ratio_limit, budget.remaining())
    try:
        content, digest, size = _inflate(archive, info, limit)
    except Exception:
        # zlib.error, lzma.LZMAError, BadZipFile, NotImplementedError (a method
        # zipfile lacks), RuntimeError (encrypted), UnicodeDecodeError (a local
        # header name that is not UTF-8), EOFError... all say the same to the officer.
        member.refusal = FileRefused("member_damaged")
        return member
    budget.used += size
    if size > limit:
        content.close()
        if size > limits.member_max_bytes:
            size = max(size, info.file_size)
            member.refusal = FileRefused("too_large", size_bytes=size, limit_bytes=limits.member_max_bytes)
        elif size > ratio_limit:
            member.refusal = _ratio_refusal(size, info.compress_size, limits)
        else:
            member.refusal = FileRefused(limits.budget_reason, **(limits.budget_params or {}))
        return member
    if size == 0:
        content.close()
        member.refusal = FileRefused("empty")
        return member
    member.content, member.sha256, member.size = content, digest, size
    return member


def _ratio_refusal(size, compressed, limits):
    return FileRefused("member_ratio", ratio=size // max(compressed, 1), limit=limits.member_max_ratio)
