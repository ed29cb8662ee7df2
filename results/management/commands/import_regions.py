from django.utils.translation import gettext_lazy as _

from results.importers import regions_import
from results.management.csv_import import CsvImportCommand


class Command(CsvImportCommand):
    help = (
        "Import a Kemendagri region list: one `code,name` row per region, dotted (61.71.06) "
        "or undotted (617106) codes; the level follows from the code. A renamed region is updated."
    )
    columns = "region: code,name"
    updated_label = _("renamed")

    def run_import(self, rows, progress):
        return regions_import(rows, progress=progress)
