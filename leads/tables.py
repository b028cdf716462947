from __future__ import annotations

import inspect
from typing import Any

import django_tables2 as tables
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django_tables2.utils import OrderByTuple, call_with_appropriate

from alignment.paging import BadCursor, Key, keys_for, keyset_page
from leads import cells
from leads.models import Lead


class KeysetMixin:
    """A keyset-paged table whose rows are built in one pass (templates/tables/htmx.html uses `rows_html`).

    `show_sort` marks the sort in the headers without re-sorting the page (the database already did). Each cell is
    its column's `render_<name>(record)`, or the table's default ("—") for an empty value, exactly as django-tables2
    shows it, but without its per-cell signature inspection and template lookups."""

    def show_sort(self, alias: str | None) -> None:
        self._order_by = OrderByTuple([alias] if alias else [])

    @property
    def rows_html(self) -> list[SafeString]:
        columns = [
            (
                _reader(bound.accessor),
                getattr(self, f"render_{bound.name}"),
                bound.attrs["td"].as_html(),
                bound.default,
            )
            for bound in self.columns
        ]
        row_attrs = [(escape(key), _row_attr(value)) for key, value in (self.row_attrs or {}).items()]
        rows = []
        for row in self.paginated_rows:
            record = row.record
            cells = []
            for read, render, attrs, default in columns:
                value = read(record)
                content = default if value is None or value == "" else render(record)
                cells.append(f"<td {attrs}>{conditional_escape(content)}</td>")
            rows.append(mark_safe(f"<tr {_attrs_html(row_attrs, record, row)}>{''.join(cells)}</tr>"))
        return rows


def _reader(accessor: Any) -> Any:
    """A cell's value from its record: a plain attribute read directly, anything else as django-tables2 reads it."""

    def resolve(record: Any) -> Any:
        return accessor.resolve(record, quiet=True)

    if "." in accessor or "__" in accessor:
        return resolve

    def read(record: Any) -> Any:
        value = getattr(record, accessor, None)
        return resolve(record) if callable(value) else value

    return read


def _row_attr(value: Any) -> Any:
    """A row attribute's value for a record: Meta.row_attrs callables take `record` (or, as django-tables2 allows,
    other keyword arguments: those go through its own caller)."""
    if not callable(value):
        return lambda record, table: value
    if list(inspect.signature(value).parameters) == ["record"]:
        return lambda record, table: value(record)
    return lambda record, table: call_with_appropriate(value, {"record": record, "table": table})


def _attrs_html(row_attrs: list[tuple[str, Any]], record: Any, row: Any) -> str:
    """The <tr> attributes exactly as django-tables2's BoundRow.attrs renders them (its even/odd class last)."""
    values = {key: compute(record, row.table) for key, compute in row_attrs}
    parity = row.get_even_odd_css_class()
    values["class"] = f"{values['class']} {parity}" if values.get("class") else parity
    return " ".join(
        f'{key}="{conditional_escape(value)}"' for key, value in values.items() if value is not None
    )


