"""Writes to the results app: C1 readings, officers and their roles."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Max

from .access import AUDITORS, OFFICERS, station_access_require
from .models import Officer, Tally


def tally_revision_add(*, revision, entered_by):
    """Append a reading to its C1 form; the readings before it stay as they were."""
    if revision.pk is not None:
        raise ValueError("C1 readings are append-only; add a new reading instead")
    station_access_require(user=entered_by, station=revision.tally.station)
    with transaction.atomic():
        # The row lock serialises numbering when two officers save at once.
        tally = Tally.objects.select_for_update().get(pk=revision.tally_id)
        revision.number = (tally.revisions.aggregate(last=Max("number"))["last"] or 0) + 1
        revision.entered_by = entered_by
        revision.save()
    return revision


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
