"""MQL status and reason written back to the CRM as a CSV its importer reads: HubSpot contact properties or
Salesforce Lead fields, by their API names. Alignment's state maps onto each CRM's own lifecycle/status values."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from alignment.csvsafe import safe_cell
from leads.models import Lead, LeadEvent, State

# state → (HubSpot lifecyclestage, HubSpot hs_lead_status, Salesforce Lead Status)
STATUS: dict[str, tuple[str, str, str]] = {
    State.NEW: ("lead", "NEW", "Open - Not Contacted"),
    State.MQL: ("marketingqualifiedlead", "NEW", "Open - Not Contacted"),
    State.SAL: ("marketingqualifiedlead", "IN_PROGRESS", "Working - Contacted"),
    State.SQL: ("salesqualifiedlead", "OPEN_DEAL", "Working - Contacted"),
    State.RECYCLED: ("lead", "UNQUALIFIED", "Closed - Not Converted"),
    State.WON: ("customer", "OPEN_DEAL", "Closed - Converted"),
    State.LOST: ("other", "UNQUALIFIED", "Closed - Not Converted"),
    State.DISQUALIFIED: ("other", "UNQUALIFIED", "Closed - Not Converted"),
}
# Custom properties/fields to create once in the CRM (named in the README's recipe).
HUBSPOT_COLUMNS = ["email", "firstname", "lastname", "company", "lifecyclestage", "hs_lead_status",
                   "alignment_score", "alignment_mql_reason", "alignment_status_reason", "alignment_lead_url"]  # fmt: skip
SALESFORCE_COLUMNS = ["Email", "FirstName", "LastName", "Company", "Status", "Rating", "Alignment_Score__c",
                      "MQL_Reason__c", "Status_Reason__c", "Alignment_URL__c"]  # fmt: skip
FORMATS = {"hubspot": HUBSPOT_COLUMNS, "salesforce": SALESFORCE_COLUMNS}


class Echo:
    def write(self, value: str) -> str:
        return value


def crm_leads(*, since: datetime | None) -> QuerySet[Lead]:
    """Leads sales has seen (handed over at least once), with the reason of their last state change."""
    last_reason = LeadEvent.objects.filter(lead=OuterRef("pk"), kind=LeadEvent.Kind.STATE).order_by(
        "-at", "-pk"
    )
    leads = Lead.objects.filter(mql_at__isnull=False).exclude(email="")
    if since:
        leads = leads.filter(updated_at__gte=since)
    return leads.annotate(status_reason=Subquery(last_reason.values("reason")[:1])).order_by("pk")


def crm_rows(*, fmt: str, leads: QuerySet[Lead], site_url: str) -> Iterator[list[object]]:
    yield FORMATS[fmt]
    for lead in leads.iterator(chunk_size=2000):
        lifecycle, hs_status, sf_status = STATUS.get(lead.state, ("", "", ""))
        url = f"{site_url.rstrip('/')}{lead.get_absolute_url()}" if site_url else ""
        reason = lead.status_reason or ""
        if fmt == "hubspot":
            row = [lead.email, lead.first_name, lead.last_name, lead.company, lifecycle, hs_status, lead.score,
                   lead.handoff_reason, reason, url]  # fmt: skip
        else:
            rating = {"hot": "Hot", "warm": "Warm"}.get(lead.tier, "Cold")
            row = [lead.email, lead.first_name, lead.last_name, lead.company or "[not provided]", sf_status, rating,
                   lead.score, lead.handoff_reason, reason, url]  # fmt: skip
        yield [safe_cell(value) for value in row]


def crm_csv(*, fmt: str, leads: QuerySet[Lead], site_url: str) -> Iterator[str]:
    writer = csv.writer(Echo())
    return (writer.writerow(row) for row in crm_rows(fmt=fmt, leads=leads, site_url=site_url))
