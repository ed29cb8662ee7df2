"""What import_regions and import_stations share: reading a CSV with a progress bar."""

import csv
import sys

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from tqdm import tqdm

from kpuportal.commands import PortalCommand
from results.importers import ImportRejected

# A national TPS list is one file; listing every bad row would bury the first.
ERRORS_SHOWN = 50


class CsvImportCommand(PortalCommand):
    """Subclasses name the service that takes `(line, cells)` rows and what a row holds."""

    columns = ""
    updated_label = gettext_lazy("updated")

    def add_arguments(self, parser):
        parser.add_argument("file", help=f"CSV file, one row per {self.columns}; a header row is optional")

    def run_import(self, rows, progress):
        raise NotImplementedError

    def handle(self, *args, file, **options):
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                total = sum(1 for _line in handle)
                handle.seek(0)
                reader = csv.reader(handle)
                rows = ((reader.line_num, row) for row in reader if row)
                with tqdm(total=total, unit="row", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
                    summary = self.run_import(rows, bar.update)
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
        except ImportRejected as rejected:
            shown = "\n".join(f"{file}:{line}: {message}" for line, message in rejected.errors[:ERRORS_SHOWN])
            more = len(rejected.errors) - ERRORS_SHOWN
            if more > 0:
                shown += "\n" + _("... and %(more)d more") % {"more": more}
            count = len(rejected.errors)
            verdict = ngettext(
                "%(file)s: %(count)d bad row, nothing was imported.",
                "%(file)s: %(count)d bad rows, nothing was imported.",
                count,
            ) % {"file": file, "count": count}
            raise CommandError(f"{shown}\n{verdict}") from rejected
        self.stdout.write(
            _("%(file)s: %(created)d created, %(updated)d %(updated_label)s, %(unchanged)d unchanged, 0 rejected.")
            % {
                "file": file,
                "created": summary.created,
                "updated": summary.updated,
                "updated_label": self.updated_label,
                "unchanged": summary.unchanged,
            }
        )
