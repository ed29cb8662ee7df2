"""Writes to the results app: C1 readings, officers and their roles."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from . import digests
from .access import AUDITORS, OFFICERS, station_access_require
from .aggregates import contest_results_build, results_apply
from .models import CandidateVotes, ContestHead, Officer, Tally, TallyRevision, VoterCount

# Where a form stands: these move only in the tally services below.
STATE_FIELDS = ["pending_entry", "conflicting_entry", "current_revision", "state"]


class TallyRefused(Exception):
    """A reading that may not be written as asked; `message` says why, in the reader's language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _revision_write(*, tally, numbers, source, entered_by, scan_digests, reason="", published=False, verifies=None):
    """The one place a reading is written: the revision, its rows and its digest, chained to the one before."""
    # The form's row lock serialises numbering and the chain when two officers save at once.
    last = tally.revisions.order_by("-number").first()
    number = last.number + 1 if last else 1
    previous_digest = last.digest if last else ""
    document = digests.reading_document(
        contest_id=tally.contest_id,
        station_code=tally.station.code,
        number=number,
        source=source,
        reason=reason,
        numbers=numbers,
        scan_digests=scan_digests,
        previous_digest=previous_digest,
    )
    revision = TallyRevision.objects.create(
        tally=tally,
        number=number,
        source=source,
        reason=reason,
        entered_by=entered_by,
        published=published,
        verifies=verifies,
        scan_digests=sorted(scan_digests),
        digest=digests.digest(document),
        previous_digest=previous_digest,
        disabled_registered_men=numbers.disabled_registered.men,
        disabled_registered_women=numbers.disabled_registered.women,
        disabled_registered_total=numbers.disabled_registered.total,
        disabled_voted_men=numbers.disabled_voted.men,
        disabled_voted_women=numbers.disabled_voted.women,
        disabled_voted_total=numbers.disabled_voted.total,
        ballots_received=numbers.ballots_received,
        ballots_spoiled=numbers.ballots_spoiled,
        ballots_unused=numbers.ballots_unused,
        ballots_used=numbers.ballots_used,
        valid_votes=numbers.valid_votes,
        invalid_votes=numbers.invalid_votes,
        total_votes=numbers.total_votes,
    )
    VoterCount.objects.bulk_create(
        VoterCount(
            revision=revision,
            voter_list=row.voter_list,
            registered_men=row.registered.men,
            registered_women=row.registered.women,
            registered_total=row.registered.total,
            voted_men=row.voted.men,
            voted_women=row.voted.women,
            voted_total=row.voted.total,
        )
        for row in numbers.voter_rows
    )
    candidates = dict(tally.contest.candidates.values_list("ballot_number", "pk"))
    unknown = set(numbers.candidate_votes) - set(candidates)
    if unknown:
        raise TallyRefused(
            _("No candidate pair has ballot number %(numbers)s in this contest.")
            % {"numbers": ", ".join(str(number) for number in sorted(unknown))}
        )
    CandidateVotes.objects.bulk_create(
        CandidateVotes(revision=revision, candidate_id=candidates[number], votes=votes)
        for number, votes in numbers.candidate_votes.items()
    )
    return revision


def _publish(tally, revision, numbers):
    """Make `revision` (whose numbers are `numbers`) the form's published reading; move every ancestor's totals."""
    contest_results_build(tally.contest)
    old = None
    if tally.current_revision_id:
        old = TallyRevision.objects.with_numbers().get(pk=tally.current_revision_id).numbers()
    results_apply(contest=tally.contest, station_code=tally.station.code, old=old, new=numbers)
    tally.current_revision = revision
    tally.pending_entry = None
    tally.conflicting_entry = None
    tally.state = Tally.State.PUBLISHED


def _published_write(tally, numbers, source, user, *, scan_digests, reason):
    """A reading published as it is written (a resolution, a correction), on a form locked by the caller."""
    revision = _revision_write(
        tally=tally,
        numbers=numbers,
        source=source,
        entered_by=user,
        scan_digests=scan_digests,
        reason=reason,
        published=True,
    )
    _publish(tally, revision, numbers)
    tally.save(update_fields=STATE_FIELDS)
    return revision


def _locked(tally, user):
    station_access_require(user=user, station=tally.station)
    # of=self: only the form's row is locked (PostgreSQL refuses to lock the
    # nullable side of the joins: a nationwide contest has no region).
    related = Tally.objects.select_related("contest__region", "station", "current_revision")
    return related.select_for_update(of=("self",)).get(pk=tally.pk)


