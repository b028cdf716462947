"""Compile every locale/*/LC_MESSAGES/*.po into its .mo with polib: no system gettext needed.

`make messages` runs this (install, test and run depend on it). The .po files are committed; the .mo files are
build output (git-ignored). `manage.py makemessages` (which does need GNU gettext) refreshes the .po files.
"""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Compile the committed .po translations into .mo files (pure Python, no msgfmt)."

    def handle(self, *args: object, **options: object) -> None:
        built = 0
        for locale_dir in settings.LOCALE_PATHS:
            for po_path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
                po = polib.pofile(str(po_path))
                untranslated = len(po.untranslated_entries()) + len(po.fuzzy_entries())
                if untranslated:
                    raise CommandError(f"{po_path}: {untranslated} untranslated or fuzzy entries.")
                mo_path = po_path.with_suffix(".mo")
                if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
                    po.save_as_mofile(str(mo_path))
                    built += 1
        self.stdout.write(f"Translations compiled ({built} file(s) rebuilt).")
