"""Officers work through the admin: uploads, reports, and the walls around their region."""

import logging
import re

import pytest
from django.urls import reverse

from results.models import Region, Tally
from results.services import officer_create
from tests.uploads import images
from tests.uploads.conftest import uploaded
from uploads.models import Scan, UploadBatch
from uploads.services import batch_receive, batch_unpack


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


def test_an_officer_uploads_pages_and_sees_the_report_with_progress(
    kalbar, contest, officer_client, django_capture_on_commit_callbacks, admin_upload
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_upload(
            officer_client, contest, kalbar["tps_bansir_laut_1"], ("p1.jpg", images.jpeg()), ("p2.jpg", images.TEXT)
        )
    assert response.status_code == 302
    report = officer_client.get(response.url)
    html = report.content.decode()
    assert "p1.jpg" in html and "p2.jpg" in html
    assert "1 ready, 1 rejected, 0 duplicates, 0 waiting, of 2 files" in html
    assert "This file is not a JPEG, PNG, WebP or TIFF image, or it is damaged." in html
    assert 'http-equiv="refresh"' not in html  # nothing left to wait for


def test_the_report_refreshes_itself_while_scans_wait(
    kalbar, contest, officer_client, django_capture_on_commit_callbacks, admin_upload
):
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_upload(officer_client, contest, kalbar["tps_bansir_laut_1"], ("p1.jpg", images.jpeg()))
    html = officer_client.get(response.url).content.decode()
    assert "Unpacking: 0 files reported so far." in html
    assert 'http-equiv="refresh"' in html
    batch_unpack(batch_id=UploadBatch.objects.get().pk)  # the task, without the ingest it queues
    html = officer_client.get(response.url).content.decode()
    assert "0 ready, 0 rejected, 0 duplicates, 1 waiting, of 1 files" in html
    assert "accepted, being checked" in html
    assert 'http-equiv="refresh"' in html


def test_a_forged_upload_for_another_region_is_refused_logged_and_stores_nothing(
    kalbar, contest, officer_client, caplog, admin_upload
):
    with caplog.at_level(logging.WARNING, logger="kpuportal.security"):
        response = admin_upload(officer_client, contest, kalbar["tps_pasiran_1"], ("p1.jpg", images.jpeg()))
    assert response.status_code == 200
    assert "is outside your region" in response.content.decode()
    assert Scan.objects.count() == 0 and Tally.objects.count() == 0
    assert "officer-pontianak" in caplog.text


def test_an_officer_sees_only_scans_and_stations_of_their_region(
    kalbar, contest, officer_client, superuser, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch_receive(
            contest=contest,
            files=[
                uploaded("61.71.06.1001.001-1.jpg", images.jpeg(color=(1, 1, 1))),
                uploaded("61.72.01.1001.001-1.jpg", images.jpeg(color=(200, 2, 2))),
            ],
            uploaded_by=superuser,
        )
    theirs = Scan.objects.get(tally__station__code="61.71.06.1001.001")
    other = Scan.objects.get(tally__station__code="61.72.01.1001.001")
    listing = officer_client.get(reverse("admin:uploads_scan_changelist")).content.decode()
    assert "61.71.06.1001.001" in listing and "61.72.01.1001.001" not in listing
    assert officer_client.get(reverse("admin:uploads_scan_change", args=[theirs.pk])).status_code == 200
    assert officer_client.get(reverse("admin:uploads_scan_change", args=[other.pk])).status_code == 403
    stations = officer_client.get(reverse("admin:results_pollingstation_changelist")).content.decode()
    assert "61.71.06.1001.001" in stations and "61.72.01.1001.001" not in stations


def test_autocomplete_offers_only_the_officers_stations(kalbar, officer_client):
    response = officer_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "results", "model_name": "tally", "field_name": "station", "term": "61"},
    )
    codes = {item["text"] for item in response.json()["results"]}
    assert any("61.71.06.1001.001" in text for text in codes)
    assert not any("61.72" in text for text in codes)


