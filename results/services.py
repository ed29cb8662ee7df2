"""Writes to the results app: C1 readings, officers and their roles."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from . import digests
from .access import AUDITORS, OFFICERS, scope_q, station_access_require
from .aggregates import results_apply
from .models import Candidate, CandidateVotes, ContestHead, Officer, Tally, TallyRevision, VoterCount
from .pages import pages_refresh_soon

# Where a form stands: these move only in the tally services below.
STATE_FIELDS = ["pending_entry", "conflicting_entry", "current_revision", "state"]


class TallyRefused(Exception):
    """A reading that may not be written as asked; `message` says why, in the reader's language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _candidates(tally, numbers):
    """Ballot number -> candidate id for the form's contest; refuses a ballot number the contest lacks.

    Read once per entry: the same map writes the reading's rows and moves the totals.
    """
    candidates = dict(
        Candidate.objects.filter(contest_id=tally.contest_id).order_by().values_list("ballot_number", "pk")
    )
    unknown = set(numbers.candidate_votes) - set(candidates)
    if unknown:
        raise TallyRefused(
            _("No candidate pair has ballot number %(numbers)s in this contest.")
            % {"numbers": ", ".join(str(number) for number in sorted(unknown))}
        )
    return candidates


def _revision_write(
    *, tally, last, candidates, numbers, source, entered_by, scan_digests, reason="", published=False, verifies=None
):
    """The one place a reading is written: the revision, its rows and its digest, chained to `last`.

    `last` is the form's latest revision (None for the first), read after the form's row lock.
    """
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
    voter_rows = [
        (row.voter_list, row.registered.men, row.registered.women, row.registered.total)
        + (row.voted.men, row.voted.women, row.voted.total)
        for row in numbers.voter_rows
    ]
    vote_rows = [(candidates[number], votes) for number, votes in numbers.candidate_votes.items()]
    rows_write = _rows_write_postgresql if connection.vendor == "postgresql" else _rows_write
    rows_write(revision, voter_rows, vote_rows)
    return revision


_VOTER_COLUMNS = (
    "voter_list",
    "registered_men",
    "registered_women",
    "registered_total",
    "voted_men",
    "voted_women",
    "voted_total",
)


def _rows_write(revision, voter_rows, vote_rows):
    """A reading's voter rows (list, registered m/w/t, voted m/w/t) and votes (candidate id, votes)."""
    VoterCount.objects.bulk_create(
        VoterCount(revision=revision, **dict(zip(_VOTER_COLUMNS, row))) for row in voter_rows
    )
    CandidateVotes.objects.bulk_create(
        CandidateVotes(revision=revision, candidate_id=candidate_id, votes=votes) for candidate_id, votes in vote_rows
    )


def _rows_write_postgresql(revision, voter_rows, vote_rows):
    """_rows_write in one statement: every round trip counts when thousands of officers save at once."""
    statements, params = [], []
    if voter_rows:
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(voter_rows))
        statements.append(
            f"INSERT INTO {VoterCount._meta.db_table} (revision_id, {', '.join(_VOTER_COLUMNS)}) VALUES {values}"
        )
        params += [value for row in voter_rows for value in (revision.pk, *row)]
    if vote_rows:
        values = ", ".join(["(%s, %s, %s)"] * len(vote_rows))
        statements.append(
            f"INSERT INTO {CandidateVotes._meta.db_table} (revision_id, candidate_id, votes) VALUES {values}"
        )
        params += [value for row in vote_rows for value in (revision.pk, *row)]
    if not statements:
        return
    # PostgreSQL runs an INSERT in a WITH clause to completion, read or not.
    *first, last = statements
    sql = (
        f"WITH {', '.join(f'rows_{n} AS ({statement})' for n, statement in enumerate(first))} " if first else ""
    ) + last
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _agrees(tally, first, numbers):
    """Whether `numbers` are the numbers of the first entry `first`, without reading its rows back.

    The first entry's digest seals what its officer typed: the same document
    with these numbers in its place hashes to it exactly when the numbers are
    equal (a row edited behind the portal's back cannot make them agree).
    """
    document = digests.reading_document(
        contest_id=tally.contest_id,
        station_code=tally.station.code,
        number=first.number,
        source=first.source,
        reason=first.reason,
        numbers=numbers,
        scan_digests=first.scan_digests,
        previous_digest=first.previous_digest,
    )
    return digests.digest(document) == first.digest


