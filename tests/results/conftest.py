import pytest

from results.arithmetic import C1Numbers, Split, VoterRow
from results.services import officer_create
from tests.factories import CandidateFactory, ContestFactory


def c1(votes, invalid=2, dpt=(150, 130), voted=None):
    """A consistent reading of a Pilkada C1 form: `votes` per ballot number 1, 2, 3..."""
    valid = sum(votes)
    total = valid + invalid
    men = voted if voted is not None else total // 2
    return C1Numbers(
        voter_rows=(
            VoterRow("dpt", Split(dpt[0], dpt[1], sum(dpt)), Split(men, total - men, total)),
            VoterRow("dpph", Split(0, 0, 0), Split(0, 0, 0)),
            VoterRow("dptb", Split(0, 0, 0), Split(0, 0, 0)),
        ),
        ballots_received=max(sum(dpt), total) + 7,
        ballots_spoiled=1,
        ballots_unused=max(sum(dpt), total) + 6 - total,
        ballots_used=total,
        candidate_votes={number: count for number, count in enumerate(votes, start=1)},
        valid_votes=valid,
        invalid_votes=invalid,
        total_votes=total,
    )


@pytest.fixture
def governor(kalbar):
    """Pilgub Kalbar 2018 with its three pairs, over the province."""
    contest = ContestFactory(region=kalbar["province"])
    for number, name in ((1, "Milton Crosby"), (2, "Karolin Margret Natasa"), (3, "Sutarmidji")):
        CandidateFactory(contest=contest, ballot_number=number, name=name)
    return contest


@pytest.fixture
def officers(kalbar):
    """Three officers of Kota Pontianak: two to enter a form, a third to resolve."""
    return [
        officer_create(username=f"petugas-{n}", region=kalbar["pontianak"], password=f"pw-for-tests-{n}")
        for n in (1, 2, 3)
    ]
