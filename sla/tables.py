import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from alignment.templatetags.alignment_tags import stock
from sla.models import AgreementVersion


class VersionTable(tables.Table):
    number = tables.Column(verbose_name=_("Version"), linkify=True)
    title = tables.Column(verbose_name=_("Title"), linkify=True)
    status = tables.TemplateColumn(
        '<span class="badge {{ record.status }}">{{ record.get_status_display }}</span>',
        verbose_name=_("Status"),
    )
    created_by = tables.Column(verbose_name=_("Started by"))
    updated_at = tables.DateTimeColumn(verbose_name=_("Last change"), format="SHORT_DATETIME_FORMAT")
    activated_at = tables.DateTimeColumn(verbose_name=_("Active since"), format="DATE_FORMAT", default="—")

    class Meta:
        model = AgreementVersion
        fields = ("number", "title", "status", "created_by", "updated_at", "activated_at")
        order_by = ("-number",)
        empty_text = _("No agreement yet. A manager or marketer starts the first draft.")

    def render_title(self, value: str) -> str:
        return stock(value)

    def render_number(self, value: int) -> str:
        return f"v{value}"
