"""Make the activity table's month partitions ahead, and age out old months (leads/partitions.py).

manage.py activity_partitions                  # partitions ahead; retention if ACTIVITY_RETENTION_MONTHS is set
manage.py activity_partitions --keep-months 24 # and drop every month older than the last 24 whole months
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from leads.partitions import activities_age_out, partitions_ensure


class Command(BaseCommand):
    help = "Make activity month partitions ahead of time and drop months older than the retention."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--keep-months",
            type=int,
            default=settings.ACTIVITY_RETENTION_MONTHS,
            help="Whole months kept before the current one (default: ACTIVITY_RETENTION_MONTHS; unset: keep all).",
        )

    def handle(self, *args: object, keep_months: int | None, **options: object) -> None:
        now = timezone.now()
        for name in partitions_ensure(now=now, keep_months=keep_months):
            self.stdout.write(f"created {name}")
        if not keep_months:
            return
        for record in activities_age_out(now=now, keep_months=keep_months):
            self.stdout.write(f"dropped {record.month:%Y-%m}: {record.rows} activities")
