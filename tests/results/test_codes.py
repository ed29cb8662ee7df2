import pytest

from results import codes


@pytest.mark.parametrize(
    "raw, dotted",
    [
        ("61", "61"),
        ("6171", "61.71"),
        ("61.71", "61.71"),
        ("617106", "61.71.06"),
        ("6171061001", "61.71.06.1001"),
        ("61.71.06.2003", "61.71.06.2003"),
        ("  61.71.06.1001 ", "61.71.06.1001"),
    ],
)
def test_both_spellings_give_the_dotted_code(raw, dotted):
    assert codes.normalize_region_code(raw) == dotted


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "6",
        "617",
        "61.7",
        "61.71.6",
        "61.71.06.101",
        "61.71.06.3001",
        "61..71",
        "61.71.",
        "6a",
        "00",
        "61.00",
        "61.71.06.0001",
        "61711",
    ],
)
def test_malformed_region_codes_are_refused(raw):
    with pytest.raises(codes.CodeError):
        codes.normalize_region_code(raw)


def test_level_follows_from_the_shape():
    assert [codes.region_level(c) for c in ["61", "61.71", "61.71.06", "61.71.06.1001"]] == [1, 2, 3, 4]


def test_ancestors_are_the_prefixes():
    assert codes.ancestor_codes("61.71.06.1001") == ["61", "61.71", "61.71.06"]
    assert codes.ancestor_codes("61") == []
    assert codes.parent_code("61.71.06.1001") == "61.71.06"
    assert codes.parent_code("61") is None


@pytest.mark.parametrize(
    "raw, dotted",
    [
        ("61.71.06.1001.001", "61.71.06.1001.001"),
        ("6171061001001", "61.71.06.1001.001"),
        ("6171061001017", "61.71.06.1001.017"),
    ],
)
def test_station_codes_in_both_spellings(raw, dotted):
    assert codes.normalize_station_code(raw) == dotted


@pytest.mark.parametrize(
    "raw", ["61.71.06.1001", "61.71.06.1001.1", "61.71.06.1001.000", "61.71.06.001", "617106100100", "61710610010011"]
)
def test_malformed_station_codes_are_refused(raw):
    with pytest.raises(codes.CodeError):
        codes.normalize_station_code(raw)
