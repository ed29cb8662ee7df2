from django.contrib import admin
from django.db import models
from django.db.models import Count
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from .admin_base import AppendOnlyAdmin, RegencyFilter, RegionScopedAdmin
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


class ReadOnlyInline(admin.TabularInline):
    """The rows of a reading: written with it by the tally service, never edited."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class VoterCountInline(ReadOnlyInline):
    model = VoterCount


class CandidateVotesInline(ReadOnlyInline):
    model = CandidateVotes


@admin.register(TallyRevision)
class TallyRevisionAdmin(AppendOnlyAdmin, RegionScopedAdmin):
    """Readings as they were written: a correction is a new reading, the one before stays as it was.

    Readings are written only by the tally services (results/services.py),
    never through this page, so that the revision, its rows, its digest and
    the totals above it always go together.
    """

    region_code_path = "tally__station__code"
    list_display = ["tally", "number", "source", "entered_by", "created_at"]
    list_filter = ["source", RegencyFilter]
    list_select_related = ["tally__station", "tally__contest__election", "entered_by"]
    search_fields = ["tally__station__code"]
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

    def has_add_permission(self, request):
        return False


@admin.register(Officer)
class OfficerAdmin(RegionScopedAdmin):
    region_code_path = "region__code"
    list_display = ["user", "region"]
    list_select_related = ["user", "region"]
    search_fields = ["user__username", "region__code", "region__name"]
    autocomplete_fields = ["user", "region"]