def _publish(tally, revision, numbers, candidates):
    """Make `revision` (whose numbers are `numbers`) the form's published reading; move every ancestor's totals.

    The form's row is saved first and the totals moved last: the ancestors'
    rows (the whole country's among them) are the rows every publish of the
    contest waits for, so they are held only from the last statements to the commit.
    """
    old = None
    if tally.current_revision_id:
        old = TallyRevision.objects.with_numbers().get(pk=tally.current_revision_id).numbers()
    tally.current_revision = revision
    tally.pending_entry = None
    tally.conflicting_entry = None
    tally.state = Tally.State.PUBLISHED
    tally.save(update_fields=STATE_FIELDS)
    results_apply(contest=tally.contest, station_code=tally.station.code, old=old, new=numbers, candidates=candidates)
    # Once committed, a worker renders the contest's hot pages under their new versions.
    contest_id = tally.contest_id  # (a lambda: a robust on_commit names its function when it fails)
    transaction.on_commit(lambda: pages_refresh_soon(contest_id), robust=True)


def _published_write(tally, numbers, source, user, *, scan_digests, reason):
    """A reading published as it is written (a resolution, a correction), on a form locked by the caller."""
    candidates = _candidates(tally, numbers)
    revision = _revision_write(
        tally=tally,
        last=_last_revision(tally),
        candidates=candidates,
        numbers=numbers,
        source=source,
        entered_by=user,
        scan_digests=scan_digests,
        reason=reason,
        published=True,
    )
    _publish(tally, revision, numbers, candidates)
    return revision


def _locked(tally, user):
    """The form's row, locked, read afresh; refused (and logged) when its TPS is outside the user's region.

    The region check is part of the locking query, so it costs no query of its own.
    """
    # of=self: only the form's row is locked (PostgreSQL refuses to lock the
    # nullable side of the joins: a nationwide contest has no region).
    forms = Tally.objects.select_related("contest__region", "station").filter(pk=tally.pk)
    try:
        return forms.filter(scope_q(user, "station__code")).select_for_update(of=("self",)).get()
    except Tally.DoesNotExist:
        station_access_require(user=user, station=tally.station)
        raise


def _last_revision(tally):
    """The form's latest revision, or None.

    Read in a statement of its own after the row lock: its snapshot then sees
    a revision that a concurrent entry committed while we waited for the lock.
    """
    return tally.revisions.order_by("-number").first()


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
        if tally.pending_entry_id is None:
            candidates = _candidates(tally, numbers)
            revision = _revision_write(
                tally=tally,
                # A form leaves EMPTY with its first revision, so an empty one has
                # none to read. (Were one written behind the services' back,
                # revision 1 would clash with it on the unique (form, number) constraint.)
                last=None if tally.state == Tally.State.EMPTY else _last_revision(tally),
                candidates=candidates,
                numbers=numbers,
                source=TallyRevision.Source.OFFICER_ENTRY,
                entered_by=entered_by,
                scan_digests=scan_digests,
            )
            tally.pending_entry = revision
            tally.state = Tally.State.AWAITING_SECOND
            tally.save(update_fields=STATE_FIELDS)
            return revision
        # The pending entry is the form's latest revision: nothing else is written while it waits.
        last = _last_revision(tally)
        first = last if last.pk == tally.pending_entry_id else tally.pending_entry
        if first.entered_by_id == entered_by.pk:
            raise TallyRefused(_("You made the first entry of this form: a different officer makes the second."))
        candidates = _candidates(tally, numbers)
        agrees = _agrees(tally, first, numbers)
        revision = _revision_write(
            tally=tally,
            last=last,
            candidates=candidates,
            numbers=numbers,
            source=TallyRevision.Source.SECOND_ENTRY,
            entered_by=entered_by,
            scan_digests=scan_digests,
            published=agrees,
            verifies=first if agrees else None,
        )
        if agrees:
            _publish(tally, revision, numbers, candidates)
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
