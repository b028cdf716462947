"""`python manage.py review --month YYYY-MM [--segment NAME] --json`: the month's review figures, as the screen
shows them (a segment's: its hand-overs against its own agreement; without one: all leads)."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from feedback.review_views import figures
from sla.models import Segment


class Command(BaseCommand):
    help = (
        "Print a month's review figures (funnel, SLA compliance, score bands, AUC, rule lifts, suggestions)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--json", action="store_true", help="Print JSON (the only format so far)")
        parser.add_argument(
            "--segment", default="", help="A segment's name (default: the review of all leads)"
        )

    def handle(self, *args, month: str, segment: str = "", **options) -> None:
        try:
            year, number = (int(part) for part in month.split("-"))
            first = date(year, number, 1)
        except ValueError:
            raise CommandError(f"--month must look like 2026-10, not “{month}”.") from None
        chosen = None
        if segment:
            chosen = Segment.objects.filter(name=segment).first()
            if chosen is None:
                names = ", ".join(Segment.objects.order_by("position").values_list("name", flat=True))
                raise CommandError(f"No segment is called “{segment}”. Segments: {names or 'none'}.")
        data, snapshot = figures(first, chosen)
        if chosen is not None:
            data = {**data, "segment": {"id": chosen.pk, "name": chosen.name}}
        if snapshot:
            data = {
                **data,
                "frozen": {"by": snapshot.frozen_by.get_username(), "at": snapshot.frozen_at.isoformat()},
            }
        self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))
