import sys

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from kpuportal.commands import PortalCommand
from results.integrity import integrity_check
from results.models import Contest, TallyRevision


class Command(PortalCommand):
    help = "Recompute every reading's digest chain and every region's totals; exit non-zero naming each mismatch."

    def add_arguments(self, parser):
        parser.add_argument("--contest", type=int, help="only this contest (its id)")

    def handle(self, *args, contest=None, **options):
        contests = Contest.objects.select_related("region")
        if contest is not None:
            contests = contests.filter(pk=contest)
            if not contests.exists():
                raise CommandError(_("There is no contest %(id)s.") % {"id": contest})
        readings = TallyRevision.objects.filter(tally__contest__in=contests).count()
        with tqdm(total=readings, unit="reading", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
            mismatches = integrity_check(contests=list(contests), progress=bar.update)
        if mismatches:
            for mismatch in mismatches:
                self.stderr.write(str(mismatch))
            raise CommandError(_("%(count)d mismatches.") % {"count": len(mismatches)})
        self.stdout.write(
            _("%(readings)d readings and the totals of %(contests)d contests check out.")
            % {"readings": readings, "contests": len(contests)}
        )
