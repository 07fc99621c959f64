from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from clusters.services import api_token_for


class Command(BaseCommand):
    help = "Print USERNAME's API token (for Authorization: Bearer <token>), creating it if needed."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {username!r}") from None
        self.stdout.write(api_token_for(user=user))
