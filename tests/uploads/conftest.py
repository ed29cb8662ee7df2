import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from results.models import Region
from results.services import officer_create
from tests.factories import ContestFactory, UserFactory
from uploads.services import batch_receive
from uploads.storage import raw_put


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


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    """Raw uploads go to a private store apart from the public renditions."""
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private", "base_url": None},
        },
    }
    return tmp_path / "private"


def uploaded(name, data):
    """A file as Django hands it to a view after a multipart upload."""
    return SimpleUploadedFile(name, data)


def stored(data):
    """Bytes kept in the private store, as an upload does before a scan is recorded."""
    return raw_put(ContentFile(data))


@pytest.fixture
def receive(contest, officer, django_capture_on_commit_callbacks):
    """Upload as the admin does and run the queued unpacking and ingest at once (eager tasks)."""

    def run(files, user=officer, **options):
        with django_capture_on_commit_callbacks(execute=True):
            batch = batch_receive(
                contest=options.pop("contest", contest),
                files=[uploaded(name, data) for name, data in files],
                uploaded_by=user,
                **options,
            )
        batch.refresh_from_db()
        return batch

    return run
