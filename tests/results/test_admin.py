import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import ContestFactory, TallyRevisionFactory, UserFactory


@pytest.fixture
def admin_client_with_data(client, kalbar):
    ContestFactory(region=kalbar["province"])
    TallyRevisionFactory(tally__station=kalbar["tps_bansir_laut_1"])
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


@pytest.mark.parametrize("model", [model for model in admin.site._registry], ids=lambda model: model._meta.label)
def test_every_admin_list_and_form_opens(admin_client_with_data, model):
    opts = model._meta
    listing = admin_client_with_data.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert listing.status_code == 200
    add = admin_client_with_data.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    assert add.status_code in (200, 302, 403)
    first = model.objects.first()
    if first is not None:
        change = admin_client_with_data.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
        )
        assert change.status_code == 200


def test_region_search_by_undotted_code_finds_the_subtree(admin_client_with_data):
    html = admin_client_with_data.get(reverse("admin:results_region_changelist"), {"q": "617106"}).content.decode()
    assert "61.71.06.1001" in html and "61.72.01.1001" not in html


def test_a_reading_shows_its_arithmetic_checks(admin_client_with_data):
    from results.models import TallyRevision

    url = reverse("admin:results_tallyrevision_change", args=[TallyRevision.objects.get().pk])
    # No candidate rows were entered: 0 candidate votes against 190 valid.
    indonesian = admin_client_with_data.get(url, headers={"accept-language": "id"}).content.decode()
    assert "Jumlah suara pasangan calon 0, tetapi suara sah 190." in indonesian
    english = admin_client_with_data.get(url).content.decode()
    assert "Candidate votes add up to 0, but valid votes are 190." in english