def tally_enter(*, tally, numbers, entered_by, scan_digests=()):
    """A blind entry of a C1 form's numbers, first or second; returns the revision written.

    First entry: kept, not published, until a different officer enters the
    same form. Second entry: equal numbers publish it as verified; different
    numbers leave the form in conflict for a third person to resolve.
    Nobody ever verifies their own entry. After publication, use tally_correct.
    """
    with transaction.atomic():
        tally = _locked(tally, entered_by)
        if tally.state == Tally.State.PUBLISHED:
            raise TallyRefused(_("This form is published already: enter a correction with its reason instead."))
        if tally.state == Tally.State.CONFLICT:
            raise TallyRefused(_("The two entries of this form disagree: a third person resolves them."))
        first = tally.pending_entry
        if first is None:
            revision = _revision_write(
                tally=tally,
                numbers=numbers,
                source=TallyRevision.Source.OFFICER_ENTRY,
                entered_by=entered_by,
                scan_digests=scan_digests,
            )
            tally.pending_entry = revision
            tally.state = Tally.State.AWAITING_SECOND
        elif first.entered_by_id == entered_by.pk:
            raise TallyRefused(_("You made the first entry of this form: a different officer makes the second."))
        else:
            first_numbers = TallyRevision.objects.with_numbers().get(pk=first.pk).numbers()
            agrees = digests.numbers_document(first_numbers) == digests.numbers_document(numbers)
            revision = _revision_write(
                tally=tally,
                numbers=numbers,
                source=TallyRevision.Source.SECOND_ENTRY,
                entered_by=entered_by,
                scan_digests=scan_digests,
                published=agrees,
                verifies=first if agrees else None,
            )
            if agrees:
                _publish(tally, revision, numbers)
            else:
                tally.conflicting_entry = revision
                tally.state = Tally.State.CONFLICT
        tally.save(update_fields=STATE_FIELDS)
    return revision


def tally_resolve(*, tally, numbers, resolved_by, reason, scan_digests=()):
    """Settle two entries that disagree: a third person, who made neither, publishes the numbers with a reason."""
    if not reason.strip():
        raise TallyRefused(_("Say why these are the right numbers."))
    with transaction.atomic():
        tally = _locked(tally, resolved_by)
        if tally.state != Tally.State.CONFLICT:
            raise TallyRefused(_("This form has no disagreement to resolve."))
        if resolved_by.pk in (tally.pending_entry.entered_by_id, tally.conflicting_entry.entered_by_id):
            raise TallyRefused(_("You made one of the two entries: a third person resolves them."))
        return _published_write(
            tally, numbers, TallyRevision.Source.RESOLUTION, resolved_by, scan_digests=scan_digests, reason=reason
        )


def tally_correct(*, tally, numbers, entered_by, reason, plenary=False, scan_digests=()):
    """Correct a published form: a new published revision with its reason; the one before stays public."""
    if not reason.strip():
        raise TallyRefused(_("A correction needs its reason."))
    with transaction.atomic():
        tally = _locked(tally, entered_by)
        if tally.state != Tally.State.PUBLISHED:
            raise TallyRefused(_("Only a published form is corrected; this one is still being entered."))
        source = TallyRevision.Source.PLENARY_CORRECTION if plenary else TallyRevision.Source.CORRECTION
        return _published_write(tally, numbers, source, entered_by, scan_digests=scan_digests, reason=reason)


def contest_head_record(contest):
    """Append the contest's head to its log if it changed; returns the latest head."""
    forms = Tally.objects.filter(contest=contest, current_revision__isnull=False).values_list(
        "station__code", "current_revision__digest"
    )
    forms = list(forms)
    head = digests.head_digest(forms)
    latest = ContestHead.objects.filter(contest=contest).order_by("-recorded_at", "-id").first()
    if latest and latest.digest == head:
        return latest
    return ContestHead.objects.create(contest=contest, digest=head, forms=len(forms))


# What each role may do in the admin; the region an officer may do it in is
# the Officer row, enforced by the admin's querysets and the services.
ROLE_PERMISSIONS = {
    OFFICERS: [
        "results.view_region",
        "results.view_pollingstation",
        "results.view_election",
        "results.view_contest",
        "results.view_candidate",
        "results.view_tally",
        "results.view_tallyrevision",
        "results.add_tallyrevision",
        "uploads.view_scan",
        "uploads.add_scan",
        "uploads.view_uploadbatch",
        "uploads.add_uploadbatch",
        "uploads.view_batchfile",
    ],
    AUDITORS: [
        f"{app}.view_{model}"
        for app, models in {
            "results": [
                "region",
                "pollingstation",
                "election",
                "contest",
                "candidate",
                "tally",
                "tallyrevision",
                "officer",
            ],
            "uploads": ["scan", "uploadbatch", "batchfile"],
        }.items()
        for model in models
    ],
}


def roles_sync():
    """Create the Officers and Auditors groups with exactly their permissions."""
    groups = {}
    for name, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=name)
        wanted = [perm.split(".") for perm in perms]
        query = Permission.objects.none()
        for app_label, codename in wanted:
            query |= Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        group.permissions.set(query)
        groups[name] = group
    return groups


def officer_create(*, username, region, auditor=False, password=None, email=""):
    """An admin account bound to one region: an officer, or a read-only auditor."""
    User = get_user_model()
    groups = roles_sync()
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        user.is_staff = True
        if password:
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.save()
        user.groups.add(groups[AUDITORS if auditor else OFFICERS])
        if region is not None:
            Officer.objects.update_or_create(user=user, defaults={"region": region})
    return user
