import logging

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count, F, Q
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from . import codes
from .models import (
    Candidate,
    CandidateVotes,
    Contest,
    Election,
    Officer,
    PollingStation,
    Region,
    Tally,
    TallyRevision,
    VoterCount,
)
from .selectors import regions_visible_to, scope_q, stations_visible_to, tallies_visible_to
from .services import tally_revision_add

security_log = logging.getLogger("kpuportal.security")


class RegencyFilter(admin.SimpleListFilter):
    """Filter any region-bound list by regency/city, within what the user may see."""

    title = _("regency/city")
    parameter_name = "regency"

    def lookups(self, request, model_admin):
        regencies = regions_visible_to(request.user).filter(level=Region.Level.REGENCY)
        return [(region.code, f"{region.code} {region.name}") for region in regencies]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{f"{self.model_admin.region_code_path}__startswith": f"{self.value()}."})
        return queryset

    def __init__(self, request, params, model, model_admin):
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)


class AppendOnlyAdmin(admin.ModelAdmin):
    """Rows that are evidence: they can be added and viewed, never changed or deleted."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OutsideRegion(PermissionDenied):
    """An existing row of another region: refused with a reason the officer can read."""


class RegionScopedAdmin(admin.ModelAdmin):
    """Officers see, choose and search only rows inside their own region.

    Every admin URL (list, change, autocomplete) goes through get_queryset, so
    another region's row is never a form they can post to. Opening one by its
    URL is refused (403) and logged; a row that does not exist at all keeps
    Django's "does not exist" message.
    """

    region_code_path = "code"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(scope_q(request.user, self.region_code_path))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            self._refuse_outside_region(request, object_id, from_field)
        return obj

    def _refuse_outside_region(self, request, object_id, from_field):
        """Raise OutsideRegion if the row exists beyond the user's scope; return if it does not exist."""
        field = self.opts.pk if from_field is None else self.opts.get_field(from_field)
        try:
            value = field.to_python(object_id)
        except ValidationError:
            return
        # The default manager, not get_queryset: this lookup must see past the scope.
        outside = (
            self.model._default_manager.filter(**{field.name: value})
            .annotate(scope_code=F(self.region_code_path))
            .first()
        )
        if outside is None:
            return
        security_log.warning(
            "refused: user %s opened %s %s (%s) of region %s outside their region",
            request.user.username,
            self.opts.label,
            outside.pk,
            outside,
            outside.scope_code,
        )
        # The message names the kind of row only: nothing of the other region's data.
        raise OutsideRegion(capfirst(_("This %(model)s is outside your region.") % {"model": self.opts.verbose_name}))

    def _answer_outside_region(self, view, request, *args, **kwargs):
        """Django's 403 page shows no reason; the officer gets an admin page saying why."""
        try:
            return view(request, *args, **kwargs)
        except OutsideRegion as refused:
            context = {**self.admin_site.each_context(request), "title": str(refused)}
            return TemplateResponse(request, "admin/base_site.html", context, status=403)

    def changeform_view(self, request, *args, **kwargs):
        return self._answer_outside_region(super().changeform_view, request, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        return self._answer_outside_region(super().delete_view, request, *args, **kwargs)

    def history_view(self, request, *args, **kwargs):
        return self._answer_outside_region(super().history_view, request, *args, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        visible = {
            Region: regions_visible_to,
            PollingStation: stations_visible_to,
            Tally: tallies_visible_to,
        }.get(db_field.related_model)
        if visible:
            kwargs["queryset"] = visible(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_search_results(self, request, queryset, search_term):
        """A code in either spelling (61.71.06 or 617106) finds its whole subtree."""
        term = search_term.strip()
        for normalize in (codes.normalize_station_code, codes.normalize_region_code):
            try:
                code = normalize(term)
            except codes.CodeError:
                continue
            path = self.region_code_path
            return queryset.filter(Q(**{path: code}) | Q(**{f"{path}__startswith": f"{code}."})), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Region)
class RegionAdmin(RegionScopedAdmin):
    list_display = ["code", "name", "level", "kind", "parent"]
    list_filter = ["level", RegencyFilter]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    show_full_result_count = False

    @admin.display(description=_("kind"))
    def kind(self, region):
        return region.kind


@admin.register(PollingStation)
class PollingStationAdmin(RegionScopedAdmin):
    list_display = ["code", "number", "village", "dpt"]
    list_filter = [RegencyFilter]
    search_fields = ["code", "village__name"]
    list_select_related = ["village"]
    autocomplete_fields = ["village"]
    show_full_result_count = False


class CandidateInline(admin.TabularInline):
    model = Candidate
    extra = 0


@admin.register(Election)
class ElectionAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "date", "max_voters_per_station"]
    list_filter = ["kind"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Contest)
class ContestAdmin(admin.ModelAdmin):
    list_display = ["name", "election", "office", "scope", "region", "reserve_share"]
    list_filter = ["election", "office", "scope"]
    list_select_related = ["election", "region"]
    search_fields = ["name", "region__name", "region__code"]
    autocomplete_fields = ["region"]
    inlines = [CandidateInline]
    # The list shows 2,50 in Indonesian; the form must show and accept the same,
    # not the 2.50 of a browser's number input.
    formfield_overrides = {models.DecimalField: {"localize": True}}


@admin.register(Candidate)
class CandidateAdmin(admin.ModelAdmin):
    list_display = ["ballot_number", "name", "running_mate", "contest"]
    list_filter = ["contest"]
    list_select_related = ["contest"]
    search_fields = ["name", "running_mate"]


class TallyRevisionInline(admin.TabularInline):
    model = TallyRevision
    fields = ["number", "source", "reason", "entered_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Tally)
class TallyAdmin(RegionScopedAdmin):
    region_code_path = "station__code"
    list_display = ["station", "contest", "revision_count", "created_at"]
    list_filter = ["contest", RegencyFilter]
    list_select_related = ["station__village", "contest"]
    search_fields = ["station__code", "station__village__name"]
    autocomplete_fields = ["station"]
    inlines = [TallyRevisionInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(revision_count=Count("revisions"))

    @admin.display(description=_("readings"), ordering="revision_count")
    def revision_count(self, tally):
        return tally.revision_count


class VoterCountInline(admin.TabularInline):
    model = VoterCount
    extra = 3
    max_num = 3


class CandidateVotesInline(admin.TabularInline):
    model = CandidateVotes
    extra = 3


@admin.register(TallyRevision)
class TallyRevisionAdmin(AppendOnlyAdmin, RegionScopedAdmin):
    """A correction is a new reading; the one before stays as it was."""

    region_code_path = "tally__station__code"
    list_display = ["tally", "number", "source", "entered_by", "created_at"]
    list_filter = ["source", RegencyFilter]
    list_select_related = ["tally__station", "tally__contest__election", "entered_by"]
    search_fields = ["tally__station__code"]
    autocomplete_fields = ["tally"]
    exclude = ["number", "entered_by"]
    readonly_fields = ["arithmetic"]
    inlines = [VoterCountInline, CandidateVotesInline]
    show_full_result_count = False

    @admin.display(description=_("arithmetic checks"))
    def arithmetic(self, revision):
        if revision.pk is None:
            return "-"
        failures = revision.failures()
        if not failures:
            return _("All rules hold.")
        return format_html_join("", "<p>{}</p>", ((failure.message,) for failure in failures))

    def save_model(self, request, obj, form, change):
        tally_revision_add(revision=obj, entered_by=request.user)


@admin.register(Officer)
class OfficerAdmin(RegionScopedAdmin):
    region_code_path = "region__code"
    list_display = ["user", "region"]
    list_select_related = ["user", "region"]
    search_fields = ["user__username", "region__code", "region__name"]
    autocomplete_fields = ["user", "region"]
