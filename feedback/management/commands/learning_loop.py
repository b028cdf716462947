"""`python manage.py learning_loop FILE`: the review's learning loop on a CSV of leads with known outcomes."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from feedback.learning import loop
from sla.content import validate
from sla.exceptions import InvalidContent


class Command(BaseCommand):
    help = (
        "Import FILE (leads with a converted/won column), then review, accept every suggestion, sign and activate "
        "ITERATIONS times; print each version's rule count and AUC on the held-out leads, and a logistic "
        "regression bound fitted on the same split. Writes to the configured database: use a scratch one."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--holdout", type=float, default=0.5, help="Share of leads held out (0–1)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--iterations", type=int, default=3)
        parser.add_argument("--starter", type=Path, help="Agreement content JSON (docs/agreement-content.md)")
        parser.add_argument("--limit", type=int, help="Only the first N rows of FILE")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON")

    def handle(self, *args, **options) -> None:
        if not options["file"].is_file():
            raise CommandError(f"No such file: {options['file']}")
        if not 0 < options["holdout"] < 1:
            raise CommandError("--holdout must be between 0 and 1, e.g. 0.5.")
        starter = None
        if options["starter"]:
            try:
                starter = json.loads(options["starter"].read_text())
                validate(starter)
            except (OSError, ValueError) as error:
                raise CommandError(f"--starter: {error}") from error
            except InvalidContent as error:
                raise CommandError(f"--starter: {error}") from error
        quiet = options["json"]
        try:
            result = self._run(options, starter, quiet)
        except loop.LoopError as error:
            raise CommandError(str(error)) from error
        if quiet:
            self.stdout.write(json.dumps(result, indent=2))
            return
        for row in result["versions"]:
            self.stdout.write(
                f"v{row['version']}: {row['rules']:>2} rules  holdout AUC {row['holdout_auc']:.3f}"
            )
        self.stdout.write(f"logistic regression bound: {result['lr_bound_auc']:.3f}")

    def _run(self, options: dict, starter: dict | None, quiet: bool) -> dict:
        return loop.run(
            options["file"].read_bytes(), filename=options["file"].name, holdout_share=options["holdout"],
            seed=options["seed"], iterations=options["iterations"], starter=starter, limit=options["limit"],
            say=(lambda _: None) if quiet else self.stdout.write,
        )  # fmt: skip
