"""Bulk uploads: files named by TPS code and page, loose or zipped, one report line each."""

import io
import logging
import os
import struct
import zipfile

import pytest

from tests.uploads import images
from uploads.models import Arrival, BatchFile, Scan, UploadBatch


def zipped(members, compression=zipfile.ZIP_STORED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


def report(batch):
    """{file name: (outcome, reason as the English reader sees it)}."""
    return {line.name: (line.outcome, str(line.reason or "")) for line in batch.files.all()}


def test_files_named_by_dotted_or_undotted_tps_code_find_their_form(kalbar, receive):
    batch = receive(
        [
            ("61.71.06.1001.001-1.jpg", images.jpeg(color=(1, 2, 3))),
            ("6171061001001-2.JPG", images.jpeg(color=(4, 5, 6))),
            ("61.71.06.1001.002_1.png", images.encoded("PNG")),
        ]
    )
    assert {outcome for outcome, _reason in report(batch).values()} == {"accepted"}
    assert batch.status == UploadBatch.Status.UNPACKED
    pages = Scan.objects.order_by("tally__station__code", "page").values_list("tally__station__code", "page", "status")
    assert list(pages) == [
        ("61.71.06.1001.001", 1, "ready"),
        ("61.71.06.1001.001", 2, "ready"),
        ("61.71.06.1001.002", 1, "ready"),
    ]


def test_a_zip_is_unpacked_and_every_file_gets_a_line_in_the_report(kalbar, receive):
    archive = zipped(
        [
            ("kecamatan/61.71.06.1001.001-1.jpg", images.jpeg(color=(9, 9, 9))),
            ("kecamatan/61.71.06.1001.002-1.jpg", images.jpeg(color=(8, 8, 8))),
            ("kecamatan/61.71.06.1001.001-2.jpg", images.jpeg(color=(9, 9, 9))),
            ("kecamatan/readme.txt", b"notes"),
            ("kecamatan/.DS_Store", b"\x00\x00\x00\x01Bud1"),
            ("__MACOSX/kecamatan/._61.71.06.1001.001-1.jpg", b"junk"),
        ]
    )
    batch = receive([("pontianak-tenggara.zip", archive)])
    unnamed = "The file name does not say which TPS and page it is: name it like 61.71.06.1001.001-1.jpg."
    assert report(batch) == {
        "61.71.06.1001.001-1.jpg": ("accepted", ""),
        "61.71.06.1001.002-1.jpg": ("accepted", ""),
        "61.71.06.1001.001-2.jpg": ("duplicate", "Already uploaded as TPS 61.71.06.1001.001 page 1."),
        "readme.txt": ("rejected", unnamed),
        ".DS_Store": (
            "rejected",
            "“.DS_Store” is a hidden or system file (its name starts with a dot), not a scan.",
        ),
        "._61.71.06.1001.001-1.jpg": (
            "rejected",
            "“._61.71.06.1001.001-1.jpg” is a hidden or system file (its name starts with a dot), not a scan.",
        ),
    }


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("scan.jpg", images.jpeg(), "The file name does not say which TPS and page it is"),
        ("61.71.06.1001.001-1.gif", images.encoded("GIF"), "“.gif” files are not accepted"),
        ("61.71.06.1001.009-1.jpg", images.jpeg(), "There is no TPS 61.71.06.1001.009."),
        ("61.71.06.9001.001-1.jpg", images.jpeg(), "a village number starts with 1 (kelurahan) or 2 (desa)"),
        ("61.71.06.1001.001-1.jpg", b"", "The file is empty (0 bytes)."),
        ("broken.zip", b"PK\x03\x04 not really a zip", "The zip file is damaged."),
        (".hidden-61.71.06.1001.001-1.jpg", images.jpeg(), "is a hidden or system file"),
    ],
)
def test_each_bad_file_is_rejected_in_the_report_and_the_rest_goes_on(kalbar, receive, name, data, reason):
    batch = receive([(name, data), ("61.71.06.1001.002-1.jpg", images.jpeg(color=(7, 7, 7)))])
    lines = report(batch)
    assert lines[name][0] == "rejected"
    assert reason in lines[name][1]
    assert lines["61.71.06.1001.002-1.jpg"] == ("accepted", "")
    assert Scan.objects.count() == 1


