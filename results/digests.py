"""The digest of a reading and the head of a contest: sha256 over a canonical serialisation.

Written so that anyone can recompute them in a few lines of any language
(the README shows how): the reading as JSON with sorted keys, no spaces,
ASCII only, hashed as UTF-8.
"""

import hashlib
import json

# json.dumps with these arguments, made once: verify_integrity serialises every reading.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def numbers_document(numbers):
    """The numbers written on the form (C1Numbers) as JSON-ready data; equal numbers give equal documents."""
    registered, voted = numbers.disabled_registered, numbers.disabled_voted
    return numbers_layout(
        voters=(
            (
                row.voter_list,
                (row.registered.men, row.registered.women, row.registered.total),
                (row.voted.men, row.voted.women, row.voted.total),
            )
            for row in numbers.voter_rows
        ),
        disabled=((registered.men, registered.women, registered.total), (voted.men, voted.women, voted.total)),
        ballots=(numbers.ballots_received, numbers.ballots_spoiled, numbers.ballots_unused, numbers.ballots_used),
        candidates=numbers.candidate_votes.items(),
        votes=(numbers.valid_votes, numbers.invalid_votes, numbers.total_votes),
    )


def numbers_layout(*, voters, disabled, ballots, candidates, votes):
    """The one layout of a reading's numbers, from plain values: numbers_document's, and verify_integrity's from rows.

    `voters`: (list, (men, women, total) registered, (men, women, total) voted)
    per voter list; `disabled`: (registered, voted) as (men, women, total);
    `ballots`: (received, spoiled, unused, used); `candidates`: (ballot number,
    votes) pairs; `votes`: (valid, invalid, total).
    """
    disabled_registered, disabled_voted = disabled
    received, spoiled, unused, used = ballots
    valid, invalid, total = votes
    return {
        "voters": {
            voter_list: {"registered": list(registered), "voted": list(voted)}
            for voter_list, registered, voted in voters
        },
        "disabled": {"registered": list(disabled_registered), "voted": list(disabled_voted)},
        "ballots": {"received": received, "spoiled": spoiled, "unused": unused, "used": used},
        # JSON keys are strings: the ballot number as text.
        "candidates": {str(number): count for number, count in candidates},
        "valid": valid,
        "invalid": invalid,
        "total": total,
    }


def reading_document(*, contest_id, station_code, number, source, reason, numbers, scan_digests, previous_digest):
    """What a reading's digest covers: the form, the revision, its numbers, the scans read and the digest before."""
    return reading_layout(
        contest_id=contest_id,
        station_code=station_code,
        number=number,
        source=source,
        reason=reason,
        numbers=numbers_document(numbers),
        scan_digests=scan_digests,
        previous_digest=previous_digest,
    )


def reading_layout(*, contest_id, station_code, number, source, reason, numbers, scan_digests, previous_digest):
    """reading_document with `numbers` already laid out (a numbers_document or numbers_layout)."""
    return {
        "contest": contest_id,
        "tps": station_code,
        "revision": number,
        "source": source,
        "reason": reason,
        **numbers,
        "scans": sorted(scan_digests),
        "previous": previous_digest,
    }


def canonical(document):
    return _ENCODER.encode(document).encode()


def digest(document):
    return hashlib.sha256(canonical(document)).hexdigest()


def head_digest(forms):
    """The head over (TPS code, current digest) pairs: one line "code digest\\n" each, in TPS-code order."""
    lines = "".join(f"{code} {form_digest}\n" for code, form_digest in sorted(forms))
    return hashlib.sha256(lines.encode()).hexdigest()
