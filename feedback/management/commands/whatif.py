"""`python manage.py whatif --agreement N --json`: the what-if preview of agreement version N (its number)."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from feedback.whatif import whatif_for
from sla.models import AgreementVersion


class Command(BaseCommand):
    help = "Print the what-if preview of an agreement version against current and past leads."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--agreement", type=int, required=True, help="The version number (v3 → 3)")
        parser.add_argument("--json", action="store_true", help="Print JSON (the only format so far)")

    def handle(self, *args, agreement: int, **options) -> None:
        version = AgreementVersion.objects.filter(number=agreement).first()
        if version is None:
            raise CommandError(f"No agreement version {agreement}.")
        data = whatif_for(version, now=timezone.now())
        self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))
