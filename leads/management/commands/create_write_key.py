"""`python manage.py create_write_key NAME`: a new Segment write key; the raw key is the last line printed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from leads.services import write_key_create


class Command(BaseCommand):
    help = "Create a write key for event sources (Segment libraries). Prints the key once, as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="What sends with this key, e.g. “website”")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        key, raw = write_key_create(name=name, now=timezone.now())
        self.stdout.write(
            f"Write key “{key.name}” created ({key.prefix}…). Store it now: it is not shown again."
        )
        self.stdout.write(raw)
