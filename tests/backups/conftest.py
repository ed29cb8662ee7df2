import pytest

# Backups are of what the results tests publish: the same contest and officers.
from tests.results.conftest import governor, officers  # noqa: F401


@pytest.fixture(autouse=True)
def stores(settings, tmp_path):
    """Scans, raw uploads and backups in this test's own directories."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private", "base_url": None},
        },
    }
    settings.BACKUP_DIR = tmp_path / "backups"
    return tmp_path
