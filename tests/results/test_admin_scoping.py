"""An officer who opens another region's row by its admin URL is refused, told why, and logged."""

import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from results.models import Region
from results.services import officer_create
from tests.factories import ContestFactory, TallyRevisionFactory, UserFactory
from tests.uploads import images
from uploads.models import Scan


@pytest.fixture
def officer(kalbar):
    """An officer of Kota Pontianak (61.71): Bansir Laut is theirs, Pasiran (Kota Singkawang) is not."""
    return officer_create(username="officer-pontianak", region=kalbar["pontianak"], password="pw-for-tests-1")


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


@pytest.fixture
def readings(kalbar):
    """A C1 reading in each city: Bansir Laut (Pontianak) and Pasiran (Singkawang)."""
    contest = ContestFactory(region=kalbar["province"])
    return {
        place: TallyRevisionFactory(tally__station=kalbar[f"tps_{place}_1"], tally__contest=contest)
        for place in ("bansir_laut", "pasiran")
    }


@pytest.fixture
def scans(kalbar, readings, settings, tmp_path, django_capture_on_commit_callbacks):
    """A scan of each reading's form, uploaded by a superuser through the upload page."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True))
    for shade, (place, reading) in enumerate(readings.items()):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("admin:uploads_scan_upload"),
                {
                    "contest": reading.tally.contest.pk,
                    "station": reading.tally.station.pk,
                    "first_page": 1,
                    "files": [SimpleUploadedFile(f"{place}.jpg", images.jpeg(color=(shade, shade, shade)))],
                },
            )
        assert response.status_code == 302
    return {place: Scan.objects.get(original_name=f"{place}.jpg") for place in readings}


def own_and_other(kind, kalbar, readings, scans):
    """The officer's row and the other region's row of one admin, with the other one's region code."""
    if kind == "region":
        return kalbar["bansir_laut"], kalbar["pasiran"], "61.72.01.1001"
    if kind == "pollingstation":
        return kalbar["tps_bansir_laut_1"], kalbar["tps_pasiran_1"], "61.72.01.1001.001"
    if kind == "tally":
        return readings["bansir_laut"].tally, readings["pasiran"].tally, "61.72.01.1001.001"
    if kind == "tallyrevision":
        return readings["bansir_laut"], readings["pasiran"], "61.72.01.1001.001"
    return scans["bansir_laut"], scans["pasiran"], "61.72.01.1001.001"


ADMINS = [
    ("results", "region", "This region is outside your region."),
    ("results", "pollingstation", "This polling station (TPS) is outside your region."),
    ("results", "tally", "This C1 form is outside your region."),
    ("results", "tallyrevision", "This C1 reading is outside your region."),
    ("uploads", "scan", "This C1 scan is outside your region."),
]


@pytest.mark.parametrize(("app", "kind", "message"), ADMINS, ids=[kind for _app, kind, _message in ADMINS])
def test_another_regions_row_is_refused_with_a_reason_and_logged(
    officer_client, kalbar, readings, scans, caplog, app, kind, message
):
    own, other, other_code = own_and_other(kind, kalbar, readings, scans)
    assert officer_client.get(reverse(f"admin:{app}_{kind}_change", args=[own.pk])).status_code == 200

    with caplog.at_level(logging.WARNING, logger="kpuportal.security"):
        response = officer_client.get(reverse(f"admin:{app}_{kind}_change", args=[other.pk]))

    assert response.status_code == 403
    html = response.content.decode()
    assert f"<h1>{message}</h1>" in html
    assert str(other) not in html  # nothing of the other region's row is shown
    [record] = [record for record in caplog.records if record.name == "kpuportal.security"]
    assert record.levelname == "WARNING"
    assert record.getMessage() == (
        f"refused: user officer-pontianak opened {other._meta.label} {other.pk} ({other}) "
        f"of region {other_code} outside their region"
    )


def test_the_reason_comes_in_indonesian_by_default(officer_client, kalbar):
    url = reverse("admin:results_region_change", args=[kalbar["singkawang"].pk])
    response = officer_client.get(url, headers={"accept-language": "id"})
    assert response.status_code == 403
    assert "<h1>Wilayah ini berada di luar wilayah Anda.</h1>" in response.content.decode()


@pytest.mark.parametrize("view", ["history", "delete"])
def test_history_and_delete_pages_are_refused_the_same_way(officer_client, kalbar, caplog, view):
    with caplog.at_level(logging.WARNING, logger="kpuportal.security"):
        response = officer_client.get(reverse(f"admin:results_region_{view}", args=[kalbar["singkawang"].pk]))
    assert response.status_code == 403
    assert "<h1>This region is outside your region.</h1>" in response.content.decode()
    assert len([record for record in caplog.records if record.name == "kpuportal.security"]) == 1


@pytest.mark.parametrize("object_id", ["999999", "not-a-number"])
def test_a_row_that_does_not_exist_keeps_djangos_message_and_is_not_logged(officer_client, kalbar, caplog, object_id):
    assert not Region.objects.filter(pk=999999).exists()
    with caplog.at_level(logging.WARNING, logger="kpuportal.security"):
        response = officer_client.get(reverse("admin:results_region_change", args=[object_id]), follow=True)
    assert response.redirect_chain == [(reverse("admin:index"), 302)]
    assert response.status_code == 200
    assert f"Region with ID “{object_id}” doesn’t exist. Perhaps it was deleted?" in response.content.decode()
    assert [record for record in caplog.records if record.name == "kpuportal.security"] == []


def test_a_superuser_opens_every_region(client, kalbar):
    client.force_login(UserFactory(username="root", is_superuser=True))
    response = client.get(reverse("admin:results_region_change", args=[kalbar["singkawang"].pk]))
    assert response.status_code == 200
