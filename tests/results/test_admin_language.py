"""The admin reads Indonesian by default and English when the browser asks: headers and numbers included."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import ContestFactory, UserFactory

INDONESIAN = {"accept-language": "id"}


@pytest.fixture
def root_client(client, db):
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


def column_header(html, column):
    return re.search(rf'<th scope="col" class="column-{column}">.*?<span>(.*?)</span>', html, re.S).group(1)


def test_the_region_list_names_its_kind_column_in_the_readers_language(root_client, kalbar):
    url = reverse("admin:results_region_changelist")
    indonesian = root_client.get(url, headers=INDONESIAN).content.decode()
    assert column_header(indonesian, "kind") == "Jenis"
    assert '<td class="field-kind">kota</td>' in indonesian
    english = root_client.get(url).content.decode()
    assert column_header(english, "kind") == "Kind"
    assert '<td class="field-kind">city</td>' in english


@pytest.fixture
def contest(kalbar):
    return ContestFactory(region=kalbar["province"], reserve_share=Decimal("2.5"))


def test_the_reserve_share_reads_the_same_in_the_list_and_the_form(root_client, contest):
    listing = reverse("admin:results_contest_changelist")
    form = reverse("admin:results_contest_change", args=[contest.pk])
    field = '<input type="text" name="reserve_share" value="{}"'

    assert '<td class="field-reserve_share">2,50</td>' in root_client.get(listing, headers=INDONESIAN).content.decode()
    assert field.format("2,50") in root_client.get(form, headers=INDONESIAN).content.decode()
    assert '<td class="field-reserve_share">2.50</td>' in root_client.get(listing).content.decode()
    assert field.format("2.50") in root_client.get(form).content.decode()


def test_the_form_takes_the_reserve_share_as_it_shows_it(root_client, contest):
    response = root_client.post(
        reverse("admin:results_contest_change", args=[contest.pk]),
        {
            "election": contest.election.pk,
            "name": contest.name,
            "slug": contest.slug,
            "office": contest.office,
            "scope": contest.scope,
            "region": contest.region.pk,
            "reserve_share": "2,75",
            "candidates-TOTAL_FORMS": 0,
            "candidates-INITIAL_FORMS": 0,
        },
        headers=INDONESIAN,
    )
    assert response.status_code == 302
    contest.refresh_from_db()
    assert contest.reserve_share == Decimal("2.75")
