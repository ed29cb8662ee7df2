"""The hot pages rendered ahead by a real Celery worker, one message for the publishes of a second."""

import pytest
from django.conf import settings
from django.core.cache import cache

from results.models import PollingStation, RegionResult, Tally
from results.pages import page_key
from results.services import tally_enter
from tests.factories import UserFactory
from tests.results.conftest import c1
from tests.servers import collectstatic
from tests.uploads.conftest import media_root, private_root  # noqa: F401 (the workers fixture needs them)
from tests.uploads.test_worker import broker, wait_for, workers  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_publishes_of_one_second_are_rendered_ahead_by_one_task(kalbar, governor, workers, tmp_path):  # noqa: F811
    if "Redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.fail("this test reads the worker's pages from the shared Redis cache: set REDIS_URL")
    collectstatic(tmp_path)  # the worker's KPU_DATA_DIR
    worker = workers()
    first, second = UserFactory(is_superuser=True), UserFactory(is_superuser=True)
    for code, votes in (("61.71.06.1001.001", [40, 70, 80]), ("61.72.01.1001.001", [5, 6, 7])):
        form = Tally.objects.create(contest=governor, station=PollingStation.objects.get(code=code))
        tally_enter(tally=form, numbers=c1(votes), entered_by=first)
        tally_enter(tally=form, numbers=c1(votes), entered_by=second)  # queues the refresh once committed

    versions = dict(RegionResult.objects.filter(contest=governor).values_list("region_code", "version"))
    keys = [
        page_key("page", governor.pk, code, versions[code], language)
        for code in ("61", "61.71", "61.72")
        for language in ("id", "en")
    ]
    wait_for(lambda: len(cache.get_many(keys)) == len(keys), "the worker to render the hot pages", timeout=30)
    assert "Kota Singkawang" in cache.get(keys[-1]).decode()
    wait_for(lambda: "refresh_pages" in worker.log.read_text(), "the worker's log line")
    # One message for both publishes, sent by the first and run a second later: the second rode along.
    received = [line for line in worker.log.read_text().splitlines() if "refresh_pages" in line and "received" in line]
    assert len(received) == 1, worker.log.read_text()
