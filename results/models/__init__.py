"""The results app's models, one module per part of the domain."""

from .aggregates import WHOLE_COUNTRY, CandidateResult, ContestHead, IntegrityCheck, RegionResult
from .elections import Candidate, Contest, Election, VoterList
from .officers import Officer
from .regions import PollingStation, PollingStationQuerySet, Region, RegionManager, RegionQuerySet, subtree_q
from .tallies import CandidateVotes, Tally, TallyRevision, VoterCount

__all__ = [
    "WHOLE_COUNTRY",
    "CandidateResult",
    "ContestHead",
    "IntegrityCheck",
    "RegionResult",
    "Candidate",
    "CandidateVotes",
    "Contest",
    "Election",
    "Officer",
    "PollingStation",
    "PollingStationQuerySet",
    "Region",
    "RegionManager",
    "RegionQuerySet",
    "Tally",
    "TallyRevision",
    "VoterCount",
    "VoterList",
    "subtree_q",
]
