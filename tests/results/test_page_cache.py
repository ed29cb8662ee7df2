"""Pages cached under their region's data version: a publish moves exactly the pages above its TPS."""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from results.models import PollingStation, Region, RegionResult, Tally
from results.pages import REFRESH_SECONDS, page_key, pages_refresh
from results.services import tally_enter
from tests.factories import PollingStationFactory, UserFactory
from tests.results.conftest import c1

REGIONS = ["61", "61.71", "61.71.06", "61.71.06.1001", "61.71.06.1002", "61.72", "61.72.01", "61.72.01.1001"]


@pytest.fixture
def counted(kalbar, governor, officers):
    first, second, _third = officers
    form = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"])
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=first)
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=second)
    cache.clear()
    return governor


def page(contest, code):
    return f"/pilkada-2018/{contest.slug}/" + ("" if code == "61" else f"{code}/")


def versions(contest):
    return dict(RegionResult.objects.filter(contest=contest).values_list("region_code", "version"))


def test_a_publish_moves_the_pages_above_its_tps_and_no_other(
    client, counted, django_assert_num_queries, django_capture_on_commit_callbacks
):
    for code in REGIONS:
        assert client.get(page(counted, code)).status_code == 200
    before = versions(counted)
    for code in REGIONS:
        assert cache.get(page_key("page", counted.pk, code, before.get(code, 0), "id")) is not None

    form = Tally.objects.create(contest=counted, station=PollingStation.objects.get(code="61.72.01.1001.001"))
    first, second = UserFactory(is_superuser=True), UserFactory(is_superuser=True)
    tally_enter(tally=form, numbers=c1([5, 6, 7]), entered_by=first)
    assert versions(counted) == before  # a first entry publishes nothing
    with django_capture_on_commit_callbacks(execute=True):
        tally_enter(tally=form, numbers=c1([5, 6, 7]), entered_by=second)

    after = versions(counted)
    moved = {code for code in REGIONS if after.get(code, 0) != before.get(code, 0)}
    assert moved == {"61", "61.72", "61.72.01", "61.72.01.1001"}
    for code in REGIONS:
        # The old entries stay; pages below other regions are still answered from them, in one query.
        assert cache.get(page_key("page", counted.pk, code, before.get(code, 0), "id")) is not None
        if code not in moved and code in before:  # a region with no TPS has no totals row: one query more
            with django_assert_num_queries(1):
                assert client.get(page(counted, code)).status_code == 200
    # The contest area and the city were rendered again by the worker right after the publish, in
    # both languages; the district and the village wait for their first visitor.
    for code, language in [("61", "id"), ("61", "en"), ("61.72", "id"), ("61.72", "en")]:
        assert cache.get(page_key("page", counted.pk, code, after.get(code, 0), language)) is not None
        with django_assert_num_queries(1):
            assert client.get(("/en" if language == "en" else "") + page(counted, code)).status_code == 200
    for code in ("61.72.01", "61.72.01.1001"):
        assert cache.get(page_key("page", counted.pk, code, after.get(code, 0), "id")) is None
        assert b"7" in client.get(page(counted, code)).content


def test_a_failed_render_is_never_cached(client, counted):
    assert client.get(f"/pilkada-2018/{counted.slug}/61.79/").status_code == 404
    assert cache.get(page_key("page", counted.pk, "61.79", 0, "id")) is None


def test_pages_still_render_when_the_cache_is_down(client, counted, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    response = client.get(page(counted, "61.71"))
    assert response.status_code == 200
    assert "Kota Pontianak" in response.content.decode()


def publish(contest, station_code, votes, *, queue_refresh, capture):
    """A second, equal entry by another user publishes the form; `queue_refresh`: run what waits for the commit."""
    form = Tally.objects.create(contest=contest, station=PollingStation.objects.get(code=station_code))
    first, second = UserFactory(is_superuser=True), UserFactory(is_superuser=True)
    tally_enter(tally=form, numbers=c1(votes), entered_by=first)
    with capture(execute=queue_refresh):
        tally_enter(tally=form, numbers=c1(votes), entered_by=second)


def cached(contest, code, language="id"):
    return cache.get(page_key("page", contest.pk, code, versions(contest).get(code, 0), language)) is not None


def test_a_refresh_renders_the_hot_pages_that_moved_and_no_page_twice(counted, django_capture_on_commit_callbacks):
    # The contest's first publish built the totals of every region: Kalbar and its two cities, in two languages.
    assert pages_refresh(counted) == 6
    assert pages_refresh(counted) == 0
    publish(counted, "61.72.01.1001.001", [5, 6, 7], queue_refresh=False, capture=django_capture_on_commit_callbacks)
    assert pages_refresh(counted) == 4  # Kalbar again and Kota Singkawang; Kota Pontianak did not move
    assert cached(counted, "61.72", "en") and not cached(counted, "61.72.01")  # a district is not a hot page


def test_a_page_that_moved_over_a_minute_ago_waits_for_its_visitor(counted):
    RegionResult.objects.filter(contest=counted).update(changed_at=timezone.now() - timedelta(minutes=2))
    assert pages_refresh(counted) == 0


def test_the_publishes_of_one_second_share_one_refresh(counted, django_capture_on_commit_callbacks):
    # Here tasks run as soon as they are queued (eager), without waiting for the second to end.
    publish(counted, "61.72.01.1001.001", [5, 6, 7], queue_refresh=True, capture=django_capture_on_commit_callbacks)
    assert cached(counted, "61.72") and cached(counted, "61", "en")
    publish(counted, "61.71.06.1001.002", [8, 9, 10], queue_refresh=True, capture=django_capture_on_commit_callbacks)
    assert not cached(counted, "61.71")  # within the same second: no second message
    time.sleep(REFRESH_SECONDS + 0.1)
    PollingStationFactory(village=Region.objects.get(code="61.71.06.1002"), number=1)
    publish(counted, "61.71.06.1002.001", [1, 2, 3], queue_refresh=True, capture=django_capture_on_commit_callbacks)
    assert cached(counted, "61.71") and cached(counted, "61.71", "en")


def test_a_process_answers_a_hot_page_from_memory_for_a_second_then_asks_again(
    client, counted, settings, django_assert_num_queries
):
    settings.PAGE_VERSION_MEMO_SECONDS = 1
    page_url = page(counted, "61.71")
    first = client.get(page_url).content
    with django_assert_num_queries(0):
        assert client.get(page_url).content == first
    time.sleep(1.1)
    with django_assert_num_queries(1):
        assert client.get(page_url).content == first


def test_a_publish_with_the_cache_down_is_published_and_says_why_no_page_was_rendered_ahead(
    counted, settings, caplog, django_capture_on_commit_callbacks
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    publish(counted, "61.72.01.1001.001", [5, 6, 7], queue_refresh=True, capture=django_capture_on_commit_callbacks)
    form = Tally.objects.get(contest=counted, station__code="61.72.01.1001.001")
    assert form.state == Tally.State.PUBLISHED
    assert "page cache unreachable: no page rendered ahead" in caplog.text
