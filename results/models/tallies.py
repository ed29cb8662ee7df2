"""The C1 form of a contest at a TPS and its readings (append-only revisions)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .. import digests
from ..arithmetic import C1Numbers, RuleFailure, Split, VoterRow, c1_failures
from .elections import Candidate, Contest, VoterList
from .regions import PollingStation


class TallyQuerySet(models.QuerySet):
    def published(self):
        """Forms with a published reading: the only ones the public side may read."""
        return self.filter(current_revision__isnull=False)

    def read_from_several_scans(self):
        """Ids of these forms with readings made from two or more different sets of scans, in one light query:
        the only forms Tally.scans_disagree() can flag, and few."""
        sets = {}
        found = TallyRevision.objects.filter(tally__in=self).exclude(scan_digests=[])
        for tally_id, scans in found.values_list("tally_id", "scan_digests"):
            sets.setdefault(tally_id, set()).add(frozenset(scans))
        return {tally_id for tally_id, scan_sets in sets.items() if len(scan_sets) > 1}


class Tally(models.Model):
    """The C1 form of one contest at one TPS: its scans and its readings.

    Where the form stands is kept here and moves only in the tally services:
    `pending_entry` is a first entry waiting for a second officer's blind
    entry, `conflicting_entry` a second entry that disagreed with it, and
    `current_revision` the published reading.
    """

    class State(models.TextChoices):
        EMPTY = "empty", _("no reading yet")
        AWAITING_SECOND = "awaiting_second", _("waiting for a second entry")
        CONFLICT = "conflict", _("the two entries disagree")
        PUBLISHED = "published", _("published")

    contest = models.ForeignKey(Contest, verbose_name=_("contest"), on_delete=models.PROTECT, related_name="tallies")
    station = models.ForeignKey(PollingStation, verbose_name=_("TPS"), on_delete=models.PROTECT, related_name="tallies")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.EMPTY)
    pending_entry = models.ForeignKey(
        "TallyRevision",
        verbose_name=_("entry waiting for verification"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    conflicting_entry = models.ForeignKey(
        "TallyRevision",
        verbose_name=_("entry that disagrees"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    current_revision = models.ForeignKey(
        "TallyRevision",
        verbose_name=_("published reading"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = TallyQuerySet.as_manager()

    class Meta:
        verbose_name = _("C1 form")
        verbose_name_plural = _("C1 forms")
        ordering = ["contest", "station__code"]
        constraints = [
            models.UniqueConstraint(fields=["contest", "station"], name="one_form_per_contest_and_station"),
        ]

    def __str__(self):
        return f"{self.station.code} · {self.contest}"

    def scans_disagree(self):
        """A flag when readings made from different scans of this form give different numbers.

        Two scans of one form whose numbers disagree are a sign of a second,
        different paper: shown, never settled automatically. None when all agree.
        """
        # Most forms are read from one scan: one light query says so, before any numbers are loaded.
        if self.pk not in Tally.objects.filter(pk=self.pk).read_from_several_scans():
            return None
        read_from = self.revisions.exclude(scan_digests=[])
        readings = {}
        for revision in read_from.with_numbers():
            document = digests.numbers_document(revision.numbers())
            readings.setdefault(frozenset(revision.scan_digests), []).append(document)
        scan_sets = list(readings)
        for index, scans in enumerate(scan_sets):
            for other in scan_sets[index + 1 :]:
                if scans.isdisjoint(other) and any(a != b for a in readings[scans] for b in readings[other]):
                    return RuleFailure(
                        "scans_disagree",
                        _("Readings made from different scans of this form disagree: is there a second paper?"),
                        {},
                    )
        return None


def _count(verbose_name, help_text=""):
    # PositiveIntegerField: no negative count ever reaches the database.
    return models.PositiveIntegerField(verbose_name, help_text=help_text)


class TallyRevisionQuerySet(models.QuerySet):
    def published(self):
        """Readings that were published when they were made: verified, resolved or corrections."""
        return self.filter(published=True)

    def with_numbers(self):
        """Fetch the rows numbers() reads in two more queries, not one per candidate."""
        return self.prefetch_related("voter_counts", "candidate_votes__candidate")


class TallyRevision(models.Model):
    """One reading of a C1 form. Append-only: a correction is a new revision, and no row is ever updated.

    `digest` is the sha256 of the reading's canonical form (results/digests.py),
    which includes `previous_digest`, the digest of the form's revision before
    it: a chain per form, so a row changed behind the portal's back shows.
    """

    class Source(models.TextChoices):
        OFFICER_ENTRY = "officer_entry", _("officer's entry")
        SECOND_ENTRY = "second_entry", _("second officer's entry")
        RESOLUTION = "resolution", _("resolution of two entries that disagreed")
        PLENARY_CORRECTION = "plenary_correction", _("correction at the district plenary")
        CORRECTION = "correction", _("correction")

    tally = models.ForeignKey(Tally, verbose_name=_("C1 form"), on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField(_("revision"))
    source = models.CharField(_("source"), max_length=24, choices=Source.choices)
    reason = models.TextField(_("reason"), blank=True, help_text=_("Why this reading replaces the one before."))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("entered by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)
    # Set when the row is made, never after: a verified second entry, a resolution or a correction.
    published = models.BooleanField(_("published"), default=False)
    verifies = models.ForeignKey(
        "self",
        verbose_name=_("verifies the entry"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    scan_digests = models.JSONField(
        _("read from the scans"), default=list, blank=True, help_text=_("SHA-256 of each scan page read.")
    )
    digest = models.CharField(_("SHA-256 of this reading"), max_length=64, blank=True)
    previous_digest = models.CharField(_("SHA-256 of the reading before"), max_length=64, blank=True)

    objects = TallyRevisionQuerySet.as_manager()

    disabled_registered_men = _count(_("voters with disabilities, registered: men"))
    disabled_registered_women = _count(_("voters with disabilities, registered: women"))
    disabled_registered_total = _count(_("voters with disabilities, registered: total"))
    disabled_voted_men = _count(_("voters with disabilities who voted: men"))
    disabled_voted_women = _count(_("voters with disabilities who voted: women"))
    disabled_voted_total = _count(_("voters with disabilities who voted: total"))

    ballots_received = _count(_("ballots received"), _("“Jumlah surat suara yang diterima”, reserve included."))
    ballots_spoiled = _count(
        _("ballots returned spoiled or mis-marked"),
        _("“Jumlah surat suara yang dikembalikan oleh pemilih karena rusak/keliru coblos”."),
    )
    ballots_unused = _count(_("ballots unused"), _("“Jumlah surat suara yang tidak digunakan”."))
    ballots_used = _count(_("ballots used"), _("“Jumlah surat suara yang digunakan”."))

    valid_votes = _count(_("valid votes (suara sah)"))
    invalid_votes = _count(_("invalid votes (suara tidak sah)"))
    total_votes = _count(_("total votes"), _("“Jumlah suara sah dan tidak sah”."))

    class Meta:
        verbose_name = _("C1 reading")
        verbose_name_plural = _("C1 readings")
        ordering = ["tally", "number"]
        constraints = [
            models.UniqueConstraint(fields=["tally", "number"], name="revision_number_unique_per_form"),
        ]

    def __str__(self):
        return f"{self.tally} · rev. {self.number}"

    def numbers(self):
        return C1Numbers(
            voter_rows=tuple(
                VoterRow(
                    count.voter_list,
                    Split(count.registered_men, count.registered_women, count.registered_total),
                    Split(count.voted_men, count.voted_women, count.voted_total),
                )
                for count in self.voter_counts.all()
            ),
            disabled_registered=Split(
                self.disabled_registered_men, self.disabled_registered_women, self.disabled_registered_total
            ),
            disabled_voted=Split(self.disabled_voted_men, self.disabled_voted_women, self.disabled_voted_total),
            ballots_received=self.ballots_received,
            ballots_spoiled=self.ballots_spoiled,
            ballots_unused=self.ballots_unused,
            ballots_used=self.ballots_used,
            candidate_votes={row.candidate.ballot_number: row.votes for row in self.candidate_votes.all()},
            valid_votes=self.valid_votes,
            invalid_votes=self.invalid_votes,
            total_votes=self.total_votes,
        )

    def failures(self):
        contest = self.tally.contest
        return c1_failures(
            self.numbers(),
            max_voters_per_station=contest.election.max_voters_per_station,
            reserve_share=contest.reserve_share,
        )


class VoterCount(models.Model):
    """One voter list's row on the form: registered and who voted, men / women / total."""

    revision = models.ForeignKey(
        TallyRevision, verbose_name=_("C1 reading"), on_delete=models.CASCADE, related_name="voter_counts"
    )
    voter_list = models.CharField(_("voter list"), max_length=8, choices=VoterList.choices)
    registered_men = _count(_("registered: men"))
    registered_women = _count(_("registered: women"))
    registered_total = _count(_("registered: total"))
    voted_men = _count(_("voted: men"))
    voted_women = _count(_("voted: women"))
    voted_total = _count(_("voted: total"))

    class Meta:
        verbose_name = _("voter count")
        verbose_name_plural = _("voter counts")
        constraints = [
            models.UniqueConstraint(fields=["revision", "voter_list"], name="one_row_per_voter_list"),
        ]


class CandidateVotes(models.Model):
    revision = models.ForeignKey(
        TallyRevision, verbose_name=_("C1 reading"), on_delete=models.CASCADE, related_name="candidate_votes"
    )
    candidate = models.ForeignKey(Candidate, verbose_name=_("candidate pair"), on_delete=models.PROTECT)
    votes = _count(_("votes"))

    class Meta:
        verbose_name = _("candidate votes")
        verbose_name_plural = _("candidate votes")
        constraints = [
            models.UniqueConstraint(fields=["revision", "candidate"], name="one_count_per_candidate"),
        ]