def test_search_accepts_the_undotted_kpu_code(kalbar, officer_client):
    html = officer_client.get(
        reverse("admin:results_pollingstation_changelist"), {"q": "6171061001002"}
    ).content.decode()
    assert "61.71.06.1001.002" in html and "61.71.06.1001.001" not in html


def test_an_auditor_reads_everything_and_uploads_nothing(kalbar, contest, client, admin_upload):
    auditor = officer_create(username="auditor", region=None, auditor=True)
    client.force_login(auditor)
    assert client.get(reverse("admin:uploads_scan_changelist")).status_code == 200
    stations = client.get(reverse("admin:results_pollingstation_changelist")).content.decode()
    assert "61.71.06.1001.001" in stations and "61.72.01.1001.001" in stations
    assert client.get(reverse("admin:uploads_scan_upload")).status_code == 403
    response = admin_upload(client, contest, kalbar["tps_bansir_laut_1"], ("p1.jpg", images.jpeg()))
    assert response.status_code == 403
    assert Scan.objects.count() == 0


def test_the_officer_command_binds_an_account_to_a_region(kalbar, client):
    from django.core.management import call_command

    call_command(
        "create_officer",
        "petugas-singkawang",
        "--region",
        "6172",
        "--password",
        "Rahasia-singkawang-1",
        stdout=open("/dev/null", "w"),
    )
    assert client.login(username="petugas-singkawang", password="Rahasia-singkawang-1")
    stations = client.get(reverse("admin:results_pollingstation_changelist")).content.decode()
    assert "61.72.01.1001.001" in stations and "61.71.06.1001.001" not in stations
    assert Region.objects.get(officers__user__username="petugas-singkawang").code == "61.72"


