from django.utils.translation import gettext_lazy as _

from results.importers import stations_import
from results.management.csv_import import CsvImportCommand


class Command(CsvImportCommand):
    help = (
        "Import a TPS list: one `village code,TPS number,DPT` row per TPS. Regions must be "
        "imported first; a TPS already there gets its DPT updated."
    )
    columns = "TPS: village code,TPS number,DPT"
    updated_label = _("DPT updated")

    def run_import(self, rows, progress):
        return stations_import(rows, progress=progress)
