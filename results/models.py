"""The region ladder, polling stations, elections and the C1 form with its readings."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import codes
from .arithmetic import C1Numbers, Split, VoterRow, c1_failures


class RegionQuerySet(models.QuerySet):
    def subtree(self, code):
        """The region and everything below it: its code or its code followed by a dot."""
        # The trailing dot matters: 61.7 must not match 61.71's sibling 61.72.
        return self.filter(Q(code=code) | Q(code__startswith=f"{code}."))

    def ancestors_of(self, code):
        return self.filter(code__in=codes.ancestor_codes(code)).order_by("level")


class RegionManager(models.Manager.from_queryset(RegionQuerySet)):
    def get_by_natural_key(self, code):
        return self.get(code=codes.normalize_region_code(code))


class Region(models.Model):
    """A province, regency/city, district or village, keyed by its Kemendagri code."""

    class Level(models.IntegerChoices):
        PROVINCE = codes.PROVINCE, _("province")
        REGENCY = codes.REGENCY, _("regency/city")
        DISTRICT = codes.DISTRICT, _("district")
        VILLAGE = codes.VILLAGE, _("village")

    code = models.CharField(
        _("code"),
        max_length=13,
        unique=True,
        help_text=_("Kemendagri code, dotted: “61.71.06.1001”."),
    )
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    # Redundant with the code's prefix, kept for the admin and for joins.
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )

    objects = RegionManager()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        # Subtree queries (LIKE '61.71.%') use the varchar_pattern_ops
        # "_like" index Django adds beside a unique CharField on PostgreSQL.
        indexes = [models.Index(fields=["level", "code"], name="region_level_code")]
        constraints = [
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=4), name="region_level_known"),
            models.CheckConstraint(
                condition=Q(level=1, parent__isnull=True) | Q(level__gt=1, parent__isnull=False),
                name="region_parent_unless_province",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def natural_key(self):
        return (self.code,)

    @property
    def parent_code(self):
        return codes.parent_code(self.code)

    @property
    def undotted_code(self):
        return self.code.replace(".", "")

    @property
    def kind(self):
        """What Indonesians call this region: kabupaten or kota, kelurahan or desa."""
        last = self.code.rsplit(".", 1)[-1]
        if self.level == self.Level.REGENCY:
            # Regencies are numbered 01-69, cities 71-99.
            return _("city") if int(last) >= 71 else _("regency")
        if self.level == self.Level.VILLAGE:
            return _("urban village (kelurahan)") if last.startswith("1") else _("village (desa)")
        return self.get_level_display()


class PollingStationQuerySet(models.QuerySet):
    def in_region(self, code):
        return self.filter(code__startswith=f"{code}.")


class PollingStation(models.Model):
    """A TPS: where one C1 form per contest is filled in."""

    code = models.CharField(
        _("code"),
        max_length=17,
        unique=True,
        help_text=_("Village code and TPS number: “61.71.06.1001.001”."),
    )
    village = models.ForeignKey(
        Region,
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="stations",
        limit_choices_to={"level": Region.Level.VILLAGE},
    )
    number = models.PositiveSmallIntegerField(
        _("TPS number"), validators=[MinValueValidator(1), MaxValueValidator(999)]
    )
    dpt = models.PositiveIntegerField(
        _("registered voters (DPT)"), help_text=_("“Jumlah pemilih dalam DPT” for this TPS.")
    )

    objects = PollingStationQuerySet.as_manager()

    class Meta:
        verbose_name = _("polling station (TPS)")
        verbose_name_plural = _("polling stations (TPS)")
        ordering = ["code"]
        # Prefix queries use the "_like" index Django adds for a unique CharField.
        constraints = [
            models.UniqueConstraint(fields=["village", "number"], name="station_number_unique_in_village"),
        ]

    def __str__(self):
        return f"TPS {self.number:03d} {self.village.name} ({self.code})"

    def natural_key(self):
        return (self.code,)

    @property
    def undotted_code(self):
        return self.code.replace(".", "")


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
        ]

    def __str__(self):
        return self.name

    def covers(self, station_code):
        return self.scope == self.Scope.NATIONAL or station_code.startswith(f"{self.region.code}.")

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


class Tally(models.Model):
    """The C1 form of one contest at one TPS: its scans and its readings."""

    contest = models.ForeignKey(Contest, verbose_name=_("contest"), on_delete=models.PROTECT, related_name="tallies")
    station = models.ForeignKey(PollingStation, verbose_name=_("TPS"), on_delete=models.PROTECT, related_name="tallies")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("C1 form")
        verbose_name_plural = _("C1 forms")
        ordering = ["contest", "station__code"]
        constraints = [
            models.UniqueConstraint(fields=["contest", "station"], name="one_form_per_contest_and_station"),
        ]

    def __str__(self):
        return f"{self.station.code} · {self.contest}"


def _count(verbose_name, help_text=""):
    # PositiveIntegerField: no negative count ever reaches the database.
    return models.PositiveIntegerField(verbose_name, help_text=help_text)


class TallyRevision(models.Model):
    """One reading of a C1 form. Append-only: a correction is a new revision."""

    class Source(models.TextChoices):
        OFFICER_ENTRY = "officer_entry", _("officer's entry")
        SECOND_ENTRY = "second_entry", _("second officer's entry")
        PLENARY_CORRECTION = "plenary_correction", _("correction at the district plenary")

    tally = models.ForeignKey(Tally, verbose_name=_("C1 form"), on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField(_("revision"))
    source = models.CharField(_("source"), max_length=24, choices=Source.choices)
    reason = models.TextField(_("reason"), blank=True, help_text=_("Why this reading replaces the one before."))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("entered by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)

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


class Officer(models.Model):
    """A district officer's account and the one region it may work in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="officer"
    )
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="officers")

    class Meta:
        verbose_name = _("officer")
        verbose_name_plural = _("officers")

    def __str__(self):
        return f"{self.user} · {self.region}"
