import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from feedback.models import Cycle


class NurtureTable(tables.Table):
    lead = tables.Column(linkify=lambda record: record.lead.get_absolute_url(), verbose_name=_("Lead"),
                         order_by=("lead__last_name",))  # fmt: skip
    company = tables.Column(accessor="lead__company", verbose_name=_("Company"))
    rejection_reason = tables.Column(verbose_name=_("Why sales handed it back"))
    rejection_comment = tables.Column(verbose_name=_("Comment"), default="")
    score = tables.Column(
        verbose_name=_("Score at hand-off"), attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    source = tables.Column(verbose_name=_("Source"))
    owner = tables.Column(verbose_name=_("Rep"))
    rejected_at = tables.DateTimeColumn(verbose_name=_("Rejected"), format="DATE_FORMAT")

    class Meta:
        model = Cycle
        fields = (
            "lead",
            "company",
            "rejection_reason",
            "rejection_comment",
            "score",
            "source",
            "owner",
            "rejected_at",
        )
        empty_text = _("No lead has been handed back to marketing.")
