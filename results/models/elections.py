"""Elections, their contests and the candidate pairs."""

from decimal import Decimal

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .regions import PollingStation, Region


class VoterList(models.TextChoices):
    """Voter lists on a C1 form. Which ones a form has depends on the election kind."""

    DPT = "dpt", _("DPT (permanent voter list)")
    DPTB = "dptb", _("DPTb (additional voter list)")
    DPK = "dpk", _("DPK (special list: e-KTP only)")
    DPPH = "dpph", _("DPPh (voters moved in)")


class Election(models.Model):
    class Kind(models.TextChoices):
        GENERAL = "general", _("general election (Pemilu)")
        PILKADA = "pilkada", _("regional head election (Pilkada)")

    # In a general election DPTb are voters moved in and DPK vote with an
    # e-KTP only; in Pilkada DPPh are the movers and DPTb the e-KTP voters.
    VOTER_LISTS = {
        Kind.GENERAL: (VoterList.DPT, VoterList.DPTB, VoterList.DPK),
        Kind.PILKADA: (VoterList.DPT, VoterList.DPPH, VoterList.DPTB),
    }
    # Reserve ballots a TPS receives on top of its DPT.
    RESERVE_SHARES = {Kind.GENERAL: Decimal("2.0"), Kind.PILKADA: Decimal("2.5")}

    name = models.CharField(_("name"), max_length=120, help_text=_("“Pilkada Serentak 2018”."))
    slug = models.SlugField(_("slug"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    date = models.DateField(_("voting day"))
    max_voters_per_station = models.PositiveIntegerField(
        _("most voters per TPS"),
        help_text=_("300 in the 2024 general election, 600 in Pilkada 2024, 800 in Pilkada 2018."),
    )

    class Meta:
        verbose_name = _("election")
        verbose_name_plural = _("elections")
        ordering = ["-date", "name"]

    def __str__(self):
        return self.name

    @property
    def voter_lists(self):
        return self.VOTER_LISTS[self.Kind(self.kind)]


class Contest(models.Model):
    """One race on one ballot, e.g. the governor of Kalimantan Barat."""

    class Office(models.TextChoices):
        PRESIDENT = "president", _("president and vice-president")
        GOVERNOR = "governor", _("governor and vice-governor")
        REGENT = "regent", _("regent and vice-regent (bupati)")
        MAYOR = "mayor", _("mayor and vice-mayor (wali kota)")

    class Scope(models.TextChoices):
        # A nationwide race covers every province and voters abroad (99);
        # it is a scope of its own, not a missing region.
        NATIONAL = "national", _("whole country, abroad included")
        REGIONAL = "regional", _("one region")

    election = models.ForeignKey(
        Election, verbose_name=_("election"), on_delete=models.PROTECT, related_name="contests"
    )
    name = models.CharField(_("name"), max_length=160, help_text=_("“Gubernur Kalimantan Barat 2018”."))
    # Part of every public permalink: /<election>/<contest>/<region code>/.
    slug = models.SlugField(_("slug"), help_text=_("“gubernur-kalbar”: the contest's part of its public address."))
    office = models.CharField(_("office"), max_length=16, choices=Office.choices)
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices, default=Scope.REGIONAL)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contests",
        help_text=_("The province for a governor, the regency or city for a regent or mayor."),
    )
    reserve_share = models.DecimalField(
        _("reserve ballots (%)"),
        max_digits=4,
        decimal_places=2,
        help_text=_("Ballots on top of the DPT: 2 in general elections, 2.5 in Pilkada."),
    )

    class Meta:
        verbose_name = _("contest")
        verbose_name_plural = _("contests")
        ordering = ["election", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="national", region__isnull=True) | Q(scope="regional", region__isnull=False),
                name="contest_region_matches_scope",
            ),
            models.UniqueConstraint(fields=["election", "slug"], name="contest_slug_unique_per_election"),
        ]

    def __str__(self):
        return self.name

    @property
    def area_code(self):
        """The code of the contest's whole area: its region, or the whole country's empty code."""
        return "" if self.scope == self.Scope.NATIONAL else self.region.code

    def covers(self, code):
        """Whether a TPS or region code lies in the contest's area."""
        return self.scope == self.Scope.NATIONAL or code == self.region.code or code.startswith(f"{self.region.code}.")

    def stations(self):
        if self.scope == self.Scope.NATIONAL:
            return PollingStation.objects.all()
        return PollingStation.objects.in_region(self.region.code)


class Candidate(models.Model):
    """A candidate pair (pasangan calon) with its ballot number."""

    contest = models.ForeignKey(Contest, verbose_name=_("contest"), on_delete=models.PROTECT, related_name="candidates")
    ballot_number = models.PositiveSmallIntegerField(_("ballot number"))
    name = models.CharField(_("candidate"), max_length=120)
    running_mate = models.CharField(_("running mate"), max_length=120, blank=True)
    colour = models.CharField(
        _("chart colour"),
        max_length=7,
        default="#666666",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour such as #1f77b4."))],
    )

    class Meta:
        verbose_name = _("candidate pair")
        verbose_name_plural = _("candidate pairs")
        ordering = ["contest", "ballot_number"]
        constraints = [
            models.UniqueConstraint(fields=["contest", "ballot_number"], name="candidate_ballot_number_unique"),
        ]

    def __str__(self):
        pair = f"{self.name} – {self.running_mate}" if self.running_mate else self.name
        return f"{self.ballot_number}. {pair}"
