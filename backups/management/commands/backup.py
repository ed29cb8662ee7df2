import sys

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from backups.services import BackupError, backup_make, backups_prune
from kpuportal.commands import PortalCommand


class Command(PortalCommand):
    help = "Dump the database into a new backup under KPU_BACKUP_DIR, with a manifest of its heads, totals and scans."

    def add_arguments(self, parser):
        parser.add_argument("--with-scans", action="store_true", help="copy the scan files into the backup too")
        parser.add_argument(
            "--keep",
            type=int,
            metavar="N",
            help=f"then delete all but the newest N backups (the periodic task keeps {settings.BACKUP_KEEP})",
        )

    def handle(self, *args, with_scans=False, keep=None, **options):
        if keep is not None and keep < 1:
            raise CommandError(_("--keep must be 1 or more."))
        try:
            with tqdm(unit="scan", file=sys.stderr, disable=not (with_scans and sys.stderr.isatty())) as bar:
                made = backup_make(with_scans=with_scans, progress=bar.update)
            pruned = backups_prune(keep=keep) if keep is not None else []
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            _(
                "Backup %(name)s (%(engine)s, %(bytes)d bytes): %(readings)d readings, %(contests)d contests, "
                "%(scans)d scans, %(files)d scan files copied, in %(seconds).1f s."
            )
            % {
                "name": made.path,
                "engine": made.engine,
                "bytes": made.dump_bytes,
                "readings": made.readings,
                "contests": made.contests,
                "scans": made.scans,
                "files": made.scan_files,
                "seconds": made.seconds,
            }
        )
        if pruned:
            self.stdout.write(
                _("Deleted %(count)d older backups: %(names)s.") % {"count": len(pruned), "names": ", ".join(pruned)}
            )