class QueueTable(KeysetMixin, tables.Table):
    """One row per lead: tier, who, why now, score, SLA clock, owner, state, actions."""

    tier = tables.Column(verbose_name="", orderable=False)
    who = tables.Column(
        verbose_name=_("Who"), accessor="last_name", order_by=("last_name", "first_name", "email")
    )
    why = tables.Column(verbose_name=_("Why now"), accessor="pk", orderable=False)
    score = tables.Column(verbose_name=_("Score"), attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    sla_due_at = tables.Column(verbose_name=_("SLA clock"), order_by=("sla_due_at",))
    owner = tables.Column(verbose_name=_("Owner"), order_by=("owner__first_name", "owner__username"))
    state = tables.Column(verbose_name=_("State"))
    actions = tables.Column(
        verbose_name="", accessor="pk", orderable=False, attrs={"td": {"class": "no-print actions"}}
    )

    class Meta:
        model = Lead
        fields = ("tier", "who", "why", "score", "sla_due_at", "owner", "state", "actions")
        empty_text = _("No lead matches. Clear the filters, or enjoy the calm.")
        attrs = {"class": "queue"}
        row_attrs = {
            "id": lambda record: f"lead-{record.pk}",
            "class": lambda record: f"tier-{record.tier or 'none'}",
        }

    def __init__(self, *args: Any, context: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context_extra = context

    def render_tier(self, record: Lead) -> str:
        return cells.tier(record)

    def render_who(self, record: Lead) -> str:
        return cells.who(record)

    def render_why(self, record: Lead) -> str:
        return cells.why(record)

    def render_score(self, record: Lead) -> str:
        return cells.score(record)

    def render_sla_due_at(self, record: Lead) -> str:
        return cells.clock(record)

    def render_owner(self, record: Lead) -> str:
        return cells.owner(record)

    def render_state(self, record: Lead) -> str:
        return cells.state(record)

    def render_actions(self, record: Lead) -> str:
        return cells.actions(record, self.context_extra)


class LeadListTable(KeysetMixin, tables.Table):
    """The all-leads list: who, company, state, tier, score, owner, source, when it arrived and last changed."""

    who = tables.Column(
        verbose_name=_("Who"), accessor="last_name", order_by=("last_name", "first_name", "email")
    )
    company = tables.Column(verbose_name=_("Company"))
    state = tables.Column(verbose_name=_("State"), attrs={"td": {"data-label": _("State")}})
    tier = tables.Column(verbose_name=_("Tier"))
    score = tables.Column(
        verbose_name=_("Score"),
        attrs={"td": {"class": "num", "data-label": _("Score")}, "th": {"class": "num"}},
    )
    owner = tables.Column(
        verbose_name=_("Owner"),
        order_by=("owner__first_name", "owner__username"),
        attrs={"td": {"data-label": _("Owner")}},
    )
    source = tables.Column(verbose_name=_("Source"), attrs={"td": {"data-label": _("Source")}})
    created_at = tables.DateTimeColumn(
        verbose_name=_("Arrived"), format="DATE_FORMAT", attrs={"td": {"data-label": _("Arrived")}}
    )
    updated_at = tables.DateTimeColumn(
        verbose_name=_("Last change"),
        format="SHORT_DATETIME_FORMAT",
        attrs={"td": {"data-label": _("Last change")}},
    )

    class Meta:
        model = Lead
        fields = ("who", "company", "state", "tier", "score", "owner", "source", "created_at", "updated_at")
        empty_text = _("No lead matches these filters.")
        attrs = {"class": "leads-list"}

    def render_who(self, record: Lead) -> str:
        return cells.who(record)

    def render_company(self, record: Lead) -> str:
        return record.company

    def render_state(self, record: Lead) -> str:
        return cells.state(record)

    def render_tier(self, record: Lead) -> str:
        return cells.tier(record)

    def render_score(self, record: Lead) -> str:
        return localize(record.score)

    def render_owner(self, record: Lead) -> str:
        return cells.owner(record)

    def render_source(self, record: Lead) -> str:
        return record.source

    def render_created_at(self, record: Lead) -> str:
        return date_format(timezone.localtime(record.created_at), "DATE_FORMAT")

    def render_updated_at(self, record: Lead) -> str:
        return date_format(timezone.localtime(record.updated_at), "SHORT_DATETIME_FORMAT")


def sort_keys(
    table_class: type[tables.Table], sort: str | None, queryset: QuerySet[Lead]
) -> tuple[str, list[Key], list[Q] | None] | None:
    """The order a column header's sort (`?sort=who`, `?sort=-score`) means, or None for the page's own order.

    A sort by a related row's fields (the owner's name) cannot have an index on the lead: it is read one related
    row at a time instead, in that row's order (a partition per owner that has rows here, then the unowned), each
    by the index on (owner, id); a page reads as many owners as it needs to fill up."""
    alias = (sort or "").split(",")[0].strip()
    column = table_class.base_columns.get(alias.lstrip("-"))
    if not alias or column is None or column.orderable is False:
        return None
    descending = alias.startswith("-")
    fields = list(column.order_by or ()) or [str(column.accessor or alias.lstrip("-"))]
    relation = fields[0].split("__")[0]
    if "__" not in fields[0] or any(not field.startswith(f"{relation}__") for field in fields):
        return alias, keys_for(Lead, fields, descending=descending), None
    related = Lead._meta.get_field(relation).related_model
    present = Exists(queryset.order_by().filter(**{f"{relation}_id": OuterRef("pk")}))
    ordered = related._default_manager.filter(present).order_by(
        *(field.split("__", 1)[1] for field in fields)
    )
    partitions = [Q(**{f"{relation}_id": pk}) for pk in ordered.values_list("pk", flat=True)]
    partitions.append(Q(**{f"{relation}__isnull": True}))  # no owner: last, as PostgreSQL sorts a null name
    if descending:
        partitions.reverse()
    return alias, [Key("pk", "int", descending=descending)], partitions


def keyset_table(
    table_class: type[tables.Table],
    queryset: QuerySet[Lead],
    request: HttpRequest,
    *,
    per_page: int,
    keys: list[Key],
    partitions: list[Q] | None = None,
    **kwargs: Any,
) -> tables.Table:
    """A table of one keyset page (`?after=` / `?before=` cursors): no COUNT, no OFFSET, a bounded query count.

    A header's sort replaces `keys` (and `partitions`); a cursor that does not fit (edited, or kept in the URL
    when a header changed the sort) shows the first page."""
    sorted_by = sort_keys(table_class, request.GET.get("sort"), queryset)
    if sorted_by:
        keys, partitions = sorted_by[1], sorted_by[2]
    try:
        page = keyset_page(
            queryset, keys, per_page=per_page, partitions=partitions,
            after=request.GET.get("after") or None, before=request.GET.get("before") or None,
        )  # fmt: skip
    except BadCursor:
        page = keyset_page(queryset, keys, per_page=per_page, partitions=partitions)
    table = table_class(page.records, **kwargs)
    table.show_sort(sorted_by[0] if sorted_by else None)
    table.keyset = page
    return table
