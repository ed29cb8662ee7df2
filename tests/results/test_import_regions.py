import io

import pytest
from django.core.management import CommandError, call_command

from results.models import Region

LADDER = """code,name
61,Kalimantan Barat
61.71,Kota Pontianak
61.71.06,Pontianak Tenggara
61.71.06.1001,Bansir Laut
61.71.06.1002,Bansir Darat
"""


def run(tmp_path, text, name="regions.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    call_command("import_regions", str(path), stdout=out)
    return out.getvalue()


def snapshot():
    return list(Region.objects.order_by("code").values_list("code", "name", "level", "parent__code"))


@pytest.mark.django_db
def test_import_creates_the_ladder_with_levels_and_parents(tmp_path):
    out = run(tmp_path, LADDER)
    assert "5 created, 0 renamed, 0 unchanged, 0 rejected" in out
    assert snapshot() == [
        ("61", "Kalimantan Barat", 1, None),
        ("61.71", "Kota Pontianak", 2, "61"),
        ("61.71.06", "Pontianak Tenggara", 3, "61.71"),
        ("61.71.06.1001", "Bansir Laut", 4, "61.71.06"),
        ("61.71.06.1002", "Bansir Darat", 4, "61.71.06"),
    ]


@pytest.mark.django_db
def test_a_second_run_changes_nothing(tmp_path):
    run(tmp_path, LADDER)
    before = list(Region.objects.order_by("code").values_list("id", "code", "name", "parent_id"))
    out = run(tmp_path, LADDER)
    assert "0 created, 0 renamed, 5 unchanged" in out
    assert list(Region.objects.order_by("code").values_list("id", "code", "name", "parent_id")) == before


@pytest.mark.django_db
def test_a_renamed_region_is_updated_not_duplicated(tmp_path):
    run(tmp_path, LADDER)
    bansir_id = Region.objects.get(code="61.71.06.1001").id
    out = run(tmp_path, LADDER.replace("Bansir Laut", "BANSIR LAUT"))
    assert "0 created, 1 renamed, 4 unchanged" in out
    assert Region.objects.filter(code="61.71.06.1001").count() == 1
    assert Region.objects.get(id=bansir_id).name == "BANSIR LAUT"


@pytest.mark.django_db
def test_undotted_codes_without_a_header_are_accepted(tmp_path):
    run(tmp_path, "61,Kalimantan Barat\n6171,Kota Pontianak\n617106,Pontianak Tenggara\n6171061001,Bansir Laut\n")
    assert Region.objects.get(code="61.71.06.1001").parent.code == "61.71.06"


@pytest.mark.django_db
def test_children_may_be_added_to_regions_already_imported(tmp_path):
    run(tmp_path, LADDER)
    run(tmp_path, "61.71.06.1003,Bangka Belitung Laut\n")
    assert Region.objects.get(code="61.71.06.1003").parent.code == "61.71.06"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad_row, message",
    [
        ("61.71.6,Typo", "is not a region code"),
        ("61.71.06.3001,Not a village", "starts with 1 (kelurahan) or 2 (desa)"),
        ("61.72.01,Orphan district", "parent region 61.72 is neither in the file nor in the database"),
        ("61.71.06.1001,Bansir Laut again", "duplicate of line 5"),
        ("61.71.07,", "has no name"),
        ("61.71.07,Two,names", "expected 2 columns"),
    ],
)
def test_each_bad_row_is_reported_with_its_line_and_nothing_is_imported(tmp_path, bad_row, message):
    with pytest.raises(CommandError) as error:
        run(tmp_path, LADDER + bad_row + "\n")
    assert "regions.csv:7: " in str(error.value)
    assert message in str(error.value)
    assert "nothing was imported" in str(error.value)
    assert snapshot() == []


@pytest.mark.django_db
def test_a_bad_file_leaves_earlier_imports_untouched(tmp_path):
    run(tmp_path, LADDER)
    before = snapshot()
    with pytest.raises(CommandError):
        run(tmp_path, LADDER.replace("Bansir Laut", "Renamed") + "61.99.01,Orphan\n")
    assert snapshot() == before


@pytest.mark.django_db
def test_every_bad_row_is_listed_not_only_the_first(tmp_path):
    with pytest.raises(CommandError) as error:
        run(tmp_path, "61,Kalimantan Barat\nxx,Bad\n61.71.999,Bad\n")
    assert "regions.csv:2:" in str(error.value) and "regions.csv:3:" in str(error.value)


@pytest.mark.django_db
def test_a_missing_or_binary_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_regions", str(tmp_path / "missing.csv"))
    binary = tmp_path / "scan.csv"
    binary.write_bytes(b"\xff\xd8\xff\xe0JFIF\x00\x01")
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("import_regions", str(binary))


@pytest.mark.django_db
def test_errors_are_in_indonesian_by_default(tmp_path):
    from django.utils import translation

    with translation.override("id"), pytest.raises(CommandError) as error:
        run(tmp_path, LADDER + "61.72.01,Orphan\n")
    assert "induk" in str(error.value) or "wilayah induk" in str(error.value)
