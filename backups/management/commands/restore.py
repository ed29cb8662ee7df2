import sys

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from backups.services import BackupError, backup_check, backup_find, backup_restore
from kpuportal.commands import PortalCommand


class Command(PortalCommand):
    help = (
        "Replace the database with a backup (its name under KPU_BACKUP_DIR, or its path), then verify it: "
        "the integrity check, and every head, total and scan equal to what the backup recorded."
    )

    def add_arguments(self, parser):
        parser.add_argument("backup", help="a backup's name (20261128T040000Z) or its directory")
        parser.add_argument("--yes", action="store_true", help="replace the database without asking")

    def handle(self, *args, backup, yes=False, **options):
        try:
            path, manifest = backup_find(backup)
            # Checked before asking, so nobody confirms a restore that would be refused.
            backup_check(path, manifest)
        except BackupError as error:
            raise CommandError(str(error)) from error
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError(_("A restore replaces the whole database: confirm it with --yes."))
            question = _("This replaces the whole database with the backup %(name)s of %(time)s. Type yes to go on: ")
            if input(question % {"name": path.name, "time": manifest["created_at"]}).strip().lower() != "yes":
                raise CommandError(_("Nothing was restored."))
        try:
            with tqdm(unit="scan", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
                restored = backup_restore(path, progress=bar.update)
        except BackupError as error:
            raise CommandError(str(error)) from error
        for difference in restored.differences:
            self.stderr.write(difference)
        if restored.differences:
            raise CommandError(
                _("Backup %(name)s was restored, but %(count)d differences from it were found.")
                % {"name": restored.name, "count": len(restored.differences)}
            )
        self.stdout.write(
            _(
                "Backup %(name)s restored and verified in %(seconds).1f s: %(readings)d readings, the heads and "
                "totals of %(contests)d contests and %(scans)d scans equal what it recorded; %(files)d scan files "
                "put back."
            )
            % {
                "name": restored.name,
                "seconds": restored.seconds,
                "readings": restored.readings,
                "contests": restored.contests,
                "scans": restored.scans,
                "files": restored.scan_files_put_back,
            }
        )
