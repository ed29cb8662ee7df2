import dataclasses
import sys

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from kpuportal.commands import PortalCommand
from snapshot.services import (
    SnapshotBusy,
    SnapshotFailed,
    snapshot_build,
    snapshot_compact,
    snapshot_compaction_due,
    snapshot_publish,
    snapshot_storage,
    snapshot_trash_empty,
)


class Command(PortalCommand):
    help = (
        "Render the public site into a new static snapshot and make it current (only what changed, unless --full), "
        "write it out whole if its layer has grown past KPU_SNAPSHOT_COMPACT_PERCENT of its base; "
        "with --publish, copy it to the snapshot bucket."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="render every page again, changed or not")
        parser.add_argument(
            "--publish",
            action="store_true",
            help="then upload what changed to the bucket named by KPU_SNAPSHOT_BUCKET (every file, with --full)",
        )

    def handle(self, *args, full=False, publish=False, **options):
        if publish and snapshot_storage() is None:
            raise CommandError(_("There is no snapshot bucket to publish to: set KPU_SNAPSHOT_BUCKET."))
        with tqdm(unit="page", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
            try:
                built = snapshot_build(full=full, progress=bar.update)
            except SnapshotBusy as busy:
                raise CommandError(_("A snapshot is being built already; try again when it ends.")) from busy
            except SnapshotFailed as failed:
                raise CommandError(
                    _("The snapshot was not built; the current one stays: %(error)s") % {"error": failed}
                ) from failed
        self.stdout.write(
            _(
                "Snapshot %(generation)d is current: %(rendered)d pages rendered, %(reused)d unchanged, "
                "%(files)d files, %(seconds).1f s."
            )
            % dataclasses.asdict(built)
        )
        snapshot_trash_empty()
        if snapshot_compaction_due():
            self.compact()
        if not publish:
            return
        with tqdm(unit="file", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
            try:
                published = snapshot_publish(full=full, progress=bar.update)
            except SnapshotBusy as busy:
                raise CommandError(_("A snapshot is being built already; try again when it ends.")) from busy
        self.stdout.write(
            _(
                "Snapshot %(generation)d published to the bucket: %(uploaded)d files uploaded, %(unchanged)d "
                "unchanged, %(deleted)d deleted, %(seconds).1f s."
            )
            % dataclasses.asdict(published)
        )

    def compact(self):
        """Write the grown layer out whole, as the worker's task would: the next build is a layer over it."""
        with tqdm(unit="file", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
            try:
                compacted = snapshot_compact(progress=bar.update)
            except SnapshotBusy:
                return  # the worker is at it
        if compacted is not None:
            self.stdout.write(
                _("Snapshot %(generation)d written whole, the base of the next ones: %(files)d files, %(seconds).1f s.")
                % dataclasses.asdict(compacted)
            )
