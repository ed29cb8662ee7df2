import io

import pytest
from django.core.management import CommandError, call_command

from results.models import PollingStation
from tests.factories import RegionFactory

STATIONS = """village,tps,dpt
61.71.06.1001,1,280
61.71.06.1001,2,300
6171061002,1,250
"""


def run(tmp_path, text):
    path = tmp_path / "tps.csv"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    call_command("import_stations", str(path), stdout=out)
    return out.getvalue()


def snapshot():
    return list(PollingStation.objects.order_by("code").values_list("code", "village__code", "number", "dpt"))


def test_import_creates_stations_under_their_villages(kalbar, tmp_path):
    PollingStation.objects.all().delete()
    out = run(tmp_path, STATIONS)
    assert "3 created, 0 DPT updated, 0 unchanged, 0 rejected" in out
    assert snapshot() == [
        ("61.71.06.1001.001", "61.71.06.1001", 1, 280),
        ("61.71.06.1001.002", "61.71.06.1001", 2, 300),
        ("61.71.06.1002.001", "61.71.06.1002", 1, 250),
    ]


def test_a_second_run_changes_nothing_and_a_new_dpt_is_updated(kalbar, tmp_path):
    PollingStation.objects.all().delete()
    run(tmp_path, STATIONS)
    ids = dict(PollingStation.objects.values_list("code", "id"))
    assert "0 created, 0 DPT updated, 3 unchanged" in run(tmp_path, STATIONS)
    assert "0 created, 1 DPT updated, 2 unchanged" in run(tmp_path, STATIONS.replace("2,300", "2,305"))
    assert dict(PollingStation.objects.values_list("code", "id")) == ids
    assert PollingStation.objects.get(code="61.71.06.1001.002").dpt == 305


def test_numbers_may_have_gaps(kalbar, tmp_path):
    run(tmp_path, "61.71.06.1002,7,120\n61.71.06.1002,9,130\n")
    assert PollingStation.objects.filter(village__code="61.71.06.1002").count() == 2


@pytest.mark.parametrize(
    "bad_row, message",
    [
        ("61.71.06.9001,1,100", "a village number starts with 1 (kelurahan) or 2 (desa)"),
        ("61.71.06.1009,1,100", "unknown village 61.71.06.1009"),
        ("61.71.06,1,100", "unknown village 61.71.06"),
        ("61.71.06.1001,0,100", "not a number from 1 to 999"),
        ("61.71.06.1001,x,100", "not a number from 1 to 999"),
        ("61.71.06.1001,5,-3", "is not a whole number"),
        ("61.71.06.1001,2,300", "duplicate of line 3"),
        ("61.71.06.1001,5", "expected 3 columns"),
    ],
)
def test_each_bad_row_is_reported_and_nothing_is_imported(kalbar, tmp_path, bad_row, message):
    before = snapshot()
    # More good rows than one batch, so a batch was already written when the bad row comes.
    villages = [RegionFactory(code=f"61.71.06.10{n:02d}").code for n in range(10, 16)]
    good = "".join(f"{village},{number},100\n" for village in villages for number in range(1, 1000))
    with pytest.raises(CommandError) as error:
        run(tmp_path, STATIONS + good + bad_row + "\n")
    assert message in str(error.value)
    assert f"tps.csv:{4 + 6 * 999 + 1}: " in str(error.value)
    assert snapshot() == before
