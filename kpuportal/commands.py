"""The base of the portal's management commands."""

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext as _


class PortalCommand(BaseCommand):
    """A command that says in one sentence, and exits 2, when the database cannot be reached or stops answering.

    A traceback tells the operator nothing more; exit 2 keeps it apart from a
    command's own refusals (exit 1: a bad file, verify_integrity's
    mismatches). What the command had open in a transaction is rolled back
    by the database.
    """

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except (OperationalError, InterfaceError) as error:
            raise CommandError(
                # The driver's first line says what failed; the rest is advice on a second line.
                _("The database failed, so the command stopped: %(error)s")
                % {"error": str(error).strip().splitlines()[0]},
                returncode=2,
            ) from error
