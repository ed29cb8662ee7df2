import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from results.pages import memory_forget
from tests.factories import PollingStationFactory, RegionFactory


@pytest.fixture(autouse=True)
def english():
    """Tests read messages in English; the Indonesian ones (the default) are tested on their own."""
    with translation.override("en"):
        yield


@pytest.fixture
def client():
    """A browser that asks for English; without the header pages come in Indonesian."""
    return Client(headers={"accept-language": "en"})


@pytest.fixture(autouse=True)
def fresh_page_cache(settings):
    """Ids come back after a rollback, so one test's cached page could answer the next one's request."""
    settings.PAGE_VERSION_MEMO_SECONDS = 0  # tests read their own publishes at once; test_page_cache tests it
    cache.clear()
    memory_forget()
    yield
    memory_forget()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Officers and demo accounts get passwords; with PBKDF2 the suite spent half its time hashing them.

    MD5 is fit for throwaway test accounts only; production keeps Django's default hashers.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """Production serves hashed names from collectstatic's manifest; tests run without collecting."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def kalbar(db):
    """A slice of the real ladder: Kalbar, Kota Pontianak and Kota Singkawang, two villages, three TPS."""
    province = RegionFactory(code="61", name="Kalimantan Barat")
    pontianak = RegionFactory(code="61.71", name="Kota Pontianak")
    tenggara = RegionFactory(code="61.71.06", name="Pontianak Tenggara")
    bansir_laut = RegionFactory(code="61.71.06.1001", name="Bansir Laut")
    bansir_darat = RegionFactory(code="61.71.06.1002", name="Bansir Darat")
    singkawang = RegionFactory(code="61.72", name="Kota Singkawang")
    pasiran = RegionFactory(code="61.72.01.1001", name="Pasiran")
    return {
        "province": province,
        "pontianak": pontianak,
        "tenggara": tenggara,
        "bansir_laut": bansir_laut,
        "bansir_darat": bansir_darat,
        "singkawang": singkawang,
        "pasiran": pasiran,
        "tps_bansir_laut_1": PollingStationFactory(village=bansir_laut, number=1, dpt=280),
        "tps_bansir_laut_2": PollingStationFactory(village=bansir_laut, number=2, dpt=300),
        "tps_pasiran_1": PollingStationFactory(village=pasiran, number=1, dpt=250),
    }
