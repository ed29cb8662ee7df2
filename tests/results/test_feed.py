"""The Atom feed of published readings, per contest and per region."""

import xml.etree.ElementTree as ElementTree

import pytest
from django.urls import reverse

from results.models import Tally
from results.services import officer_create, tally_correct, tally_enter
from tests.results.conftest import c1

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def clerks(kalbar):
    return [officer_create(username=f"kpu-kalbar-{n}", region=kalbar["province"]) for n in (1, 2, 3)]


@pytest.fixture
def readings(kalbar, governor, clerks):
    """Bansir Laut 1 published, then Pasiran 1, then Bansir Laut 1 corrected; Bansir Laut 2 only entered once."""
    first = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"])
    tally_enter(tally=first, numbers=c1([40, 70, 884]), entered_by=clerks[0])
    verified = tally_enter(tally=first, numbers=c1([40, 70, 884]), entered_by=clerks[1])
    pasiran = Tally.objects.create(contest=governor, station=kalbar["tps_pasiran_1"])
    tally_enter(tally=pasiran, numbers=c1([5, 6, 7]), entered_by=clerks[0])
    pasiran_verified = tally_enter(tally=pasiran, numbers=c1([5, 6, 7]), entered_by=clerks[1])
    correction = tally_correct(
        tally=first, numbers=c1([40, 70, 84]), entered_by=clerks[2], reason="84 <not> 884", plenary=True
    )
    waiting = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_2"])
    unpublished = tally_enter(tally=waiting, numbers=c1([1, 2, 3]), entered_by=clerks[0])
    return {"verified": verified, "pasiran": pasiran_verified, "correction": correction, "unpublished": unpublished}


def feed_url(contest, code=None):
    kwargs = {"election": contest.election.slug, "contest": contest.slug}
    return reverse("results:feed", kwargs={**kwargs, "code": code} if code else kwargs)


def entries(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    return feed, feed.findall(f"{ATOM}entry")


def test_the_feed_lists_published_readings_newest_first(client, governor, readings):
    feed, found = entries(client, feed_url(governor))
    assert feed.findtext(f"{ATOM}title") == "Gubernur Kalimantan Barat 2018: published C1 readings"
    assert [entry.findtext(f"{ATOM}title") for entry in found] == [
        "TPS 61.71.06.1001.001 · revision 3 · correction at the district plenary",
        "TPS 61.72.01.1001.001 · revision 2 · second officer's entry",
        "TPS 61.71.06.1001.001 · revision 2 · second officer's entry",
    ]
    ids = [entry.findtext(f"{ATOM}id") for entry in found]
    assert ids == [f"urn:sha256:{readings[name].digest}" for name in ("correction", "pasiran", "verified")]


def test_an_entry_links_to_its_tps_and_shows_the_numbers_and_the_reason(client, governor, readings):
    _feed, found = entries(client, feed_url(governor))
    newest = found[0]
    link = newest.find(f"{ATOM}link").get("href")
    assert link == f"http://testserver/en/pilkada-2018/{governor.slug}/61.71.06.1001.001/"
    assert client.get(link).status_code == 200
    summary = newest.findtext(f"{ATOM}summary")
    assert "<li>3. Sutarmidji: 84</li>" in summary and "<li>1. Milton Crosby: 40</li>" in summary
    assert "Valid votes: 194 · invalid: 2 · total: 196" in summary
    assert "Reason: 84 &lt;not&gt; 884" in summary  # the reason is text, never markup
    assert readings["correction"].digest in summary
    assert newest.findtext(f"{ATOM}published").startswith(readings["correction"].created_at.strftime("%Y-%m-%dT"))


def test_an_entry_waiting_for_its_second_officer_never_appears(client, governor, readings):
    _feed, found = entries(client, feed_url(governor))
    assert readings["unpublished"].digest
    assert all("61.71.06.1001.002" not in entry.findtext(f"{ATOM}title") for entry in found)
    assert all(readings["unpublished"].digest not in entry.findtext(f"{ATOM}id") for entry in found)


def test_a_region_feed_leaves_out_the_tps_of_other_regions(client, governor, readings):
    feed, found = entries(client, feed_url(governor, "61.71"))
    assert feed.findtext(f"{ATOM}title") == "Gubernur Kalimantan Barat 2018 · Kota Pontianak: published C1 readings"
    assert [entry.findtext(f"{ATOM}id") for entry in found] == [
        f"urn:sha256:{readings['correction'].digest}",
        f"urn:sha256:{readings['verified'].digest}",
    ]
    _feed, singkawang = entries(client, feed_url(governor, "6172"))  # KPU's undotted spelling
    assert [entry.findtext(f"{ATOM}id") for entry in singkawang] == [f"urn:sha256:{readings['pasiran'].digest}"]
    _feed, one_tps = entries(client, feed_url(governor, "61.71.06.1001.001"))
    assert len(one_tps) == 2


def test_a_region_outside_the_contest_or_an_unknown_one_is_not_found(client, governor, kalbar):
    assert client.get(feed_url(governor, "62.01")).status_code == 404
    assert client.get(feed_url(governor, "61.79")).status_code == 404
    assert client.get(feed_url(governor, "61.7.1")).status_code == 404
    assert (
        client.get(reverse("results:feed", kwargs={"election": "pilkada-2018", "contest": "nope"})).status_code == 404
    )


def test_the_feed_is_in_indonesian_at_the_unprefixed_address(client, governor, readings):
    url = feed_url(governor).removeprefix("/en")
    _feed, found = entries(client, url)
    assert found[1].findtext(f"{ATOM}title").startswith("TPS 61.72.01.1001.001 · revisi 2 · ")
    assert "/en/" not in found[1].find(f"{ATOM}link").get("href")


def test_the_feed_may_be_cached_for_a_minute(client, governor, readings):
    response = client.get(feed_url(governor))
    assert "public" in response["Cache-Control"] and "max-age=60" in response["Cache-Control"]
