"""import_tallies: an office's spreadsheet entered as one officer's blind entry, whole or not at all."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from results.models import CandidateResult, RegionResult, Tally, TallyRevision
from results.tally_import import tally_columns
from tests.factories import PollingStationFactory, RegionFactory
from tests.results.conftest import c1

COLUMNS = tally_columns(voter_lists=("dpt", "dpph", "dptb"), ballot_numbers=(1, 2, 3))
BANSIR_1, BANSIR_2 = "61.71.06.1001.001", "61.71.06.1001.002"


def cells(code, numbers):
    """The row of a tally CSV holding `numbers` (C1Numbers) for TPS `code`."""
    row = {"tps": code}
    for voter_row in numbers.voter_rows:
        for part in ("registered", "voted"):
            split = getattr(voter_row, part)
            row.update(
                {f"{voter_row.voter_list}_{part}_{name}": getattr(split, name) for name in ("men", "women", "total")}
            )
    for part in ("registered", "voted"):
        split = getattr(numbers, f"disabled_{part}")
        row.update({f"disabled_{part}_{name}": getattr(split, name) for name in ("men", "women", "total")})
    for name in ("ballots_received", "ballots_spoiled", "ballots_unused", "ballots_used"):
        row[name] = getattr(numbers, name)
    row.update({f"pair_{number}": votes for number, votes in numbers.candidate_votes.items()})
    row.update(valid=numbers.valid_votes, invalid=numbers.invalid_votes, total=numbers.total_votes)
    return row


@pytest.fixture
def write(tmp_path):
    """Write rows (dicts, or lists of raw cells) under a header into tmp_path/<name>; returns the path."""

    def run(rows, name="tallies.csv", columns=COLUMNS):
        path = tmp_path / name
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([row.get(column, "") for column in columns] if isinstance(row, dict) else row)
        return str(path)

    return run


@pytest.fixture
def good_rows():
    return [cells(BANSIR_1, c1([40, 70, 80])), cells(BANSIR_2, c1([12, 150, 98], invalid=5, dpt=(160, 140)))]


def run_import(path, contest, user):
    out = io.StringIO()
    call_command("import_tallies", path, "--contest", str(contest.pk), "--user", user.username, stdout=out)
    return out.getvalue()


def rejection(path, contest, user):
    with pytest.raises(CommandError) as refused:
        run_import(path, contest, user)
    return str(refused.value)


def nothing_written():
    return not Tally.objects.exclude(state=Tally.State.EMPTY).exists() and not TallyRevision.objects.exists()


def test_a_file_is_one_blind_entry_waiting_for_a_second_officer(governor, officers, write, good_rows):
    path = write(good_rows)
    out = run_import(path, governor, officers[0])
    assert f"tallies.csv:2: {BANSIR_1}: entered, waiting for a second entry" in out
    assert f"tallies.csv:3: {BANSIR_2}: entered, waiting for a second entry" in out
    assert "2 forms entered as petugas-1: 2 waiting for a second entry, 0 verified and published, 0 in conflict" in out
    assert set(Tally.objects.values_list("state", flat=True)) == {Tally.State.AWAITING_SECOND}
    assert not Tally.objects.published().exists()


def test_the_same_file_from_a_second_officer_publishes_and_the_totals_are_the_sums(
    governor, officers, write, good_rows
):
    path = write(good_rows)
    run_import(path, governor, officers[0])
    out = run_import(path, governor, officers[1])
    assert f"tallies.csv:2: {BANSIR_1}: verified and published" in out
    assert "0 waiting for a second entry, 2 verified and published, 0 in conflict" in out
    published = Tally.objects.published().select_related("current_revision")
    assert published.count() == 2
    assert {form.current_revision.entered_by for form in published} == {officers[1]}
    assert {form.current_revision.verifies.entered_by for form in published} == {officers[0]}
    for code in ("61", "61.71", "61.71.06", "61.71.06.1001"):
        totals = RegionResult.objects.get(contest=governor, region_code=code)
        assert (totals.stations_reported, totals.valid_votes, totals.invalid_votes, totals.total_votes) == (
            2,
            190 + 260,
            2 + 5,
            192 + 265,
        )
        votes = dict(
            CandidateResult.objects.filter(contest=governor, region_code=code).values_list(
                "candidate__ballot_number", "votes"
            )
        )
        assert votes == {1: 40 + 12, 2: 70 + 150, 3: 80 + 98}


def test_a_second_file_that_differs_leaves_that_form_in_conflict(governor, officers, write, good_rows):
    run_import(write(good_rows), governor, officers[0])
    differing = [good_rows[0], cells(BANSIR_2, c1([12, 150, 89], invalid=5, dpt=(160, 140)))]
    out = run_import(write(differing, name="second.csv"), governor, officers[1])
    assert f"second.csv:2: {BANSIR_1}: verified and published" in out
    assert f"second.csv:3: {BANSIR_2}: conflict: the two entries disagree; a third person resolves them" in out
    assert "1 verified and published, 1 in conflict" in out
    assert Tally.objects.get(station__code=BANSIR_2).state == Tally.State.CONFLICT


def test_undotted_tps_codes_are_accepted(governor, officers, write, good_rows):
    good_rows[0]["tps"] = "6171061001001"
    out = run_import(write(good_rows), governor, officers[0])
    assert f"tallies.csv:2: {BANSIR_1}: entered" in out
    assert Tally.objects.get(station__code=BANSIR_1).state == Tally.State.AWAITING_SECOND


def test_a_row_breaking_the_arithmetic_is_entered_with_its_warnings(governor, officers, write, good_rows):
    good_rows[1]["valid"] = 261
    out = run_import(write(good_rows), governor, officers[0])
    assert "tallies.csv:3: warning: Candidate votes add up to 260, but valid votes are 261." in out
    assert "tallies.csv:3: warning: Valid 261 + invalid 5 ≠ total votes 265." in out
    assert "; 1 with arithmetic warnings." in out
    assert Tally.objects.get(station__code=BANSIR_2).state == Tally.State.AWAITING_SECOND


def outside_the_contest():
    PollingStationFactory(village=RegionFactory(code="62.71.01.1001", name="Pahandut"), number=1)
    return "62.71.01.1001.001"


@pytest.mark.parametrize(
    "spoil, line, message",
    [
        (lambda rows: rows[1].update(tps="61.71.06.1001.099"), 3, "unknown TPS 61.71.06.1001.099"),
        (lambda rows: rows[1].update(tps=outside_the_contest()), 3, "outside the contest's region 61"),
        (lambda rows: rows[1].update(tps="61.72.01.1001.001"), 3, "TPS 61.72.01.1001.001 is outside your region."),
        (lambda rows: rows[1].update(tps="61.71.06.1001"), 3, "is not a TPS code"),
        (lambda rows: rows[1].update(pair_2="15O"), 3, "not a whole number (0 or more): pair_2 “15O”"),
        (lambda rows: rows[1].update(dpt_voted_men="-3"), 3, "not a whole number (0 or more): dpt_voted_men “-3”"),
        (lambda rows: rows[1].update(invalid=""), 3, "not a whole number (0 or more): invalid “”"),
        (lambda rows: rows[1].update(total="99999999999"), 3, "too large to be a count: total “99999999999”"),
        (lambda rows: rows[1].update(tps=BANSIR_1), 3, f"TPS {BANSIR_1} is a duplicate of line 2"),
    ],
    ids=[
        "unknown TPS",
        "outside the contest",
        "outside the officer's region",
        "malformed code",
        "not a number",
        "negative",
        "empty",
        "too large",
        "duplicate",
    ],
)
def test_a_bad_row_rejects_the_file_with_its_line_and_nothing_is_written(
    governor, officers, write, good_rows, kalbar, spoil, line, message
):
    spoil(good_rows)
    error = rejection(write(good_rows), governor, officers[0])
    assert f"tallies.csv:{line}: " in error and message in error
    assert "tallies.csv: 1 bad row, nothing was imported." in error
    assert nothing_written()


def test_a_row_with_the_wrong_number_of_cells_is_rejected(governor, officers, write, good_rows):
    short = [good_rows[0], ["61.71.06.1001.002", "1", "2"]]
    error = rejection(write(short), governor, officers[0])
    assert f"tallies.csv:3: expected {len(COLUMNS)} columns, found 3" in error
    assert nothing_written()


def test_a_missing_column_or_a_pair_the_contest_lacks_is_named_on_the_header_line(governor, officers, write, good_rows):
    columns = [column for column in COLUMNS if column != "invalid"] + ["pair_4"]
    error = rejection(write(good_rows, columns=columns), governor, officers[0])
    assert "tallies.csv:1: column pair_4: the contest has no pair with ballot number 4" in error
    assert "tallies.csv:1: missing columns: invalid" in error
    assert "The columns for Gubernur Kalimantan Barat 2018: tps,dpt_registered_men," in error
    assert nothing_written()


def test_every_bad_row_is_reported_at_once(governor, officers, write, good_rows):
    good_rows[0]["pair_1"] = "x"
    good_rows[1]["tps"] = "61.71.06.1001.099"
    error = rejection(write(good_rows), governor, officers[0])
    assert "tallies.csv:2: not a whole number" in error and "tallies.csv:3: unknown TPS" in error
    assert "tallies.csv: 2 bad rows, nothing was imported." in error


def test_a_published_form_or_one_in_conflict_rejects_the_file(governor, officers, write, good_rows):
    first = write(good_rows[:1], name="first.csv")
    run_import(first, governor, officers[0])
    run_import(first, governor, officers[1])
    error = rejection(write(good_rows), governor, officers[2])
    assert f"tallies.csv:2: TPS {BANSIR_1}: the form is published already" in error
    assert Tally.objects.get(station__code=BANSIR_1).revisions.count() == 2
    assert not Tally.objects.filter(station__code=BANSIR_2).exclude(state=Tally.State.EMPTY).exists()

    run_import(write(good_rows[1:], name="a.csv"), governor, officers[0])
    run_import(write([cells(BANSIR_2, c1([1, 2, 3]))], name="b.csv"), governor, officers[1])
    error = rejection(write(good_rows[1:], name="c.csv"), governor, officers[2])
    assert f"c.csv:2: TPS {BANSIR_2}: the two entries of this form disagree" in error


def test_the_same_officer_importing_the_same_file_twice_is_refused(governor, officers, write, good_rows):
    path = write(good_rows)
    run_import(path, governor, officers[0])
    error = rejection(path, governor, officers[0])
    assert f"tallies.csv:2: TPS {BANSIR_1}: petugas-1 made the first entry of this form" in error
    assert "2 bad rows, nothing was imported." in error
    assert TallyRevision.objects.count() == 2


def test_the_contest_is_found_by_name_and_an_unknown_one_or_user_is_an_error(governor, officers, write, good_rows):
    path = write(good_rows)
    out = io.StringIO()
    call_command(
        "import_tallies", path, "--contest", "gubernur kalimantan barat 2018", "--user", "petugas-1", stdout=out
    )
    assert "2 forms entered as petugas-1" in out.getvalue()
    with pytest.raises(CommandError, match="There is no contest “Bupati”"):
        call_command("import_tallies", path, "--contest", "Bupati", "--user", "petugas-1")
    with pytest.raises(CommandError, match="There is no user “nobody”"):
        call_command("import_tallies", path, "--contest", str(governor.pk), "--user", "nobody")
