from django.core.management.base import BaseCommand, CommandError

from clusters.provisioning import ProvisionError, load_plan
from clusters.services import apply_provision


class Command(BaseCommand):
    help = "Register users, clusters, accounts and teams from a YAML file. Safe to re-run."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the provisioning YAML file; ${VAR} is read from the environment")

    def handle(self, *args, file, **options):
        try:
            plan = load_plan(file)
            changes = apply_provision(plan=plan, source=file)
        except ProvisionError as error:
            raise CommandError("nothing was applied:\n" + "\n".join(error.problems)) from None
        for change in changes:
            self.stdout.write(change)
        self.stdout.write(self.style.SUCCESS(f"{file}: {len(changes)} change(s)" if changes else f"{file}: no changes"))
