"""Who may see or touch which region: an officer works inside one region's subtree.

The admin's querysets and every service that writes go through these, so a
forged request for another region is refused (and logged) the same way
wherever it comes from.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext as _

from .models import Officer, PollingStation, Region, Tally, subtree_q

security_log = logging.getLogger("kpuportal.security")

AUDITORS = "Auditors"
OFFICERS = "Officers"


def user_region(user):
    """The region an officer works in, or None for users not bound to one."""
    try:
        return user.officer.region
    except (AttributeError, Officer.DoesNotExist):
        return None


def user_sees_everything(user):
    """Superusers, and auditors not bound to a region, see the whole country."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user_region(user) is None and user.groups.filter(name=AUDITORS).exists()


def scope_q(user, code_path):
    """A filter keeping rows whose region code (at `code_path`) lies in the user's region."""
    if user_sees_everything(user):
        return Q()
    region = user_region(user)
    if region is None:
        return Q(pk__in=[])
    return subtree_q(region.code, code_path)


def regions_visible_to(user):
    return Region.objects.filter(scope_q(user, "code"))


def stations_visible_to(user):
    return PollingStation.objects.filter(scope_q(user, "code")).select_related("village")


def tallies_visible_to(user):
    return Tally.objects.filter(scope_q(user, "station__code")).select_related("contest", "station")


def user_may_access_station(user, station):
    return stations_visible_to(user).filter(pk=station.pk).exists()


def station_access_require(*, user, station):
    """Refuse, and log, any attempt to act on a TPS outside the user's region."""
    if not user_may_access_station(user, station):
        security_log.warning("refused: user %s acted on TPS %s outside their region", user.username, station.code)
        raise PermissionDenied(_("TPS %(code)s is outside your region.") % {"code": station.code})
