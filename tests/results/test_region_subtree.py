import pytest
from django.db import connection

from results.models import Contest, PollingStation, Region
from tests.factories import ContestFactory, PollingStationFactory, RegionFactory


def test_subtree_is_the_region_and_everything_below(kalbar):
    codes = list(Region.objects.subtree("61.71").values_list("code", flat=True))
    assert codes == ["61.71", "61.71.06", "61.71.06.1001", "61.71.06.1002"]


def test_subtree_does_not_leak_into_a_sibling_sharing_digits(kalbar):
    RegionFactory(code="61.71.16", name="Not a child of 61.71.06")
    RegionFactory(code="61.71.06.1010", name="Child")
    codes = set(Region.objects.subtree("61.71.06").values_list("code", flat=True))
    assert "61.71.16" not in codes
    assert "61.71.06.1010" in codes


def test_ancestors_come_from_the_code(kalbar):
    ancestors = Region.objects.ancestors_of("61.71.06.1001")
    assert [region.code for region in ancestors] == ["61", "61.71", "61.71.06"]


def test_stations_in_a_region_by_prefix(kalbar):
    assert PollingStation.objects.in_region("61.71").count() == 2
    assert PollingStation.objects.in_region("61").count() == 3
    assert PollingStation.objects.in_region("61.72.01.1001").count() == 1


def test_region_kind_says_city_or_regency_kelurahan_or_desa(kalbar):
    assert str(kalbar["pontianak"].kind) == "city"
    assert str(RegionFactory(code="61.01", name="Kabupaten Sambas").kind) == "regency"
    assert "kelurahan" in str(kalbar["bansir_laut"].kind)
    assert "desa" in str(RegionFactory(code="61.01.01.2001", name="Desa").kind)


def test_a_nationwide_contest_covers_every_province_and_abroad(kalbar):
    abroad = PollingStationFactory(village=RegionFactory(code="99.01.01.1001", name="Kuala Lumpur"), number=1)
    contest = ContestFactory(
        scope=Contest.Scope.NATIONAL, region=None, office=Contest.Office.PRESIDENT, name="Presiden 2024"
    )
    assert contest.stations().count() == 4
    assert contest.covers(abroad.code)
    assert contest.covers(kalbar["tps_pasiran_1"].code)


def test_a_regional_contest_covers_only_its_region(kalbar):
    contest = ContestFactory(region=kalbar["pontianak"], office=Contest.Office.MAYOR, name="Wali Kota Pontianak")
    assert set(contest.stations().values_list("code", flat=True)) == {
        kalbar["tps_bansir_laut_1"].code,
        kalbar["tps_bansir_laut_2"].code,
    }
    assert not contest.covers(kalbar["tps_pasiran_1"].code)


def test_a_contest_region_must_match_its_scope(kalbar):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ContestFactory(scope=Contest.Scope.REGIONAL, region=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ContestFactory(scope=Contest.Scope.NATIONAL, region=kalbar["province"])


@pytest.mark.postgres
def test_subtree_query_uses_the_prefix_index_on_postgres(kalbar):
    assert connection.vendor == "postgresql"
    sql, params = Region.objects.subtree("61.71").only("id").query.sql_with_params()
    with connection.cursor() as cursor:
        # A handful of rows would be scanned sequentially; ask what the planner can do.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Django names the varchar_pattern_ops index of a unique CharField "..._like".
    assert "results_region_code" in plan and "_like" in plan
