import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from results.services import officer_create
from tests.factories import CandidateFactory, ContestFactory, TallyRevisionFactory, UserFactory
from tests.uploads import images
from uploads.models import Scan, UploadBatch

# What a superuser gets from each admin: the add page's status, and whether a row
# opens as a form ("Change") or read-only ("View": rows that are evidence).
# Registering a new admin fails test_every_admin_is_checked until it is listed here.
PAGES = {
    "auth.Group": (200, "Change"),
    "auth.User": (200, "Change"),
    "results.Region": (200, "Change"),
    "results.PollingStation": (200, "Change"),
    "results.Election": (200, "Change"),
    "results.Contest": (200, "Change"),
    "results.Candidate": (200, "Change"),
    "results.Tally": (200, "Change"),
    # Readings are written only by the tally services, never through this page.
    "results.TallyRevision": (403, "View"),
    "results.Officer": (200, "Change"),
    # Scans are added through the upload pages; uploads only by uploading.
    "uploads.Scan": (302, "View"),
    "uploads.UploadBatch": (403, "View"),
}


@pytest.fixture
def root_client(client, db):
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


@pytest.fixture
def rows(root_client, kalbar, settings, tmp_path, django_capture_on_commit_callbacks):
    """One row of every model the admin shows, keyed by model label."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    officer = officer_create(username="officer-pontianak", region=kalbar["pontianak"], password="pw-for-tests-1")
    contest = ContestFactory(region=kalbar["province"])
    revision = TallyRevisionFactory(tally__station=kalbar["tps_bansir_laut_1"], tally__contest=contest)
    # The upload and its scan come the way they do for an officer: through the upload page.
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = root_client.post(
            reverse("admin:uploads_scan_upload"),
            {
                "contest": contest.pk,
                "station": kalbar["tps_bansir_laut_1"].pk,
                "first_page": 1,
                "files": [SimpleUploadedFile("c1.jpg", images.jpeg())],
            },
        )
    assert uploaded.status_code == 302
    return {
        "auth.Group": Group.objects.get(name="Officers"),
        "auth.User": officer,
        "results.Region": kalbar["tenggara"],
        "results.PollingStation": kalbar["tps_bansir_laut_1"],
        "results.Election": contest.election,
        "results.Contest": contest,
        "results.Candidate": CandidateFactory(contest=contest, ballot_number=3, name="Sutarmidji", running_mate="Ria"),
        "results.Tally": revision.tally,
        "results.TallyRevision": revision,
        "results.Officer": officer.officer,
        "uploads.Scan": Scan.objects.get(),
        "uploads.UploadBatch": UploadBatch.objects.get(),
    }


def test_every_admin_is_checked():
    assert sorted(model._meta.label for model in admin.site._registry) == sorted(PAGES)


@pytest.mark.parametrize("label", PAGES)
def test_the_list_links_to_the_row(root_client, rows, label):
    row = rows[label]
    opts = row._meta
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
    response = root_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
    assert f'href="{change_url}"' in response.content.decode()


@pytest.mark.parametrize("label", PAGES)
def test_the_row_opens_as_a_form_or_read_only(root_client, rows, label):
    row = rows[label]
    opts = row._meta
    response = root_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"<h1>{PAGES[label][1]} {opts.verbose_name}</h1>" in html
    assert f"<h2>{escape(row)}</h2>" in html


@pytest.mark.parametrize("label", PAGES)
def test_the_add_page_opens_redirects_or_is_refused(root_client, label):
    opts = apps.get_model(label)._meta
    response = root_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    status = PAGES[label][0]
    assert response.status_code == status
    if status == 200:
        assert f"<h1>Add {opts.verbose_name}</h1>" in response.content.decode()
    if status == 302:
        assert response["Location"] == reverse("admin:uploads_scan_upload")


def test_region_search_by_undotted_code_finds_the_subtree(root_client, kalbar):
    html = root_client.get(reverse("admin:results_region_changelist"), {"q": "617106"}).content.decode()
    assert "61.71.06.1001" in html and "61.72.01.1001" not in html


def test_a_reading_shows_its_arithmetic_checks(root_client, kalbar):
    revision = TallyRevisionFactory(tally__station=kalbar["tps_bansir_laut_1"])
    url = reverse("admin:results_tallyrevision_change", args=[revision.pk])
    # No candidate rows were entered: 0 candidate votes against 190 valid.
    indonesian = root_client.get(url, headers={"accept-language": "id"}).content.decode()
    assert "Jumlah suara pasangan calon 0, tetapi suara sah 190." in indonesian
    english = root_client.get(url).content.decode()
    assert "Candidate votes add up to 0, but valid votes are 190." in english


def test_an_admin_search_holding_a_nul_character_is_not_a_server_error(root_client, kalbar):
    for model, model_admin in admin.site._registry.items():
        if model_admin.search_fields:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            for query in ("bansir\x00", "61\x0071"):
                assert root_client.get(url, {"q": query}).status_code == 200, (url, query)
