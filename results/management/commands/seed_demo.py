import logging
import sys

from django.contrib.auth import get_user_model
from tqdm import tqdm

from kpuportal.commands import PortalCommand
from results.demo import demo_plan, demo_readings, demo_seed
from results.models import Region, Tally
from results.services import officer_create

# The demo's logins: a laptop's, never a public server's.
ADMIN = ("admin", "kpu-demo-admin")
OFFICERS = [("officer-pontianak", "kpu-demo-officer"), ("officer-pontianak-2", "kpu-demo-officer")]
RESOLVER = ("officer-pontianak-3", "kpu-demo-officer")


class Command(PortalCommand):
    help = (
        "Load the demo: Kalimantan Barat (real regency codes, Kota Pontianak's real districts "
        "and villages, generated ones elsewhere), 11,658 TPS and the 2018 governor election, counted "
        "part way: all of Kota Pontianak (two districts with scans of their C1 forms) and a share "
        "elsewhere, each reading entered twice, blind, and verified. With --complete every TPS is "
        "published and the province adds up to the 2018 plenary."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2018, help="generated names and numbers follow this seed")
        parser.add_argument(
            "--accounts",
            action="store_true",
            help="also create the demo accounts admin/kpu-demo-admin and officer-pontianak, "
            "officer-pontianak-2 and officer-pontianak-3 / kpu-demo-officer (never on a public server)",
        )
        parser.add_argument(
            "--complete",
            action="store_true",
            help="publish every TPS, so that the province adds up exactly to the 2018 plenary (a few minutes)",
        )

    def handle(self, *args, seed, accounts, complete, **options):
        quiet = not sys.stderr.isatty()
        with tqdm(unit="row", file=sys.stderr, disable=quiet) as bar:
            regions, stations, contest = demo_seed(seed=seed, progress=bar.update)
        self.stdout.write(
            f"Regions: {regions.created} created, {regions.updated} renamed, {regions.unchanged} unchanged. "
            f"TPS: {stations.created} created, {stations.updated} DPT updated, {stations.unchanged} unchanged. "
            f"Contest: {contest} with {contest.candidates.count()} candidate pairs."
        )
        plan = demo_plan(contest.stations().values_list("code", flat=True), seed=seed)
        forms = contest.stations().count() if complete else len(plan)
        # The demo's few hundred scans are ingested at once (eager tasks): a log line each would bury the summary.
        task_log = logging.getLogger("celery.app.trace")
        level = task_log.level
        task_log.setLevel(max(level, logging.WARNING))
        try:
            with tqdm(total=forms, unit="form", file=sys.stderr, disable=quiet) as bar:
                readings = demo_readings(contest=contest, seed=seed, complete=complete, progress=bar.update)
        finally:
            task_log.setLevel(level)
        self.stdout.write(
            f"C1 forms: {readings.published} published (entered twice, blind, and verified), "
            f"{readings.waiting} waiting for a second entry, {readings.conflicts} in conflict, "
            f"{readings.resolved} resolved, {readings.corrected} corrected, {readings.unchanged} unchanged; "
            f"{readings.scans} scans stored."
        )
        # Only the forms still where the demo left them: after --complete, or once tried, there are none.
        tried = {"waiting": Tally.State.AWAITING_SECOND, "conflict": Tally.State.CONFLICT, "scan": Tally.State.EMPTY}
        states = dict(
            Tally.objects.filter(contest=contest, station__code__in=list(plan)).values_list("station__code", "state")
        )
        left = {
            role: [
                code
                for code, (planned, _scanned) in sorted(plan.items())
                if planned == role and states.get(code) == state
            ]
            for role, state in tried.items()
        }
        hints = [
            (left["waiting"], "wait for a second entry"),
            (left["conflict"], "has two entries that disagree (a third officer resolves them)"),
            (left["scan"], "have a scan and no entry yet"),
        ]
        hints = [f"{', '.join(found)} {what}" for found, what in hints if found]
        if hints:
            self.stdout.write("To try in the admin (Kota Pontianak): " + "; ".join(hints) + ".")
        if accounts:
            User = get_user_model()
            admin, _created = User.objects.get_or_create(username=ADMIN[0])
            admin.is_staff = admin.is_superuser = True
            admin.set_password(ADMIN[1])
            admin.save()
            pontianak = Region.objects.get(code="61.71")
            for username, password in [*OFFICERS, RESOLVER]:
                officer_create(username=username, region=pontianak, password=password)
            self.stdout.write(
                f"Accounts: {ADMIN[0]} / {ADMIN[1]} (superuser); Kota Pontianak officers "
                + ", ".join(f"{name} / {password}" for name, password in OFFICERS)
                + " (a blind double entry),"
                f" {RESOLVER[0]} / {RESOLVER[1]} (resolves a disagreement)."
            )
