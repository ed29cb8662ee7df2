"""Each C1 rule on its own, at its boundary: equal passes, one off fails."""

from dataclasses import replace

from results.arithmetic import C1Numbers, Split, VoterRow, c1_failures


def clean_form(**changes):
    numbers = C1Numbers(
        voter_rows=(
            VoterRow("dpt", Split(140, 150, 290), Split(90, 100, 190)),
            VoterRow("dpph", Split(3, 2, 5), Split(3, 2, 5)),
            VoterRow("dptb", Split(3, 2, 5), Split(3, 2, 5)),
        ),
        disabled_registered=Split(2, 1, 3),
        disabled_voted=Split(1, 1, 2),
        ballots_received=298,
        ballots_spoiled=3,
        ballots_unused=95,
        ballots_used=200,
        candidate_votes={1: 40, 2: 70, 3: 80},
        valid_votes=190,
        invalid_votes=10,
        total_votes=200,
    )
    return replace(numbers, **changes)


def rules(numbers, max_voters=800, reserve="2.5"):
    return [failure.rule for failure in c1_failures(numbers, max_voters_per_station=max_voters, reserve_share=reserve)]


def test_a_clean_form_breaks_no_rule():
    assert rules(clean_form()) == []


def test_candidate_votes_must_add_up_to_valid_votes():
    assert rules(clean_form(candidate_votes={1: 40, 2: 70, 3: 81})) == ["candidates_sum_to_valid"]
    assert rules(clean_form(candidate_votes={1: 40, 2: 70, 3: 79})) == ["candidates_sum_to_valid"]


def test_valid_plus_invalid_must_equal_total():
    numbers = clean_form(invalid_votes=11)
    assert rules(numbers) == ["valid_plus_invalid"]


def test_total_votes_must_equal_ballots_used():
    numbers = clean_form(valid_votes=191, candidate_votes={1: 41, 2: 70, 3: 80}, total_votes=201)
    assert rules(numbers) == ["total_equals_ballots_used"]


def test_ballots_used_must_equal_voters_who_voted():
    numbers = clean_form(ballots_used=199, ballots_unused=96, total_votes=199, invalid_votes=9)
    assert rules(numbers) == ["ballots_used_equals_voters"]


def test_used_unused_and_spoiled_must_add_up_to_received():
    assert rules(clean_form(ballots_received=299)) == ["ballots_balance"]
    assert rules(clean_form(ballots_received=297)) == ["ballots_balance"]


def test_men_plus_women_must_equal_total_on_every_row():
    assert rules(clean_form(disabled_voted=Split(1, 1, 3))) == ["men_plus_women"]
    rows = clean_form().voter_rows
    broken = (VoterRow("dpt", Split(140, 151, 290), rows[0].voted),) + rows[1:]
    assert rules(clean_form(voter_rows=broken)) == ["men_plus_women"]


def test_voters_may_not_exceed_registered_on_all_lists():
    at_limit = (VoterRow("dpt", Split(90, 100, 190), Split(90, 100, 190)),) + clean_form().voter_rows[1:]
    assert "turnout_at_most_registered" not in rules(clean_form(voter_rows=at_limit))
    over = (VoterRow("dpt", Split(90, 99, 189), Split(90, 100, 190)),) + clean_form().voter_rows[1:]
    assert "turnout_at_most_registered" in rules(clean_form(voter_rows=over))


def test_negative_numbers_are_reported_with_their_field():
    failures = c1_failures(clean_form(ballots_unused=-1), max_voters_per_station=800, reserve_share="2.5")
    negative = [failure for failure in failures if failure.rule == "no_negative"]
    assert len(negative) == 1
    assert "ballots_unused" in negative[0].message_in("en")


def test_votes_above_dpt_plus_reserve_are_flagged():
    # DPT 290 + 2.5% = 297 (rounded down): 297 votes pass, 298 are flagged.
    rows = clean_form().voter_rows

    def form_with_total(total):
        voted = (VoterRow("dpt", Split(145, 145, 290), Split(total - 10 - 150, 150, total - 10)),) + rows[1:]
        return clean_form(
            voter_rows=voted,
            ballots_received=600,
            ballots_used=total,
            ballots_unused=600 - 3 - total,
            valid_votes=total - 10,
            candidate_votes={1: total - 10},
            total_votes=total,
        )

    assert "votes_within_dpt_and_reserve" not in rules(form_with_total(297))
    assert "votes_within_dpt_and_reserve" in rules(form_with_total(298))


def test_a_candidate_above_the_station_maximum_is_flagged():
    assert rules(clean_form(), max_voters=79) == ["candidate_within_station_maximum"]
    assert rules(clean_form(), max_voters=80) == []


def test_every_failing_rule_is_reported_not_only_the_first():
    numbers = clean_form(invalid_votes=11, ballots_received=1, candidate_votes={1: 1})
    assert set(rules(numbers)) >= {"valid_plus_invalid", "ballots_balance", "candidates_sum_to_valid"}


def test_messages_come_in_indonesian_and_english_with_indonesian_grouping():
    numbers = clean_form(ballots_received=1_234_567)
    (failure,) = c1_failures(numbers, max_voters_per_station=800, reserve_share="2.5")
    messages = failure.messages
    assert "1.234.567" in messages["id"]
    assert "surat suara" in messages["id"]
    assert "ballots were received" in messages["en"]
    assert "1,234,567" in messages["en"]
