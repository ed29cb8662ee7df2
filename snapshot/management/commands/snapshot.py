import dataclasses
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from snapshot.services import SnapshotBusy, snapshot_build


class Command(BaseCommand):
    help = "Render the public site into a new static snapshot and make it current (only what changed, unless --full)."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="render every page again, changed or not")

    def handle(self, *args, full=False, **options):
        with tqdm(unit="page", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
            try:
                built = snapshot_build(full=full, progress=bar.update)
            except SnapshotBusy as busy:
                raise CommandError(_("A snapshot is being built already; try again when it ends.")) from busy
        self.stdout.write(
            _(
                "Snapshot %(generation)d is current: %(rendered)d pages rendered, %(reused)d unchanged, "
                "%(files)d files, %(seconds).1f s."
            )
            % dataclasses.asdict(built)
        )
