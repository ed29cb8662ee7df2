"""The public pages: from the contest down to one TPS, numbers equal to the totals, in Indonesian or English."""

import re
from decimal import Decimal

import pytest

from results.models import CandidateResult, RegionResult, Tally
from results.services import tally_correct, tally_enter
from tests.results.conftest import c1

CONTEST_URL = "/pilkada-2018/{slug}/"


@pytest.fixture
def counted(kalbar, governor, officers):
    """Two TPS of Bansir Laut published (entered twice), one awaiting its second entry."""
    first, second, _third = officers
    forms = {}
    for station, votes in (("tps_bansir_laut_1", [40, 70, 80]), ("tps_bansir_laut_2", [10, 20, 30])):
        forms[station] = Tally.objects.create(contest=governor, station=kalbar[station])
        tally_enter(tally=forms[station], numbers=c1(votes), entered_by=first)
        tally_enter(tally=forms[station], numbers=c1(votes), entered_by=second)
    waiting = Tally.objects.create(contest=governor, station=kalbar["tps_pasiran_1"])
    # Pasiran is outside Kota Pontianak: a superuser enters it, once.
    tally_enter(
        tally=waiting, numbers=c1([99, 99, 99]), entered_by=officers[0].__class__.objects.create_superuser("su")
    )
    return governor


def url(contest, code=""):
    base = CONTEST_URL.format(slug=contest.slug)
    return f"{base}{code}/" if code else base


def numbers_in(html):
    """The votes cells of the pairs' table, in ballot order, as integers (Indonesian grouping)."""
    table = html.split('class="shares"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<td class="n">([^<]*)</td><td class="n">([^<]*)</td>', table)
    return [(int(votes.replace(".", "")), Decimal(share.replace(",", "."))) for votes, share in cells]


def test_the_site_root_lists_the_contest_with_its_progress(client, counted):
    page = client.get("/").content.decode()
    assert counted.name in page
    assert url(counted) in page
    assert "2 dari 3 TPS" in page


@pytest.mark.parametrize("code", ["", "61.71", "61.71.06", "61.71.06.1001"])
def test_each_level_shows_the_totals_kept_for_it(client, counted, code):
    response = client.get(url(counted, code))
    assert response.status_code == 200
    html = response.content.decode()
    region_code = code or "61"
    expected = dict(
        CandidateResult.objects.filter(contest=counted, region_code=region_code).values_list(
            "candidate__ballot_number", "votes"
        )
    )
    shown = numbers_in(html)
    assert [votes for votes, _share in shown] == [expected[n] for n in (1, 2, 3)]
    assert sum(share for _votes, share in shown) == Decimal("100.00")
    valid = RegionResult.objects.get(contest=counted, region_code=region_code).valid_votes
    assert f"{valid:,}".replace(",", ".") in html


def test_a_reading_awaiting_its_second_entry_shows_no_number(client, counted):
    village = client.get(url(counted, "61.72.01.1001")).content.decode()
    row = village.split('class="children"', 1)[1].split("</tr>", 2)[1]
    assert ">99<" not in row and "–" in row
    station = client.get("/en" + url(counted, "61.72.01.1001.001")).content.decode()
    assert "waiting for the second" in station
    assert 'class="shares"' not in station


def test_the_tps_page_shows_the_scan_numbers_history_and_digests(client, counted, officers):
    form = Tally.objects.get(contest=counted, station__code="61.71.06.1001.001")
    changed = c1([41, 70, 80])
    tally_correct(tally=form, numbers=changed, entered_by=officers[2], reason="Salah baca angka 41")
    html = client.get(url(counted, "61.71.06.1001.001")).content.decode()
    assert numbers_in(html)[0][0] == 41
    assert "Salah baca angka 41" in html
    assert "40 → 41" in html
    for revision in form.revisions.filter(published=True):
        assert revision.digest in html
    assert "/cek-digest/" in html


def test_english_is_one_click_away_and_numbers_follow_the_language(client, counted):
    indonesian = client.get(url(counted, "61.71")).content.decode()
    assert 'lang="id"' in indonesian
    assert 'href="/en/pilkada-2018/' in indonesian
    english = client.get("/en" + url(counted, "61.71")).content.decode()
    assert 'lang="en"' in english
    assert "TPS reported" in english
    # Pontianak: 110 of 250 valid votes for pair 3.
    assert "44,00" in indonesian and "44.00" in english
    assert "250" in english


def test_undotted_codes_and_the_area_by_code_redirect_to_the_permalink(client, counted):
    assert client.get(url(counted, "6171")).headers["Location"] == url(counted, "61.71")
    assert client.get(url(counted, "6171061001001")).headers["Location"] == url(counted, "61.71.06.1001.001")
    assert client.get(url(counted, "61")).headers["Location"] == url(counted)


@pytest.mark.parametrize("code", ["62", "61.73", "12345", "61.71.06.1001.999"])
def test_a_region_or_tps_outside_the_contest_is_not_found(client, counted, code):
    assert client.get(url(counted, code)).status_code == 404


def test_search_finds_regions_by_name_and_either_code_and_tps_by_code(client, counted):
    for query in ("bansir", "61.71.06.1001", "6171061001"):
        html = client.get("/cari/", {"q": query}).content.decode()
        assert url(counted, "61.71.06.1001") in html, query
    html = client.get("/cari/", {"q": "6171061001002"}).content.decode()
    assert url(counted, "61.71.06.1001.002") in html
    assert "Tidak ada" in client.get("/cari/", {"q": "Atlantis"}).content.decode()


def test_a_search_holding_a_nul_character_is_answered_not_refused(client, counted):
    # PostgreSQL refuses NUL in a query string; a hostile search must not become a 500.
    html = client.get("/cari/", {"q": "bansir\x00"}).content.decode()
    assert url(counted, "61.71.06.1001") in html
    assert client.get("/cari/", {"q": "\x00"}).status_code == 200
    hits = client.get("/api/v1/search.json", {"q": "ban\x00sir"}).json()
    assert "61.71.06.1001" in [hit["code"] for hit in hits]


def test_a_page_is_answered_304_when_the_client_has_it(client, counted):
    first = client.get(url(counted, "61.71"))
    assert first.headers["ETag"]
    assert "public" in first.headers["Cache-Control"] and "stale-if-error" in first.headers["Cache-Control"]
    again = client.get(url(counted, "61.71"), headers={"if-none-match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    since = client.get(url(counted, "61.71"), headers={"if-modified-since": first.headers["Last-Modified"]})
    assert since.status_code == 304


def test_the_widget_may_be_framed_by_other_sites(client, counted):
    response = client.get(url(counted, "61.71") + "widget/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert "Kota Pontianak" in response.content.decode()


def test_an_address_without_a_page_gets_the_sites_own_not_found_page(client, counted):
    indonesian = client.get("/pilkada-2018/tidak-ada/")
    assert indonesian.status_code == 404
    assert "<h1>Halaman tidak ditemukan</h1>" in indonesian.content.decode()
    english = client.get("/en/pilkada-2018/nothing-here/")
    assert english.status_code == 404 and "<h1>Page not found</h1>" in english.content.decode()
    assert 'href="/en/"' in english.content.decode()  # a way back, in the reader's language
