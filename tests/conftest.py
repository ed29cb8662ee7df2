import pytest

from tests.factories import PollingStationFactory, RegionFactory


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
