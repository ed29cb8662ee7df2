import io
import logging
import zipfile

import pytest

from tests.uploads import images
from uploads.models import BatchFile, Scan
from uploads.services import upload_bulk


def zipped(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


def report(batch):
    return {name: (outcome, reason) for name, outcome, reason in batch.files.values_list("name", "outcome", "reason")}


@pytest.fixture
def upload(contest, officer, django_capture_on_commit_callbacks):
    def run(files, user=officer):
        with django_capture_on_commit_callbacks(execute=True):
            return upload_bulk(contest=contest, files=files, uploaded_by=user)

    return run


def test_files_named_by_dotted_or_undotted_tps_code_find_their_form(kalbar, upload):
    batch = upload(
        [
            ("61.71.06.1001.001-1.jpg", images.jpeg(color=(1, 2, 3))),
            ("6171061001001-2.JPG", images.jpeg(color=(4, 5, 6))),
            ("61.71.06.1001.002_1.png", images.encoded("PNG")),
        ]
    )
    assert {outcome for outcome, _reason in report(batch).values()} == {"accepted"}
    pages = Scan.objects.order_by("tally__station__code", "page").values_list("tally__station__code", "page", "status")
    assert list(pages) == [
        ("61.71.06.1001.001", 1, "ready"),
        ("61.71.06.1001.001", 2, "ready"),
        ("61.71.06.1001.002", 1, "ready"),
    ]


def test_a_zip_is_unpacked_and_every_file_gets_a_line_in_the_report(kalbar, upload):
    archive = zipped(
        [
            ("kecamatan/61.71.06.1001.001-1.jpg", images.jpeg(color=(9, 9, 9))),
            ("kecamatan/61.71.06.1001.002-1.jpg", images.jpeg(color=(8, 8, 8))),
            ("kecamatan/61.71.06.1001.002-2.jpg", images.jpeg(color=(9, 9, 9))),
            ("kecamatan/readme.txt", b"notes"),
            ("__MACOSX/._61.71.06.1001.001-1.jpg", b"junk"),
        ]
    )
    batch = upload([("pontianak-tenggara.zip", archive)])
    assert report(batch) == {
        "61.71.06.1001.001-1.jpg": ("accepted", ""),
        "61.71.06.1001.002-1.jpg": ("accepted", ""),
        "61.71.06.1001.002-2.jpg": ("duplicate", "Already uploaded as TPS 61.71.06.1001.001 page 1."),
        "readme.txt": ("rejected", report(batch)["readme.txt"][1]),
    }
    assert "61.71.06.1001.001-1.jpg" in report(batch)["readme.txt"][1]


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("scan.jpg", images.jpeg(), "does not say which TPS"),
        ("61.71.06.1001.001-1.gif", images.encoded("GIF"), "“.gif” files are not accepted"),
        ("61.71.06.1001.009-1.jpg", images.jpeg(), "There is no TPS 61.71.06.1001.009"),
        ("61.71.06.9001.001-1.jpg", images.jpeg(), "starts with 1 (kelurahan) or 2 (desa)"),
        ("61.71.06.1001.001-1.jpg", b"", "empty"),
        ("broken.zip", b"PK\x03\x04 not really a zip", "zip file is damaged"),
    ],
)
def test_each_bad_file_is_rejected_in_the_report_and_the_rest_goes_on(kalbar, upload, name, data, reason):
    batch = upload([(name, data), ("61.71.06.1001.002-1.jpg", images.jpeg(color=(7, 7, 7)))])
    lines = report(batch)
    assert lines[name][0] == "rejected" and reason in lines[name][1]
    assert lines["61.71.06.1001.002-1.jpg"] == ("accepted", "")
    assert Scan.objects.count() == 1


def test_a_file_for_another_region_is_refused_and_logged(kalbar, upload, caplog):
    with caplog.at_level(logging.WARNING, logger="kpuportal.security"):
        batch = upload([("61.72.01.1001.001-1.jpg", images.jpeg())])
    assert report(batch)["61.72.01.1001.001-1.jpg"] == ("rejected", "TPS 61.72.01.1001.001 is outside your region.")
    assert Scan.objects.count() == 0
    assert "61.72.01.1001.001" in caplog.text


def test_a_superuser_may_upload_anywhere(kalbar, upload, superuser):
    batch = upload([("61.72.01.1001.001-1.jpg", images.jpeg())], user=superuser)
    assert report(batch)["61.72.01.1001.001-1.jpg"] == ("accepted", "")


def test_a_bad_image_is_accepted_for_storage_then_rejected_by_ingest(kalbar, upload):
    batch = upload([("61.71.06.1001.001-1.jpg", images.TEXT)])
    line = batch.files.get()
    assert line.outcome == BatchFile.Outcome.ACCEPTED
    line.scan.refresh_from_db()
    assert line.scan.status == Scan.Status.REJECTED
    assert "not a JPEG, PNG, WebP or TIFF" in line.scan.rejection_reason


def test_a_file_over_the_size_limit_is_refused_with_both_sizes(kalbar, upload, settings):
    settings.SCAN_MAX_BYTES = 3 * 2**20
    batch = upload([("61.71.06.1001.001-1.jpg", b"\xff\xd8" + b"\x00" * (3 * 2**20 + 200_000))])
    outcome, reason = report(batch)["61.71.06.1001.001-1.jpg"]
    assert outcome == "rejected"
    assert "3.2\xa0MB" in reason and "3.0\xa0MB" in reason
    assert Scan.objects.count() == 0
