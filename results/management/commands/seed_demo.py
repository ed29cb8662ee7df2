import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from tqdm import tqdm

from results.demo import demo_seed
from results.models import Region
from results.services import officer_create


class Command(BaseCommand):
    help = (
        "Load the demo: Kalimantan Barat (real regency codes, Kota Pontianak's real districts "
        "and villages, generated ones elsewhere), 11,658 TPS and the 2018 governor election."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2018, help="generated names and numbers follow this seed")
        parser.add_argument(
            "--accounts",
            action="store_true",
            help="also create the demo accounts admin/kpu-demo-admin and "
            "officer-pontianak/kpu-demo-officer (never on a public server)",
        )

    def handle(self, *args, seed, accounts, **options):
        with tqdm(unit="row", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
            regions, stations, contest = demo_seed(seed=seed, progress=bar.update)
        self.stdout.write(
            f"Regions: {regions.created} created, {regions.updated} renamed, {regions.unchanged} unchanged. "
            f"TPS: {stations.created} created, {stations.updated} DPT updated, {stations.unchanged} unchanged. "
            f"Contest: {contest} with {contest.candidates.count()} candidate pairs."
        )
        if accounts:
            User = get_user_model()
            admin, _created = User.objects.get_or_create(username="admin")
            admin.is_staff = admin.is_superuser = True
            admin.set_password("kpu-demo-admin")
            admin.save()
            officer_create(
                username="officer-pontianak",
                region=Region.objects.get(code="61.71"),
                password="kpu-demo-officer",
            )
            self.stdout.write(
                "Accounts: admin / kpu-demo-admin, officer-pontianak / kpu-demo-officer (Kota Pontianak)."
            )
