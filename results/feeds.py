"""An Atom feed of the readings published in a contest, or in one region of it: who changed what, as it happens.

Journalists follow a contest (or their regency) in a feed reader instead of
reloading pages: every published reading is an entry, corrections included,
with the numbers, the reason, and the digest anyone can check.
"""

from django.contrib.syndication.views import Feed
from django.db.models import Prefetch
from django.http import Http404
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.feedgenerator import Atom1Feed
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from . import codes, selectors
from .models import CandidateVotes, PollingStation, Region, TallyRevision, subtree_q

# Entries per feed: enough for a reader polling every few minutes on election night.
FEED_LENGTH = 50


def _feed_code(raw):
    """The dotted region or TPS code of the URL, either spelling; 404 for anything else."""
    try:
        return codes.normalize_station_code(raw)
    except codes.CodeError:
        pass
    try:
        return codes.normalize_region_code(raw)
    except codes.CodeError as bad:
        raise Http404(str(bad)) from bad


def _count(value):
    return number_format(value, force_grouping=True)


class ContestFeed(Feed):
    """Published readings of a contest's forms, newest first; under /<code>/feed/ only those of that region or TPS."""

    feed_type = Atom1Feed

    def __call__(self, request, *args, **kwargs):
        response = super().__call__(request, *args, **kwargs)
        # Like the pages: shared caches may keep it a minute, never longer.
        patch_cache_control(response, public=True, max_age=60)
        return response

    def get_object(self, request, election, contest, code=None):
        found = selectors.contest_get(election_slug=election, contest_slug=contest)
        if code is None:
            return found, found.area_code, found.name
        code = _feed_code(code)
        if not found.covers(code):
            raise Http404("region outside the contest's area")
        if codes.region_level(code) > codes.VILLAGE:
            place = PollingStation.objects.filter(code=code).values_list("code", flat=True).first()
            name = f"TPS {place}" if place else None
        else:
            name = Region.objects.filter(code=code).values_list("name", flat=True).first()
        if name is None:
            raise Http404("no such region")
        return found, code, name

    def title(self, obj):
        contest, code, name = obj
        if code == contest.area_code:
            return _("%(contest)s: published C1 readings") % {"contest": contest.name}
        return _("%(contest)s · %(region)s: published C1 readings") % {"contest": contest.name, "region": name}

    def subtitle(self, obj):
        return _("Every reading published after double entry, corrections included, newest first.")

    def link(self, obj):
        contest, code, _name = obj
        kwargs = {"election": contest.election.slug, "contest": contest.slug}
        if code and code != contest.area_code:
            kwargs["code"] = code
        return reverse("results:region", kwargs=kwargs)

    def items(self, obj):
        contest, code, _name = obj
        readings = TallyRevision.objects.published().filter(tally__contest=contest)
        if code:  # "" is the whole country of a nationwide contest: every form of it
            readings = readings.filter(subtree_q(code, path="tally__station__code"))
        votes = CandidateVotes.objects.select_related("candidate").order_by("candidate__ballot_number")
        return (
            readings.select_related("tally__station", "tally__contest__election")
            .prefetch_related(Prefetch("candidate_votes", queryset=votes))
            .order_by("-created_at", "-pk")[:FEED_LENGTH]
        )

    def item_title(self, item):
        return _("TPS %(code)s · revision %(number)s · %(source)s") % {
            "code": item.tally.station.code,
            "number": item.number,
            "source": item.get_source_display(),
        }

    def item_link(self, item):
        contest = item.tally.contest
        return reverse(
            "results:region",
            kwargs={"election": contest.election.slug, "contest": contest.slug, "code": item.tally.station.code},
        )

    def item_description(self, item):
        pairs = format_html_join(
            "",
            "<li>{}. {}: {}</li>",
            (
                (row.candidate.ballot_number, row.candidate.name, _count(row.votes))
                for row in item.candidate_votes.all()
            ),
        )
        totals = _("Valid votes: %(valid)s · invalid: %(invalid)s · total: %(total)s") % {
            "valid": _count(item.valid_votes),
            "invalid": _count(item.invalid_votes),
            "total": _count(item.total_votes),
        }
        reason = format_html("<p>{}</p>", _("Reason: %(reason)s") % {"reason": item.reason}) if item.reason else ""
        digest = _("SHA-256 of this reading: %(digest)s") % {"digest": item.digest}
        return format_html("<ul>{}</ul><p>{}</p>{}<p>{}</p>", pairs, totals, reason, digest)

    def item_pubdate(self, item):
        return item.created_at

    def item_updateddate(self, item):
        # Readings are append-only: an entry never changes after it is published.
        return item.created_at

    def item_guid(self, item):
        # The digest names the reading for good, whatever host or language the feed is read in.
        return f"urn:sha256:{item.digest}"

    def item_guid_is_permalink(self, item):
        return False
