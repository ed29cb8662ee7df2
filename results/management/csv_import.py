"""What import_regions and import_stations share: reading a CSV with a progress bar."""

import csv
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from results.services import ImportRejected

# A national TPS list is one file; listing every bad row would bury the first.
ERRORS_SHOWN = 50


class CsvImportCommand(BaseCommand):
    """Subclasses name the service that takes `(line, cells)` rows and what a row holds."""

    columns = ""
    updated_label = "updated"

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
            raise CommandError(f"{file}: {error.strerror}") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{file}: not UTF-8 text ({error.reason} at byte {error.start})") from error
        except csv.Error as error:
            raise CommandError(f"{file}: not a readable CSV file ({error})") from error
        except ImportRejected as rejected:
            shown = "\n".join(f"{file}:{line}: {message}" for line, message in rejected.errors[:ERRORS_SHOWN])
            more = len(rejected.errors) - ERRORS_SHOWN
            if more > 0:
                shown += f"\n... and {more} more"
            raise CommandError(
                f"{shown}\n{file}: {len(rejected.errors)} bad row(s), nothing was imported."
            ) from rejected
        self.stdout.write(
            f"{file}: {summary.created} created, {summary.updated} {self.updated_label}, "
            f"{summary.unchanged} unchanged, 0 rejected."
        )