def test_a_file_for_another_region_is_refused_and_logged(kalbar, receive, caplog):
    with caplog.at_level(logging.WARNING, logger="kpuportal.security"):
        batch = receive([("61.72.01.1001.001-1.jpg", images.jpeg())])
    assert report(batch)["61.72.01.1001.001-1.jpg"] == ("rejected", "TPS 61.72.01.1001.001 is outside your region.")
    assert Scan.objects.count() == 0
    assert "61.72.01.1001.001" in caplog.text


def test_a_superuser_may_upload_anywhere(kalbar, receive, superuser):
    batch = receive([("61.72.01.1001.001-1.jpg", images.jpeg())], user=superuser)
    assert report(batch)["61.72.01.1001.001-1.jpg"] == ("accepted", "")


def test_a_bad_image_is_accepted_for_storage_then_rejected_by_ingest(kalbar, receive):
    batch = receive([("61.71.06.1001.001-1.jpg", images.TEXT)])
    line = batch.files.get()
    assert line.outcome == BatchFile.Outcome.ACCEPTED
    line.scan.refresh_from_db()
    assert line.scan.status == Scan.Status.REJECTED
    assert str(line.scan.rejection_reason) == "This file is not a JPEG, PNG, WebP or TIFF image, or it is damaged."


def test_a_file_over_the_size_limit_is_refused_with_both_sizes(kalbar, receive, settings, private_root):
    settings.SCAN_MAX_BYTES = 3 * 2**20
    batch = receive([("61.71.06.1001.001-1.jpg", b"\xff\xd8" + b"\x00" * (3 * 2**20 + 200_000))])
    outcome, reason = report(batch)["61.71.06.1001.001-1.jpg"]
    assert outcome == "rejected"
    assert reason == "The file is 3.2\xa0MB; at most 3.0\xa0MB is accepted."
    assert Scan.objects.count() == 0
    assert not private_root.exists() or not any(path.is_file() for path in private_root.rglob("*"))


# Hostile zips: whatever is wrong with a member, it gets its own line and the rest goes on.


def _corrupt_member_data(archive, member_name):
    """Flip bytes in the middle of one member's compressed data."""
    with zipfile.ZipFile(io.BytesIO(archive)) as reader:
        info = reader.getinfo(member_name)
    header_end = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = header_end + info.compress_size // 2
    damaged = bytearray(archive)
    damaged[middle : middle + 16] = b"\xff" * 16
    return bytes(damaged)


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2])
def test_a_member_with_a_corrupt_stream_gets_its_own_line(kalbar, receive, compression):
    good = images.jpeg(color=(3, 3, 3))
    noisy = images.truncated_jpeg() * 2
    archive = zipped([("61.71.06.1001.001-1.jpg", noisy), ("61.71.06.1001.002-1.jpg", good)], compression)
    batch = receive([("tps.zip", _corrupt_member_data(archive, "61.71.06.1001.001-1.jpg"))])
    assert report(batch) == {
        "61.71.06.1001.001-1.jpg": ("rejected", "This file in the zip is damaged or encrypted."),
        "61.71.06.1001.002-1.jpg": ("accepted", ""),
    }


