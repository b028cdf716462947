"""`python manage.py review --month YYYY-MM --json`: the month's review figures, as the screen shows them."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from feedback.review_views import figures


class Command(BaseCommand):
    help = (
        "Print a month's review figures (funnel, SLA compliance, score bands, AUC, rule lifts, suggestions)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--json", action="store_true", help="Print JSON (the only format so far)")

    def handle(self, *args, month: str, **options) -> None:
        try:
            year, number = (int(part) for part in month.split("-"))
            first = date(year, number, 1)
        except ValueError:
            raise CommandError(f"--month must look like 2026-10, not “{month}”.") from None
        data, snapshot = figures(first)
        if snapshot:
            data = {
                **data,
                "frozen": {"by": snapshot.frozen_by.get_username(), "at": snapshot.frozen_at.isoformat()},
            }
        self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))
