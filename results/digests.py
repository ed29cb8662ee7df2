"""The digest of a reading and the head of a contest: sha256 over a canonical serialisation.

Written so that anyone can recompute them in a few lines of any language
(the README shows how): the reading as JSON with sorted keys, no spaces,
ASCII only, hashed as UTF-8.
"""

import hashlib
import json


def numbers_document(numbers):
    """The numbers written on the form (C1Numbers) as JSON-ready data; equal numbers give equal documents."""
    return {
        "voters": {
            row.voter_list: {
                "registered": [row.registered.men, row.registered.women, row.registered.total],
                "voted": [row.voted.men, row.voted.women, row.voted.total],
            }
            for row in numbers.voter_rows
        },
        "disabled": {
            "registered": [
                numbers.disabled_registered.men,
                numbers.disabled_registered.women,
                numbers.disabled_registered.total,
            ],
            "voted": [numbers.disabled_voted.men, numbers.disabled_voted.women, numbers.disabled_voted.total],
        },
        "ballots": {
            "received": numbers.ballots_received,
            "spoiled": numbers.ballots_spoiled,
            "unused": numbers.ballots_unused,
            "used": numbers.ballots_used,
        },
        # JSON keys are strings: the ballot number as text.
        "candidates": {str(number): votes for number, votes in numbers.candidate_votes.items()},
        "valid": numbers.valid_votes,
        "invalid": numbers.invalid_votes,
        "total": numbers.total_votes,
    }


def reading_document(*, contest_id, station_code, number, source, reason, numbers, scan_digests, previous_digest):
    """What a reading's digest covers: the form, the revision, its numbers, the scans read and the digest before."""
    return {
        "contest": contest_id,
        "tps": station_code,
        "revision": number,
        "source": source,
        "reason": reason,
        **numbers_document(numbers),
        "scans": sorted(scan_digests),
        "previous": previous_digest,
    }


def canonical(document):
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def digest(document):
    return hashlib.sha256(canonical(document)).hexdigest()


def head_digest(forms):
    """The head over (TPS code, current digest) pairs: one line "code digest\\n" each, in TPS-code order."""
    lines = "".join(f"{code} {form_digest}\n" for code, form_digest in sorted(forms))
    return hashlib.sha256(lines.encode()).hexdigest()