def _with_utf8_flag_and_bad_name(archive, good_name, bad_name, *, central=True, local=True):
    """Rewrite a member name to bytes that are not UTF-8 while the header says they are."""
    assert len(good_name) == len(bad_name)
    data = bytearray(archive)
    for signature, name_offset, flag_offset, wanted in ((b"PK\x01\x02", 46, 8, central), (b"PK\x03\x04", 30, 6, local)):
        if not wanted:
            continue
        start = data.find(signature + b"")
        while start != -1:
            if data[start + name_offset : start + name_offset + len(good_name)] == good_name:
                data[start + name_offset : start + name_offset + len(bad_name)] = bad_name
                flags = struct.unpack_from("<H", data, start + flag_offset)[0] | 0x800
                struct.pack_into("<H", data, start + flag_offset, flags)
            start = data.find(signature, start + 1)
    return bytes(data)


def test_a_member_whose_local_name_is_not_utf8_gets_its_own_line(kalbar, receive):
    archive = zipped(
        [("61.71.06.1001.001-1.jpg", images.jpeg()), ("61.71.06.1001.002-1.jpg", images.jpeg(color=(5, 5, 5)))]
    )
    damaged = _with_utf8_flag_and_bad_name(
        archive, b"61.71.06.1001.001-1.jpg", b"61.71.06.1001.001-1\xff\xfepg", central=False
    )
    batch = receive([("tps.zip", damaged)])
    assert report(batch) == {
        "61.71.06.1001.001-1.jpg": ("rejected", "This file in the zip is damaged or encrypted."),
        "61.71.06.1001.002-1.jpg": ("accepted", ""),
    }


def test_a_zip_whose_names_are_not_utf8_is_one_clear_line(kalbar, receive):
    archive = zipped([("61.71.06.1001.001-1.jpg", images.jpeg())])
    damaged = _with_utf8_flag_and_bad_name(archive, b"61.71.06.1001.001-1.jpg", b"61.71.06.1001.001-1\xff\xfepg")
    batch = receive([("tps.zip", damaged), ("61.71.06.1001.002-1.jpg", images.jpeg(color=(5, 5, 5)))])
    assert report(batch)["tps.zip"] == (
        "rejected",
        "The names of the files in this zip cannot be read. Make the zip again with another program.",
    )
    assert report(batch)["61.71.06.1001.002-1.jpg"] == ("accepted", "")


def test_a_member_name_too_long_or_with_control_characters_is_reported_shortened(kalbar, receive):
    long_name = "x" * 300 + "-61.71.06.1001.001-1.jpg"
    # (zipfile itself cuts a name at a NUL byte.)
    archive = zipped([(long_name, images.jpeg()), ("bad\x1bname\x07.jpg", images.jpeg(color=(4, 4, 4)))])
    batch = receive([("tps.zip", archive)])
    names = [line.name for line in batch.files.order_by("member")]
    assert len(names[0]) == 255 and names[0].startswith("…") and names[0].endswith("-61.71.06.1001.001-1.jpg")
    assert names[1] == "bad\ufffdname\ufffd.jpg"
    assert {line.outcome for line in batch.files.all()} == {"rejected"}


def test_an_encrypted_member_gets_its_own_line(kalbar, receive):
    archive = bytearray(zipped([("61.71.06.1001.001-1.jpg", images.jpeg())]))
    # Set the "encrypted" flag in both headers: zipfile then asks for a password.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = archive.find(signature)
        struct.pack_into("<H", archive, start + offset, struct.unpack_from("<H", archive, start + offset)[0] | 1)
    batch = receive([("tps.zip", bytes(archive))])
    assert report(batch) == {"61.71.06.1001.001-1.jpg": ("rejected", "This file in the zip is damaged or encrypted.")}


# Zip amplification: limits on how far a member and a whole upload inflate.


def test_a_member_that_inflates_too_far_is_refused_without_being_stored(kalbar, receive, private_root):
    zeros = zipped(
        [(f"61.71.06.1001.001-{page}.jpg", b"\x00" * 20_000_000) for page in (1, 2, 3)], zipfile.ZIP_DEFLATED
    )
    assert len(zeros) < 100_000
    batch = receive([("bomb.zip", zeros)])
    for outcome, reason in report(batch).values():
        assert outcome == "rejected"
        assert reason.startswith("This file would inflate ") and "times, more than the 100 allowed for a scan" in reason
    kept = [path for path in private_root.rglob("*") if path.is_file()]
    assert [path.stat().st_size for path in kept] == [len(zeros)]  # only the zip itself
    assert Scan.objects.count() == 0


