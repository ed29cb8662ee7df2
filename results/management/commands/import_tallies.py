import csv
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from tqdm import tqdm

from kpuportal.commands import PortalCommand
from results.importers import ImportRejected
from results.management.csv_import import ERRORS_SHOWN
from results.models import Contest
from results.tally_import import tallies_import, tally_columns


class Command(PortalCommand):
    help = (
        "Enter C1 readings from a spreadsheet (CSV, one row per TPS, a header row naming the columns) "
        "as one officer's blind entry: the same file imported by a second officer verifies and publishes "
        "the forms whose numbers agree. A file with any bad row is refused whole; nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file; the README lists its columns")
        parser.add_argument("--contest", required=True, help="the contest's id or its name")
        parser.add_argument("--user", required=True, help="the officer entering the forms (username)")

    def handle(self, *args, file, contest, user, **options):
        contest = self._contest(contest)
        entered_by = self._user(user)
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                reader = csv.reader(handle)
                rows = [(reader.line_num, row) for row in reader if row]
        except OSError as error:
            raise CommandError(_("%(file)s: %(error)s") % {"file": file, "error": error.strerror}) from error
        except UnicodeDecodeError as error:
            raise CommandError(
                _("%(file)s: not UTF-8 text (%(reason)s at byte %(byte)d)")
                % {"file": file, "reason": error.reason, "byte": error.start}
            ) from error
        except csv.Error as error:
            raise CommandError(
                _("%(file)s: not a readable CSV file (%(error)s)") % {"file": file, "error": error}
            ) from error
        try:
            with tqdm(
                total=max(len(rows) - 1, 0), unit="form", file=sys.stderr, disable=not sys.stderr.isatty()
            ) as bar:
                report = tallies_import(rows, contest=contest, entered_by=entered_by, progress=bar.update)
        except ImportRejected as rejected:
            header_line = rows[0][0] if rows else 1
            raise CommandError(self._rejection(file, rejected, contest, header_line)) from rejected
        for row in report:
            self.stdout.write(f"{file}:{row.line}: {row.station_code}: {row.outcome_message}")
            for failure in row.warnings:
                self.stdout.write(f"{file}:{row.line}: " + _("warning: %(rule)s") % {"rule": failure.message})
        counts = {
            outcome: sum(1 for row in report if row.outcome == outcome)
            for outcome in ("waiting", "published", "conflict")
        }
        warned = sum(1 for row in report if row.warnings)
        self.stdout.write(
            ngettext(
                "%(file)s: %(forms)d form entered as %(user)s: %(waiting)d waiting for a second entry, "
                "%(published)d verified and published, %(conflict)d in conflict; %(warned)d with arithmetic warnings.",
                "%(file)s: %(forms)d forms entered as %(user)s: %(waiting)d waiting for a second entry, "
                "%(published)d verified and published, %(conflict)d in conflict; %(warned)d with arithmetic warnings.",
                len(report),
            )
            % {"file": file, "forms": len(report), "user": entered_by.get_username(), "warned": warned, **counts}
        )

    def _contest(self, value):
        value = value.strip()
        contests = Contest.objects.select_related("election", "region")
        matches = list(contests.filter(pk=int(value)) if value.isdigit() else contests.filter(name__iexact=value))
        if len(matches) == 1:
            return matches[0]
        known = "; ".join(f"{contest.pk} {contest.name}" for contest in Contest.objects.order_by("pk")[:20])
        if matches:
            raise CommandError(
                _("Several contests are named “%(contest)s”: give its id (%(known)s).")
                % {"contest": value, "known": known}
            )
        raise CommandError(_("There is no contest “%(contest)s” (%(known)s).") % {"contest": value, "known": known})

    def _user(self, username):
        try:
            user = get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(_("There is no user “%(user)s”.") % {"user": username}) from None
        if not user.is_active:
            raise CommandError(_("The account %(user)s is disabled.") % {"user": username})
        return user

    def _rejection(self, file, rejected, contest, header_line):
        shown = "\n".join(f"{file}:{line}: {message}" for line, message in rejected.errors[:ERRORS_SHOWN])
        more = len(rejected.errors) - ERRORS_SHOWN
        if more > 0:
            shown += "\n" + _("... and %(more)d more") % {"more": more}
        if any(line == header_line for line, _message in rejected.errors):
            columns = tally_columns(
                voter_lists=contest.election.voter_lists,
                ballot_numbers=contest.candidates.values_list("ballot_number", flat=True),
            )
            shown += "\n" + _("The columns for %(contest)s: %(columns)s") % {
                "contest": contest,
                "columns": ",".join(columns),
            }
        count = len(rejected.errors)
        verdict = ngettext(
            "%(file)s: %(count)d bad row, nothing was imported.",
            "%(file)s: %(count)d bad rows, nothing was imported.",
            count,
        ) % {"file": file, "count": count}
        return f"{shown}\n{verdict}"
