import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from results.models import Region
from results.services import officer_create
from tests.factories import ContestFactory, UserFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def contest(kalbar):
    return ContestFactory(region=kalbar["province"])


@pytest.fixture
def officer(kalbar):
    """An officer of Kota Pontianak (61.71): Bansir Laut is theirs, Pasiran (Singkawang) is not."""
    return officer_create(
        username="officer-pontianak", region=Region.objects.get(code="61.71"), password="pw-for-tests-1"
    )


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def admin_upload():
    """Posts the admin's upload form for the pages of one C1 form, as a browser would."""

    def post(client, contest, station, *files, first_page=1):
        return client.post(
            reverse("admin:uploads_scan_upload"),
            {
                "contest": contest.pk,
                "station": station.pk,
                "first_page": first_page,
                "files": [SimpleUploadedFile(name, data) for name, data in files],
            },
        )

    return post
