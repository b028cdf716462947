"""`python manage.py demo_data`: demo users (one per role) and the data that exists so far. Idempotent."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from alignment.demo import ensure_demo_users
from alignment.roles import Role
from feedback.demo import demo_changes_ensure, demo_cycles_attribute, demo_cycles_generate
from feedback.reasons import ensure_default_reasons
from leads.demo import JAPAN_COUNTRIES, JAPAN_TEAM, demo_leads_generate, demo_segments_ensure
from leads.demo_recent import demo_recent_work
from leads.models import Lead
from leads.scoring import Rules
from sla.models import AgreementVersion
from sla.services import agreement_ensure_starter


class Command(BaseCommand):
    help = "Create one demo user per role, the starter agreement and demo leads (safe to run again)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--leads", type=int, default=400, help="How many demo leads to generate (first run only)"
        )
        parser.add_argument(
            "--segments",
            action="store_true",
            help="Also two segments: Enterprise Japan (own agreement, calendar, team, leads) and SMB global",
        )

    def handle(self, *args, **options) -> None:
        ensure_default_reasons()
        users = ensure_demo_users()
        User = get_user_model()
        by_role = {demo.role: User.objects.get(username=demo.username) for demo in users}
        # Signed before the demo history starts (180 days), so every past hand-over was made under it
        version = agreement_ensure_starter(
            marketing_manager=by_role[Role.MARKETING_MANAGER],
            sales_manager=by_role[Role.SALES_MANAGER],
            now=timezone.now() - timedelta(days=200),
        )
        self.stdout.write(
            f"Agreement: v{version.number} · {version.title} ({version.get_status_display().lower()})"
        )
        segments = None
        if options["segments"]:
            segments = demo_segments_ensure(
                now=timezone.now(), signed_at=timezone.now() - timedelta(days=200)
            )
            self.stdout.write(
                f"Segments: {segments.japan.name} (v{segments.japan_agreement.number}, Japanese calendar), "
                f"{segments.smb.name} (the default)"
            )
        if Lead.objects.exists():
            self.stdout.write(
                f"Leads: {Lead.objects.count():,} already there (demo leads are generated once)."
            )
        else:
            if segments is not None:  # a change last quarter in each segment, for the trend to judge
                for changed in demo_changes_ensure(
                    segments=[segments.japan, segments.smb], now=timezone.now()
                ):
                    self.stdout.write(f"  {changed.segment.name}: v{changed.number} · {changed.title}, in force since "
                                      f"{changed.activated_at:%Y-%m-%d}")  # fmt: skip
                version = AgreementVersion.objects.active_for(segments.smb)
            reps = [by_role[Role.REP], User.objects.get(username="rep2")]
            result = demo_leads_generate(
                rules=Rules.of(version), now=timezone.now(), reps=reps, count=options["leads"]
            )
            if segments is not None:
                japan = demo_leads_generate(
                    rules=Rules.of(AgreementVersion.objects.active_for(segments.japan)), now=timezone.now(),
                    count=max(20, options["leads"] // 3), reps=list(User.objects.filter(username="jp-rep")),
                    countries=JAPAN_COUNTRIES, min_employees=500, segment=segments.japan, tag="jp", seed=81,
                )  # fmt: skip
                self.stdout.write(f"Enterprise Japan: {japan.leads:,} leads, {japan.mqls:,} MQLs")
            self.stdout.write(
                f"Leads: {result.leads:,} generated, {result.activities:,} activities, {result.mqls:,} MQLs"
            )
            self.stdout.write(f"Hand-overs: {demo_cycles_generate():,} cycles with what sales did")
            if segments is not None:
                demo_cycles_attribute()
            reps = User.objects.filter(groups__name=Role.REP.value).order_by("pk")
            reps = list(reps.filter(groups=segments.smb.team) if segments is not None else reps)
            recent = demo_recent_work(reps=reps, now=timezone.now())
            self.stdout.write(
                f"Today: {recent.claimed} fresh leads claimed across {len(reps)} reps, {recent.waiting} hot leads "
                f"waiting, {recent.breaches} SLA breaches found"
            )
        self.stdout.write("Demo users (username / password / role):")
        for demo in users:
            self.stdout.write(f"  {demo.username:<18} {demo.password:<22} {demo.role.value}")
        for username, password, _first, _last, role in JAPAN_TEAM if segments is not None else ():
            self.stdout.write(f"  {username:<18} {password:<22} {role} (Enterprise Japan)")