def test_the_upload_list_costs_the_same_queries_for_one_upload_or_many(kalbar, contest, officer_client, officer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_list():
        with CaptureQueriesContext(connection) as captured:
            html = officer_client.get(reverse("admin:uploads_uploadbatch_changelist")).content.decode()
        return len(captured), html

    unpacked = UploadBatch.Status.UNPACKED
    UploadBatch.objects.create(contest=contest, uploaded_by=officer, status=unpacked)
    one, _html = queries_for_list()
    for _n in range(3):
        UploadBatch.objects.create(contest=contest, uploaded_by=officer, status=unpacked)
    many, html = queries_for_list()
    assert many == one
    assert html.count("0 ready, 0 rejected, 0 duplicates, 0 waiting, of 0 files") == 4


def test_a_file_that_pillow_chokes_on_ends_rejected_in_the_report_not_in_a_500(
    kalbar, contest, officer_client, django_capture_on_commit_callbacks, admin_upload
):
    """A TIFF without ImageWidth once escaped the checks, and the embedded defaults answered 500."""
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_upload(
            officer_client, contest, kalbar["tps_bansir_laut_1"], ("c1.tif", images.tiff_page_without_width())
        )
    assert response.status_code == 302
    scan = Scan.objects.get()
    assert scan.status == Scan.Status.REJECTED and scan.rejection_code
    html = officer_client.get(response.url).content.decode()
    assert str(scan.rejection_reason) in html


def test_the_report_gives_the_final_outcome_and_hides_another_regions_scan(
    kalbar, contest, officer, officer_client, superuser, django_capture_on_commit_callbacks
):
    same = images.jpeg(color=(12, 200, 30))
    with django_capture_on_commit_callbacks(execute=True):
        batch_receive(contest=contest, files=[uploaded("61.72.01.1001.001-1.jpg", same)], uploaded_by=superuser)
        batch = batch_receive(
            contest=contest,
            files=[uploaded("61.71.06.1001.001-1.jpg", same), uploaded("61.71.06.1001.001-2.jpg", images.TEXT)],
            uploaded_by=officer,
        )
    html = officer_client.get(reverse("admin:uploads_uploadbatch_change", args=[batch.pk])).content.decode()
    theirs = Scan.objects.get(tally__station__code="61.72.01.1001.001")
    assert "The same image was already filed for another TPS." in html
    assert "61.72" not in html and theirs.thumbnail.url not in html
    # The text file was accepted for storage, then rejected by the check: the report says rejected.
    results = re.findall(r'<td class="field-result">\s*<p>([^<]*)</p>', html)
    assert results == ["duplicate", "rejected"]


def test_the_superuser_sees_the_misfiled_pair_flagged(
    kalbar, contest, officer, client, superuser, django_capture_on_commit_callbacks
):
    same = images.jpeg(color=(12, 200, 30))
    with django_capture_on_commit_callbacks(execute=True):
        batch_receive(contest=contest, files=[uploaded("61.72.01.1001.001-1.jpg", same)], uploaded_by=superuser)
        batch_receive(contest=contest, files=[uploaded("61.71.06.1001.001-1.jpg", same)], uploaded_by=officer)
        batch_receive(contest=contest, files=[uploaded("61.71.06.1001.002-1.jpg", images.jpeg())], uploaded_by=officer)
    client.force_login(superuser)
    flagged = client.get(reverse("admin:uploads_scan_changelist"), {"filed_twice": "yes"}).content.decode()
    assert "61.72.01.1001.001" in flagged and "61.71.06.1001.002" not in flagged
    scan = Scan.objects.get(tally__station__code="61.72.01.1001.001")
    page = client.get(reverse("admin:uploads_scan_change", args=[scan.pk])).content.decode()
    assert "TPS 61.71.06.1001.001 · 1 · officer-pontianak" in page


def test_the_report_title_names_its_time_zone(kalbar, contest, officer_client, admin_upload):
    response = admin_upload(officer_client, contest, kalbar["tps_bansir_laut_1"], ("p1.jpg", images.jpeg()))
    html = officer_client.get(response.url).content.decode()
    title = html.split("<title>")[1].split("</title>")[0]
    assert title.startswith("officer-pontianak · ") and " WIB |" in title
    field = html.split('class="form-row field-uploaded_when"')[1].split('<div class="readonly">')[1].split("</div>")[0]
    assert field.endswith(" WIB")


def test_a_duplicate_counts_as_a_duplicate_not_as_ready(
    kalbar, contest, officer_client, django_capture_on_commit_callbacks, admin_upload
):
    same = ("p1.jpg", images.jpeg(color=(1, 99, 1)))
    with django_capture_on_commit_callbacks(execute=True):
        admin_upload(officer_client, contest, kalbar["tps_bansir_laut_1"], same)
        response = admin_upload(officer_client, contest, kalbar["tps_bansir_laut_1"], same)
    html = officer_client.get(response.url).content.decode()
    assert "0 ready, 0 rejected, 1 duplicates, 0 waiting, of 1 files" in html


def test_too_many_files_at_once_get_a_clear_message(kalbar, contest, officer_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    files = [uploaded(f"61.71.06.1001.001-{page}.jpg", images.jpeg()) for page in range(1, 6)]
    response = officer_client.post(reverse("admin:uploads_scan_bulk_upload"), {"contest": contest.pk, "files": files})
    assert response.status_code == 200
    assert (
        "At most 3 files can be sent at once: put them in zip files, or send them in parts."
        in response.content.decode()
    )
    assert UploadBatch.objects.count() == 0


def test_a_reason_is_shown_in_the_language_of_whoever_reads_the_report(
    kalbar, contest, officer, client, django_capture_on_commit_callbacks, admin_upload
):
    """The uploader read English; an Indonesian colleague opening the same report reads Indonesian."""
    client.force_login(officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_upload(client, contest, kalbar["tps_bansir_laut_1"], ("p1.jpg", images.TEXT))
    english = client.get(response.url, headers={"accept-language": "en"}).content.decode()
    indonesian = client.get(response.url, headers={"accept-language": "id"}).content.decode()
    assert "This file is not a JPEG, PNG, WebP or TIFF image, or it is damaged." in english
    assert "bukan gambar JPEG, PNG, WebP, atau TIFF" in indonesian
    assert "This file is not a JPEG" not in indonesian
