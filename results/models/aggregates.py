"""Totals per contest and region, kept up to date at every publish: a page reads one row per region."""

import time

from django.db import models
from django.utils.translation import gettext_lazy as _

from .elections import Candidate, Contest

# The row of a nationwide contest's whole country: no region code is empty.
WHOLE_COUNTRY = ""


def version_now():
    """A data version no page was ever cached under: the clock, in microseconds.

    A version starts here when its row is made and grows by one per publish,
    far slower than the clock, so every version ever handed out is below the
    clock's reading: a restore starts them all again here (versions_restart).
    """
    return time.time_ns() // 1000


class RegionResult(models.Model):
    """One contest's totals in one region, from the village up to the contest's whole area.

    Publishing a reading adds (new - old) here for every ancestor of its TPS
    in the same transaction (results/aggregates.py); verify_integrity
    recomputes them from the TPS and reports any drift.
    """

    contest = models.ForeignKey(Contest, verbose_name=_("contest"), on_delete=models.CASCADE, related_name="+")
    region_code = models.CharField(
        _("region code"), max_length=13, blank=True, help_text=_("Empty: the whole country of a nationwide contest.")
    )
    stations_total = models.PositiveIntegerField(_("TPS in the area"), default=0)
    stations_reported = models.PositiveIntegerField(_("TPS reported"), default=0)
    registered = models.PositiveBigIntegerField(_("registered voters (all lists)"), default=0)
    voters = models.PositiveBigIntegerField(_("voters who used their right"), default=0)
    valid_votes = models.PositiveBigIntegerField(_("valid votes"), default=0)
    invalid_votes = models.PositiveBigIntegerField(_("invalid votes"), default=0)
    total_votes = models.PositiveBigIntegerField(_("total votes"), default=0)
    changed_at = models.DateTimeField(_("last change"), null=True, blank=True)
    # Bumped by every publish under the region, in the publish's transaction:
    # public pages are cached under it, so a page can never outlive its numbers.
    # It starts at version_now(), so even a restore never hands out one a page was cached under.
    version = models.PositiveBigIntegerField(_("data version"), default=version_now)

    class Meta:
        verbose_name = _("region result")
        verbose_name_plural = _("region results")
        constraints = [
            models.UniqueConstraint(fields=["contest", "region_code"], name="one_result_per_contest_and_region")
        ]

    def __str__(self):
        return f"{self.contest} · {self.region_code or '*'}"


class CandidateResult(models.Model):
    """A candidate pair's votes in one region; beside RegionResult, updated with it."""

    contest = models.ForeignKey(Contest, verbose_name=_("contest"), on_delete=models.CASCADE, related_name="+")
    region_code = models.CharField(_("region code"), max_length=13, blank=True)
    candidate = models.ForeignKey(Candidate, verbose_name=_("candidate pair"), on_delete=models.CASCADE)
    votes = models.PositiveBigIntegerField(_("votes"), default=0)

    class Meta:
        verbose_name = _("candidate result")
        verbose_name_plural = _("candidate results")
        constraints = [
            models.UniqueConstraint(
                fields=["contest", "region_code", "candidate"], name="one_result_per_candidate_and_region"
            )
        ]


class ContestHead(models.Model):
    """Append-only log of a contest's head: one digest over every form's current digest, in TPS-code order.

    A head downloaded today proves tomorrow that nothing under it moved.
    """

    contest = models.ForeignKey(Contest, verbose_name=_("contest"), on_delete=models.PROTECT, related_name="heads")
    digest = models.CharField(_("head"), max_length=64)
    forms = models.PositiveIntegerField(_("forms published"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contest head")
        verbose_name_plural = _("contest heads")
        ordering = ["contest", "-recorded_at", "-id"]
        get_latest_by = ["recorded_at", "id"]

    def __str__(self):
        return f"{self.contest} · {self.digest[:12]}"


class IntegrityCheck(models.Model):
    """One periodic run of the integrity check: what it found (nothing, normally)."""

    checked_at = models.DateTimeField(_("checked at"), auto_now_add=True)
    readings = models.PositiveIntegerField(_("readings checked"))
    mismatches = models.JSONField(_("mismatches"), default=list, blank=True)

    class Meta:
        verbose_name = _("integrity check")
        verbose_name_plural = _("integrity checks")
        ordering = ["-checked_at"]

    def __str__(self):
        return f"{self.checked_at:%Y-%m-%d %H:%M} · {len(self.mismatches)}"
