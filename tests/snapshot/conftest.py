import pytest

from results.models import PollingStation, Tally
from results.services import tally_enter
from tests.factories import UserFactory

# The snapshot renders what the results tests publish: the same contest and officers.
from tests.results.conftest import c1, governor, officers  # noqa: F401


@pytest.fixture(autouse=True)
def snapshot_root(settings, tmp_path):
    settings.SNAPSHOT_ROOT = tmp_path / "snapshot"
    settings.SNAPSHOT_KEY_FILE = tmp_path / "snapshot.pem"
    return settings.SNAPSHOT_ROOT


@pytest.fixture
def counted(kalbar, governor, officers):  # noqa: F811
    """One TPS of the governor's race published (entered twice)."""
    first, second, _third = officers
    form = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"])
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=first)
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=second)
    return governor


def publish(contest, code, votes):
    """Publish a reading of another TPS, entered twice by two superusers."""
    form = Tally.objects.create(contest=contest, station=PollingStation.objects.get(code=code))
    for _entry in range(2):
        tally_enter(tally=form, numbers=c1(votes), entered_by=UserFactory(is_superuser=True))
