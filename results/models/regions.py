"""The region ladder (province > regency/city > district > village) and the polling stations (TPS)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .. import codes


def subtree_q(code, path="code"):
    """Rows whose region code (at `path`) is `code` or lies below it: the one way to filter a subtree.

    The trailing dot matters: 61.7 must not match 61.71's sibling 61.72. On
    PostgreSQL the prefix match uses the varchar_pattern_ops index Django
    adds for a unique CharField.
    """
    return Q(**{path: code}) | Q(**{f"{path}__startswith": f"{code}."})


class RegionQuerySet(models.QuerySet):
    def subtree(self, code):
        """The region and everything below it."""
        return self.filter(subtree_q(code))

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
        # A TPS code is never a region code, so the subtree is the TPS below it.
        return self.filter(subtree_q(code))


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
