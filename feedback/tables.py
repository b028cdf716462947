import django_tables2 as tables

from feedback.models import Cycle


class NurtureTable(tables.Table):
    lead = tables.Column(linkify=lambda record: record.lead.get_absolute_url(), verbose_name="Lead",
                         order_by=("lead__last_name",))  # fmt: skip
    company = tables.Column(accessor="lead__company", verbose_name="Company")
    rejection_reason = tables.Column(verbose_name="Why sales handed it back")
    rejection_comment = tables.Column(verbose_name="Comment", default="")
    score = tables.Column(
        verbose_name="Score at hand-off", attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    source = tables.Column(verbose_name="Source")
    owner = tables.Column(verbose_name="Rep")
    rejected_at = tables.DateTimeColumn(verbose_name="Rejected", format="j M Y")

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
        empty_text = "No lead has been handed back to marketing."
