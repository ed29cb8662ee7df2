import secrets

from django.core.management.base import CommandError

from kpuportal.commands import PortalCommand
from results import codes
from results.models import Region
from results.services import officer_create


class Command(PortalCommand):
    help = (
        "Create an admin account bound to one region: a district officer who uploads and corrects "
        "only there, or with --auditor a read-only auditor (the whole country without --region)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--region", help="region code, dotted or not: 61.71 or 6171")
        parser.add_argument("--auditor", action="store_true", help="read-only account")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="without it a random password is made and printed once")

    def handle(self, *args, username, region, auditor, email, password, **options):
        if region is None and not auditor:
            raise CommandError("An officer needs --region (for example --region 61.71).")
        bound_to = None
        if region is not None:
            try:
                bound_to = Region.objects.get(code=codes.normalize_region_code(region))
            except codes.CodeError as error:
                raise CommandError(str(error)) from error
            except Region.DoesNotExist:
                raise CommandError(f"There is no region {region}: import the regions first.") from None
        password = password or secrets.token_urlsafe(12)
        user = officer_create(username=username, region=bound_to, auditor=auditor, password=password, email=email)
        where = f"{bound_to.code} {bound_to.name}" if bound_to else "the whole country"
        role = "auditor (read-only)" if auditor else "officer"
        self.stdout.write(f"{user.username}: {role} for {where}. Password: {password}")