def test_an_upload_stops_unpacking_when_its_zips_inflate_too_far_in_all(kalbar, receive, settings):
    settings.UPLOAD_MAX_INFLATED_BYTES = 10**9
    settings.UPLOAD_MAX_RATIO = 3
    # Each member alone is fine (about 5 times), but together the zip inflates past 3 times its size.
    members = [
        (
            f"61.71.06.1001.00{tps}-{page}.jpg",
            images.jpeg(color=(tps * 100, page * 60, 0)) + os.urandom(10_000) + bytes(40_000),
        )
        for tps in (1, 2)
        for page in (1, 2, 3)
    ]
    batch = receive([("district.zip", zipped(members, zipfile.ZIP_DEFLATED))])
    lines = list(batch.files.order_by("member").values_list("outcome", "reason_code"))
    assert lines[0] == ("accepted", "")
    assert ("rejected", "upload_ratio") in lines
    assert lines[lines.index(("rejected", "upload_ratio")) :] == [("rejected", "upload_ratio")] * (
        len(lines) - lines.index(("rejected", "upload_ratio"))
    )
    assert "inflate more than 3 times their size" in report(batch)[members[-1][0]][1]


def test_an_upload_stops_unpacking_past_its_total_inflated_size(kalbar, receive, settings):
    settings.UPLOAD_MAX_INFLATED_BYTES = 150_000
    members = [
        (f"61.71.06.1001.001-{page}.jpg", images.jpeg(300, 400, color=(page, 9, 9)) + bytes(range(256)) * 200)
        for page in (1, 2, 3, 4)
    ]
    batch = receive([("district.zip", zipped(members))])
    outcomes = [outcome for outcome, _reason in report(batch).values()]
    assert outcomes[0] == "accepted" and outcomes[-1] == "rejected"
    assert report(batch)[members[-1][0]][1].startswith("The zip files of this upload inflate to more than 146.5")


def test_a_zip_with_too_many_files_is_one_line(kalbar, receive, settings):
    settings.ZIP_MAX_MEMBERS = 3
    archive = zipped([(f"61.71.06.1001.001-{page}.jpg", images.jpeg(color=(page * 60, 0, 0))) for page in range(1, 5)])
    batch = receive([("many.zip", archive)])
    assert report(batch) == {"many.zip": ("rejected", "The zip holds 4 files; at most 3 per upload.")}


# Duplicates: the same bytes again.


def test_the_same_image_filed_in_another_region_says_only_that_and_is_flagged(
    kalbar, receive, superuser, contest, officer
):
    data = images.jpeg(color=(11, 22, 33))
    receive([("61.72.01.1001.001-1.jpg", data)], user=superuser)
    batch = receive([("61.71.06.1001.001-1.jpg", data)])
    line = batch.files.get()
    assert line.outcome == "duplicate"
    assert str(line.reason) == (
        "The same image was already filed for another TPS. It is kept there and flagged: check which TPS this "
        "form belongs to."
    )
    assert "61.72" not in str(line.reason)
    assert line.station.code == "61.71.06.1001.001"  # what the officer said it is, kept for the flag
    assert line.scan.tally.station.code == "61.72.01.1001.001"


def test_the_same_image_filed_for_another_tps_of_ones_own_region_names_it(kalbar, receive):
    data = images.jpeg(color=(44, 55, 66))
    receive([("61.71.06.1001.001-1.jpg", data)])
    batch = receive([("61.71.06.1001.002-1.jpg", data)])
    assert report(batch)["61.71.06.1001.002-1.jpg"] == (
        "duplicate",
        "The same image is already filed for TPS 61.71.06.1001.001 page 1. It is kept there and flagged: check "
        "which TPS this form belongs to.",
    )


