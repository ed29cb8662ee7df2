"""Proving that nothing changed silently: every digest chain recomputed, every total recomputed from the TPS."""

from dataclasses import dataclass

from . import digests
from .aggregates import results_drift
from .models import Contest, TallyRevision


@dataclass(frozen=True)
class Mismatch:
    contest: str
    where: str
    what: str

    def __str__(self):
        return f"{self.contest} · {self.where}: {self.what}"


def chain_mismatches(contest, *, progress=None):
    """Each reading whose stored digest is not the digest of what is stored, or whose chain is broken."""
    revisions = (
        TallyRevision.objects.filter(tally__contest=contest)
        .select_related("tally__station")
        .with_numbers()
        .order_by("tally__station__code", "number")
    )
    previous = {}
    for revision in revisions.iterator(chunk_size=2000):
        code = revision.tally.station.code
        expected_previous = previous.get(revision.tally_id, "")
        where = f"TPS {code} revision {revision.number}"
        if revision.previous_digest != expected_previous:
            yield Mismatch(str(contest), where, "the chain is broken: previous digest differs")
        document = digests.reading_document(
            contest_id=contest.pk,
            station_code=code,
            number=revision.number,
            source=revision.source,
            reason=revision.reason,
            numbers=revision.numbers(),
            scan_digests=revision.scan_digests,
            previous_digest=revision.previous_digest,
        )
        if digests.digest(document) != revision.digest:
            yield Mismatch(str(contest), where, "the stored reading does not match its digest")
        previous[revision.tally_id] = revision.digest
        if progress:
            progress(1)


def integrity_check(*, contests=None, progress=None):
    """Every mismatch in the chains and the totals of the given contests (all by default)."""
    mismatches = []
    for contest in contests if contests is not None else Contest.objects.select_related("region"):
        mismatches += chain_mismatches(contest, progress=progress)
        for code, column, stored, expected in results_drift(contest):
            mismatches.append(
                Mismatch(
                    str(contest), f"region {code or 'whole country'}", f"{column} is {stored}, expected {expected}"
                )
            )
    return mismatches
