"""Admin base classes that every app's region-bound admin shares: scoping to the officer's region."""

import logging

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.template.response import TemplateResponse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from . import codes
from .access import regions_visible_to, scope_q, stations_visible_to, tallies_visible_to, user_sees_everything
from .models import PollingStation, Region, Tally, subtree_q

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
            return queryset.filter(subtree_q(self.value(), self.model_admin.region_code_path))
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
        """Raise OutsideRegion if the row exists beyond the user's scope; return if it does not exist.

        Also return for a row inside the scope that get_queryset hides for
        another reason (a first entry waiting for its blind second entry).
        """
        if user_sees_everything(request.user):
            return
        field = self.opts.pk if from_field is None else self.opts.get_field(from_field)
        try:
            value = field.to_python(object_id)
        except ValidationError:
            return
        # The default manager, not get_queryset: this lookup must see past the scope.
        outside = (
            self.model._default_manager.filter(**{field.name: value})
            .exclude(scope_q(request.user, self.region_code_path))
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
            return queryset.filter(subtree_q(code, self.region_code_path)), False
        return super().get_search_results(request, queryset, search_term)
