from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from uploads.models import Scan

from .admin_base import AppendOnlyAdmin, RegencyFilter, RegionScopedAdmin
from .arithmetic import c1_failures
from .forms import CORRECTION, ENTRY, LIVE_RULES, RESOLUTION, STAGES, C1EntryForm, reading_values
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
from .services import TallyRefused, tally_correct, tally_enter, tally_resolve


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
    prepopulated_fields = {"slug": ["name"]}
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


def blind_q(user):
    """Hides a first entry still waiting for its second from everyone but the officer who made it.

    The second entry is blind: whoever makes it must not find the first one's
    numbers anywhere in the admin.
    """
    return Q(tally__state=Tally.State.AWAITING_SECOND, published=False) & ~Q(entered_by=user)


class TallyRevisionInline(admin.TabularInline):
    model = TallyRevision
    fields = ["number", "source", "reason", "entered_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(blind_q(request.user))


def _ready_scans(tally):
    """The form's pages an officer can read: ingested, in page order."""
    return list(tally.scans.filter(status=Scan.Status.READY).order_by("page", "uploaded_at", "pk"))


def _entry_stage(tally, user):
    """What `user` does on the form's entry page now: one of the form's stages, or why they have none.

    "entered": they made the first entry and wait for a different officer;
    "entrant": they made one of two entries that disagree, which a third person resolves.
    """
    if tally.state == Tally.State.PUBLISHED:
        return CORRECTION
    if tally.state == Tally.State.CONFLICT:
        entrants = {tally.pending_entry.entered_by_id, tally.conflicting_entry.entered_by_id}
        return "entrant" if user.pk in entrants else RESOLUTION
    if tally.pending_entry is not None and tally.pending_entry.entered_by_id == user.pk:
        return "entered"
    return ENTRY


# The link to the entry page, named for what it does in each state.
ENTRY_LINKS = {
    Tally.State.EMPTY: _("Enter the numbers"),
    Tally.State.AWAITING_SECOND: _("Enter the numbers"),
    Tally.State.CONFLICT: _("Resolve the two entries"),
    Tally.State.PUBLISHED: _("Correct the numbers"),
}


@admin.register(Tally)
class TallyAdmin(RegionScopedAdmin):
    """C1 forms. Their numbers are entered on the entry page beside the scan, through the tally services only."""

    region_code_path = "station__code"
    list_display = ["station", "state", "contest", "revision_count", "created_at"]
    list_filter = ["state", "contest", RegencyFilter]
    list_select_related = ["station__village", "contest"]
    search_fields = ["station__code", "station__village__name"]
    autocomplete_fields = ["station"]
    inlines = [TallyRevisionInline]
    show_full_result_count = False
    # Where the form stands and what was read from it move only in the tally
    # services; the change page shows them and never writes them.
    shown_fields = ["contest", "station", "state", "published_reading", "published_checks"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(revision_count=Count("revisions"))

    @admin.display(description=_("readings"), ordering="revision_count")
    def revision_count(self, tally):
        return tally.revision_count

    @admin.display(description=_("numbers"))
    def entry_link(self, tally):
        url = reverse("admin:results_tally_enter", args=[tally.pk])
        return format_html('<a href="{}">{}</a>', url, ENTRY_LINKS[Tally.State(tally.state)])

    @admin.display(description=_("published reading"))
    def published_reading(self, tally):
        revision = tally.current_revision
        if revision is None:
            return _("None yet: the form is published when two entries agree.")
        return format_html(
            "{} · {} · SHA-256 <code>{}</code>",
            _("revision %(number)s") % {"number": revision.number},
            revision.get_source_display(),
            revision.digest,
        )

    @admin.display(description=_("arithmetic checks"))
    def published_checks(self, tally):
        if tally.current_revision is None:
            return "-"
        failures = tally.current_revision.failures()
        if not failures:
            return _("All rules hold.")
        return format_html_join("", "<p>{}</p>", ((failure.message,) for failure in failures))

    def get_list_display(self, request):
        if self._may_enter(request):
            # Beside the state it acts on, in view without scrolling sideways.
            return ["station", "state", "entry_link", "contest", "revision_count", "created_at"]
        return self.list_display

    def get_fields(self, request, obj=None):
        return ["contest", "station"] if obj is None else self.shown_fields

    def get_readonly_fields(self, request, obj=None):
        # A new form names its contest and TPS; after that nothing on it is edited here.
        return [] if obj is None else self.shown_fields

    def save_model(self, request, obj, form, change):
        # Saving an existing row would write back a state the services may have moved meanwhile.
        if not change:
            super().save_model(request, obj, form, change)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # Nothing on an existing form is edited here: no save buttons.
            context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
            if self._may_enter(request):
                context["entry_url"] = reverse("admin:results_tally_enter", args=[obj.pk])
                context["entry_label"] = ENTRY_LINKS[Tally.State(obj.state)]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        return [
            path("<path:object_id>/enter/", self.admin_site.admin_view(self.entry_view), name="results_tally_enter"),
            *super().get_urls(),
        ]

    def _may_enter(self, request):
        # TallyRevisionAdmin refuses "add" to everyone: readings are added here, through the services.
        return request.user.has_perm("results.add_tallyrevision")

    def entry_view(self, request, object_id):
        return self._answer_outside_region(self._entry, request, object_id)

    def _entry(self, request, object_id):
        if not self._may_enter(request):
            raise PermissionDenied
        tally = self.get_object(request, object_id)
        if tally is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        scans = _ready_scans(tally)
        stage = _entry_stage(tally, request.user)
        refused = None
        form = None
        if request.method == "POST":
            posted = request.POST.get("stage")
            if posted in STAGES:
                form = C1EntryForm(request.POST, tally=tally, stage=posted, scans=scans)
                if form.is_valid():
                    try:
                        return self._entry_save(request, tally, posted, form)
                    except TallyRefused as refusal:
                        refused = refusal.message
                        tally = self.get_object(request, object_id)
                        stage = _entry_stage(tally, request.user)
                if posted != stage:
                    # The form moved on while this officer typed: what they typed was for a page that is gone.
                    refused = refused or _(
                        "While you were typing, this form moved on: it is now “%(state)s”. Nothing was saved."
                    ) % {"state": tally.get_state_display()}
                    form = None
        references = self._entry_references(tally, stage)
        if form is None and stage in STAGES:
            initial = self._entry_initial(stage, references)
            form = C1EntryForm(tally=tally, stage=stage, scans=scans, references=references, initial=initial)
        elif form is not None:
            form.references = references
        context = {
            **self.admin_site.each_context(request),
            "title": _("C1 form %(tps)s · %(contest)s") % {"tps": tally.station.code, "contest": tally.contest},
            "opts": self.opts,
            "tally": tally,
            "stage": stage,
            "form": form,
            "scans": scans,
            "refused": refused,
            "live_rules": LIVE_RULES,
            "upload_url": reverse("admin:uploads_scan_upload"),
            "media": self.media + forms.Media(css={"all": ["results/entry.css"]}, js=["results/entry.js"]),
        }
        return TemplateResponse(request, "admin/results/tally/entry.html", context)

    @staticmethod
    def _entry_references(tally, stage):
        """Readings shown beside each field: both entries to the person who resolves, the published one to correct.

        Never a first entry on a blind entry's page: the second officer reads the scan, not the first reading.
        """
        if stage == RESOLUTION:
            return [
                (_("entry 1"), reading_values(tally.pending_entry.numbers())),
                (_("entry 2"), reading_values(tally.conflicting_entry.numbers())),
            ]
        if stage == CORRECTION:
            return [(_("published"), reading_values(tally.current_revision.numbers()))]
        return []

    @staticmethod
    def _entry_initial(stage, references):
        if stage == RESOLUTION:
            # What both entries agree on is filled in; each field they disagree on is typed from the scan.
            (_first, first), (_second, second) = references
            return {name: value for name, value in first.items() if second.get(name) == value}
        if stage == CORRECTION:
            return dict(references[0][1])
        return {}

    def _entry_save(self, request, tally, stage, form):
        """Call the one service the stage asks for; tell the officer what became of the form."""
        numbers, scan_digests = form.numbers(), form.scan_digests()
        if stage == ENTRY:
            revision = tally_enter(tally=tally, numbers=numbers, entered_by=request.user, scan_digests=scan_digests)
            if revision.published:
                messages.success(request, _("Both entries agree: the form is verified and published."))
            elif revision.source == TallyRevision.Source.OFFICER_ENTRY:
                messages.success(
                    request, _("The entry is saved. It waits for a second officer to enter the same form.")
                )
            else:
                messages.warning(
                    request,
                    _("Your entry is saved, but it differs from the first one: a third person resolves the form."),
                )
        elif stage == RESOLUTION:
            tally_resolve(
                tally=tally,
                numbers=numbers,
                resolved_by=request.user,
                reason=form.cleaned_data["reason"],
                scan_digests=scan_digests,
            )
            messages.success(request, _("The two entries are resolved and the form is published."))
        else:
            tally_correct(
                tally=tally,
                numbers=numbers,
                entered_by=request.user,
                reason=form.cleaned_data["reason"],
                plenary=form.cleaned_data["plenary"],
                scan_digests=scan_digests,
            )
            messages.success(request, _("The correction is published; the reading before it stays public."))
        contest = tally.contest
        failures = c1_failures(
            numbers,
            max_voters_per_station=contest.election.max_voters_per_station,
            reserve_share=contest.reserve_share,
        )
        if failures:
            messages.warning(request, _("The numbers saved break these rules; they stay flagged:"))
        for failure in failures:
            messages.warning(request, failure.message)
        return redirect("admin:results_tally_change", tally.pk)


class ReadOnlyInline(admin.TabularInline):
    """The rows of a reading: written with it by the tally service, never edited."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Part of the reading: whoever may view the reading sees its rows.
        return request.user.has_perm("results.view_tallyrevision")


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

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(blind_q(request.user))

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
