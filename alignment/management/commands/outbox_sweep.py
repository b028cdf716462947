"""Deliver due outbox messages now (what beat's sweeper does every minute), e.g. from cron without Celery."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from alignment.outbox import outbox_sweep


class Command(BaseCommand):
    help = "Deliver pending notifications and webhooks that are due (the periodic sweeper, once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, limit: int, **options) -> None:
        sent = outbox_sweep(now=timezone.now(), limit=limit)
        self.stdout.write(f"{sent} sent")