# The request keeps what arrived; the task does the rest.


def test_the_request_only_keeps_the_files_and_queues_one_task(
    kalbar, contest, officer, django_capture_on_commit_callbacks, private_root
):
    from tests.uploads.conftest import uploaded
    from uploads.services import batch_receive

    archive = zipped([(f"61.71.06.1001.001-{page}.jpg", images.jpeg(color=(page * 60, 1, 1))) for page in (1, 2)])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = batch_receive(
            contest=contest,
            files=[uploaded("a.zip", archive), uploaded("61.71.06.1001.002-1.jpg", images.jpeg())],
            uploaded_by=officer,
        )
    assert len(callbacks) == 1
    assert batch.status == UploadBatch.Status.RECEIVED
    assert list(Arrival.objects.values_list("name", "is_zip", "unpacked")) == [
        ("a.zip", True, False),
        ("61.71.06.1001.002-1.jpg", False, False),
    ]
    assert batch.files.count() == 0 and Scan.objects.count() == 0
    assert all((private_root / arrival.blob.name).read_bytes() for arrival in Arrival.objects.all())


def test_unpacking_again_after_a_crash_writes_each_line_once(kalbar, receive, contest, officer):
    from uploads.services import batch_unpack

    archive = zipped([(f"61.71.06.1001.001-{page}.jpg", images.jpeg(color=(page * 60, 2, 2))) for page in (1, 2, 3)])
    batch = receive([("a.zip", archive)])
    # As if the worker had died after the second line: the task runs again.
    line = batch.files.get(member=3)
    line.delete()
    line.scan.delete()
    Arrival.objects.update(unpacked=False)
    UploadBatch.objects.filter(pk=batch.pk).update(status=UploadBatch.Status.UNPACKING)
    batch_unpack(batch_id=batch.pk)
    assert list(batch.files.order_by("member").values_list("member", "outcome")) == [
        (1, "accepted"),
        (2, "accepted"),
        (3, "accepted"),
    ]
    assert Scan.objects.count() == 3


def test_receiving_streams_files_instead_of_reading_them_whole(kalbar, contest, officer):
    import tracemalloc

    from django.core.files.uploadedfile import TemporaryUploadedFile

    from uploads.services import batch_receive

    big = TemporaryUploadedFile("61.71.06.1001.001-1.jpg", "image/jpeg", 0, None)
    for _ in range(30):
        big.write(b"\xff" * 2**20)
    big.size = 30 * 2**20
    tracemalloc.start()
    try:
        batch_receive(contest=contest, files=[big], uploaded_by=officer)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    big.close()
    assert peak < 5 * 2**20
    assert Arrival.objects.get().size_bytes == 30 * 2**20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_upload_unpacked_twice_at_once_writes_each_line_once(kalbar, contest, officer):
    """A redelivered task running beside the first one: each file still has one line and one scan."""
    import threading

    from django.db import connection as default_connection

    from tests.uploads.conftest import uploaded
    from uploads.services import batch_receive, batch_unpack

    files = [
        (f"61.71.06.1001.00{tps}-{page}.jpg", images.jpeg(color=(tps * 90, page * 60, 9)))
        for tps in (1, 2)
        for page in (1, 2, 3)
    ]
    archive = zipped(files)
    batch = batch_receive(contest=contest, files=[uploaded("district.zip", archive)], uploaded_by=officer)
    errors = []

    def unpack():
        try:
            batch_unpack(batch_id=batch.pk)
        except Exception as error:  # surfaced below, with the thread's own traceback text
            errors.append(repr(error))
        finally:
            default_connection.close()

    threads = [threading.Thread(target=unpack) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(batch.files.values_list("member", "outcome")) == [(n, "accepted") for n in range(1, 7)]
    assert Scan.objects.count() == 6
