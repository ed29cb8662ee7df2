import urllib.error
import urllib.request
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from kpuportal.commands import PortalCommand
from snapshot.services import snapshot_file, snapshot_verify
from snapshot.signing import public_key_pem


def reader(where):
    """read(name) -> bytes or None, for a snapshot directory (a layer's file, else its base's) or a mirror's URL."""
    if where.startswith(("http://", "https://")):
        base = where.rstrip("/") + "/"

        def read(name):
            try:
                with urllib.request.urlopen(base + name, timeout=30) as response:
                    return response.read()
            except urllib.error.HTTPError:
                return None

        return read
    root = Path(where)

    def read(name):
        path = snapshot_file(root, name)
        return path.read_bytes() if path.is_file() else None

    return read


class Command(PortalCommand):
    help = "Check a snapshot or a mirror of it: the manifest's signature, then every file against its sha256."

    def add_arguments(self, parser):
        parser.add_argument("where", help="a snapshot directory or a mirror's URL")
        parser.add_argument("--key", help="the portal's public key (PEM file); by default this installation's")

    def handle(self, *args, where, key=None, **options):
        if not where.startswith(("http://", "https://")) and not Path(where).is_dir():
            raise CommandError(_("%(where)s is neither a directory nor a URL.") % {"where": where})
        pem = Path(key).read_text() if key else public_key_pem()
        verified = snapshot_verify(reader(where), pem)
        for problem in verified.problems:
            self.stderr.write(problem)
        if verified.problems:
            raise CommandError(
                _("%(count)d problems in %(where)s.") % {"count": len(verified.problems), "where": where}
            )
        self.stdout.write(_("%(files)d files match the signed manifest.") % {"files": verified.files})
