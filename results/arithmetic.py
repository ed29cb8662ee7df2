"""The arithmetic a C1 form should satisfy.

A failing rule is shown to the officer and flagged publicly; it is never a
database constraint and never silently "fixed", because real forms written by
hand at night do break it.
"""

from dataclasses import dataclass, field, fields
from decimal import Decimal

from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Split:
    """A voter row as written on the form: men, women, total."""

    men: int = 0
    women: int = 0
    total: int = 0


@dataclass(frozen=True)
class VoterRow:
    voter_list: str
    registered: Split = Split()
    voted: Split = Split()


@dataclass(frozen=True)
class C1Numbers:
    """The numbers of one reading of a C1 form, detached from the database."""

    voter_rows: tuple = ()
    disabled_registered: Split = Split()
    disabled_voted: Split = Split()
    ballots_received: int = 0
    ballots_spoiled: int = 0
    ballots_unused: int = 0
    ballots_used: int = 0
    # ballot number -> votes
    candidate_votes: dict = field(default_factory=dict)
    valid_votes: int = 0
    invalid_votes: int = 0
    total_votes: int = 0

    @property
    def registered_total(self):
        return sum(row.registered.total for row in self.voter_rows)

    @property
    def voted_total(self):
        return sum(row.voted.total for row in self.voter_rows)

    @property
    def dpt_registered(self):
        return sum(row.registered.total for row in self.voter_rows if row.voter_list == "dpt")


@dataclass(frozen=True)
class RuleFailure:
    """A rule the form breaks, with a message rendered in the active language."""

    rule: str
    template: str
    params: dict

    @property
    def message(self):
        shown = {
            key: number_format(value, force_grouping=True) if isinstance(value, (int, Decimal)) else value
            for key, value in self.params.items()
        }
        return str(self.template) % shown

    def message_in(self, language):
        with translation.override(language):
            return self.message

    @property
    def messages(self):
        """Indonesian first, English second, as the public pages show them."""
        return {"id": self.message_in("id"), "en": self.message_in("en")}


def _negative_fields(numbers):
    found = []
    for row in numbers.voter_rows:
        for part in ("registered", "voted"):
            split = getattr(row, part)
            found += [f"{row.voter_list}.{part}.{f.name}" for f in fields(split) if getattr(split, f.name) < 0]
    for name in ("disabled_registered", "disabled_voted"):
        split = getattr(numbers, name)
        found += [f"{name}.{f.name}" for f in fields(split) if getattr(split, f.name) < 0]
    for f in fields(numbers):
        value = getattr(numbers, f.name)
        if isinstance(value, int) and value < 0:
            found.append(f.name)
    found += [f"candidate {number}" for number, votes in numbers.candidate_votes.items() if votes < 0]
    return found


def _split_rows(numbers):
    for row in numbers.voter_rows:
        yield row.voter_list.upper(), _("registered"), row.registered
        yield row.voter_list.upper(), _("voted"), row.voted
    yield _("disabilities"), _("registered"), numbers.disabled_registered
    yield _("disabilities"), _("voted"), numbers.disabled_voted


def c1_failures(numbers, *, max_voters_per_station, reserve_share):
    """Every rule the numbers break, in the order an officer would check them."""
    failures = []

    def fail(rule, template, **params):
        failures.append(RuleFailure(rule, template, params))

    negative = _negative_fields(numbers)
    if negative:
        fail("no_negative", _("Negative numbers: %(fields)s."), fields=", ".join(negative))

    for list_name, part, split in _split_rows(numbers):
        if split.men + split.women != split.total:
            fail(
                "men_plus_women",
                _("%(list)s %(part)s: men %(men)s + women %(women)s ≠ total %(total)s."),
                list=list_name,
                part=part,
                men=split.men,
                women=split.women,
                total=split.total,
            )

    candidate_sum = sum(numbers.candidate_votes.values())
    if candidate_sum != numbers.valid_votes:
        fail(
            "candidates_sum_to_valid",
            _("Candidate votes add up to %(sum)s, but valid votes are %(valid)s."),
            sum=candidate_sum,
            valid=numbers.valid_votes,
        )
    if numbers.valid_votes + numbers.invalid_votes != numbers.total_votes:
        fail(
            "valid_plus_invalid",
            _("Valid %(valid)s + invalid %(invalid)s ≠ total votes %(total)s."),
            valid=numbers.valid_votes,
            invalid=numbers.invalid_votes,
            total=numbers.total_votes,
        )
    if numbers.total_votes != numbers.ballots_used:
        fail(
            "total_equals_ballots_used",
            _("Total votes %(total)s ≠ ballots used %(used)s."),
            total=numbers.total_votes,
            used=numbers.ballots_used,
        )
    if numbers.ballots_used != numbers.voted_total:
        fail(
            "ballots_used_equals_voters",
            _("Ballots used %(used)s ≠ voters who used their right %(voters)s."),
            used=numbers.ballots_used,
            voters=numbers.voted_total,
        )
    ballots_accounted = numbers.ballots_used + numbers.ballots_unused + numbers.ballots_spoiled
    if ballots_accounted != numbers.ballots_received:
        fail(
            "ballots_balance",
            _(
                "Used %(used)s + unused %(unused)s + spoiled %(spoiled)s = %(sum)s, "
                "but %(received)s ballots were received."
            ),
            used=numbers.ballots_used,
            unused=numbers.ballots_unused,
            spoiled=numbers.ballots_spoiled,
            sum=ballots_accounted,
            received=numbers.ballots_received,
        )
    if numbers.voted_total > numbers.registered_total:
        fail(
            "turnout_at_most_registered",
            _("%(voters)s voters used their right, more than the %(registered)s registered on all lists."),
            voters=numbers.voted_total,
            registered=numbers.registered_total,
        )

    # Not arithmetic but suspect enough to flag (design: lessons from 2024).
    ceiling = int(numbers.dpt_registered * (1 + Decimal(reserve_share) / 100))
    if numbers.total_votes > ceiling:
        fail(
            "votes_within_dpt_and_reserve",
            _("Total votes %(total)s exceed the DPT plus %(share)s%% reserve (%(ceiling)s)."),
            total=numbers.total_votes,
            share=Decimal(reserve_share),
            ceiling=ceiling,
        )
    for ballot_number, votes in sorted(numbers.candidate_votes.items()):
        if votes > max_voters_per_station:
            fail(
                "candidate_within_station_maximum",
                _("Candidate %(number)s has %(votes)s votes, more than a TPS may have voters (%(maximum)s)."),
                number=str(ballot_number),
                votes=votes,
                maximum=max_voters_per_station,
            )
    return failures
