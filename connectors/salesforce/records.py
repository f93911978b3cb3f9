"""Salesforce records as the sync's `TakedownRequest`: pure mapping, no network.

Split from `connectors.salesforce.connector` so the mapping (dotted field paths, dates, currency
values, the configured type and platform values, the request link) can be tested on a plain dict,
and the connector keeps only login, calls and write-backs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.salesforce import history
from sync.config.model import SalesforceConfig, SalesforceFields
from sync.core.domain import Platform, RequestType, TakedownRequest
from sync.core.names import name_key

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")


def request_fields(fields: SalesforceFields) -> list[str]:
    """The fields a Takedown Request query must select for RecordMapper to map it (the
    org's API names, from config); unmapped ones are left out."""
    names = [
        "Id",
        fields.name,
        fields.account,
        fields.account_name,
        fields.type,
        fields.status,
        fields.effective_date,
        fields.reason,
        fields.platform,
        fields.leaving_platform,
        fields.credit_amount,
        fields.product_change_notes,
        fields.new_package,
        fields.services,
        fields.modified,
    ]
    return [n for n in names if n]


def account_status_path(sf: SalesforceConfig) -> str:
    """The account's status field seen from the request, through the relationship the
    account name is read by ("Account__r.Name" -> "Account__r.TDA_Status__c"); "" if the name
    is not read through one."""
    relationship, dot, _ = sf.fields.account_name.rpartition(".")
    return f"{relationship}.{sf.account.status_field}" if dot and sf.account.status_field else ""


class RecordMapper:
    """Maps query records to requests; the config's value maps are built once."""

    def __init__(self, sf: SalesforceConfig) -> None:
        self._sf_cfg = sf
        self._types = {name_key(v): RequestType(k) for k, v in sf.type_values.items()}
        self._platforms = {name_key(v): Platform(k) for k, v in sf.platform_values.items()}

    def to_request(self, rec: Mapping[str, Any], instance: str) -> TakedownRequest:
        sf = self._sf_cfg
        f = sf.fields

        def text(path: str) -> str:
            value = _get(rec, path) if path else None
            return "" if value is None else str(value).strip()

        rid = str(rec["Id"])
        raw_type, raw_platform, raw_date = text(f.type), text(f.platform), text(f.effective_date)
        status = text(f.status)
        approved = status == sf.approved_status
        credit, credit_problem = _decimal(_get(rec, f.credit_amount) if f.credit_amount else None)
        if sf.approval.source == "fields":
            rows = history.steps_from_fields(lambda p: _get(rec, p), sf.approval)
        else:
            found = rec.get("ProcessSteps")
            rows = list(found.get("records") or []) if isinstance(found, Mapping) else []
        steps = history.parse_steps(rows)
        leaving = _get(rec, f.leaving_platform) if f.leaving_platform else None
        status_path = account_status_path(sf)
        account_status = _get(rec, status_path) if status_path else None
        return TakedownRequest(
            id=rid,
            name=text(f.name),
            account_id=text(f.account),
            client_name=text(f.account_name),
            type=self._types.get(name_key(raw_type)),
            raw_type=raw_type,
            status=status,
            approved=approved,
            effective_date=_date(raw_date),
            raw_effective_date=raw_date,
            reason=text(f.reason),
            platform=self._platforms.get(name_key(raw_platform)),
            raw_platform=raw_platform,
            leaving_platform=leaving is True or str(leaving).lower() in ("true", "1", "yes"),
            credit_amount=credit,
            product_change_notes=text(f.product_change_notes),
            new_package=text(f.new_package),
            services=tuple(s.strip() for s in text(f.services).split(";") if s.strip()),
            link=self._link(instance, rid),
            modified_at=history.parse_datetime(_get(rec, f.modified)),
            approved_at=history.approved_at(steps),
            approval_steps=steps,
            account_status=None if account_status is None else str(account_status),
            sync_status=text(f.sync_status),
            sync_message=text(f.sync_message),
            credit_problem=credit_problem,
        )

    def _link(self, instance: str, rid: str) -> str:
        try:
            return self._sf_cfg.request_link.format(
                instance=instance, object=self._sf_cfg.object, id=rid
            )
        except (KeyError, IndexError, ValueError):
            return ""


def _get(rec: Mapping[str, Any], path: str) -> Any:
    """A (dotted) field of a query result, relationship by relationship; names ignore case."""
    cur: Any = rec
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return None
        if part in cur:
            cur = cur[part]
        else:
            low = part.lower()
            cur = next((v for k, v in cur.items() if k.lower() == low), None)
    return cur


def _date(raw: str) -> date | None:
    m = _DATE.match(raw)
    if m is None:
        return None
    try:
        return date.fromisoformat(m.group(1))
    except ValueError:
        return None


# No credit an agency issues comes near this; beyond it the value is a typo or garbage (and
# formatting a number like 1e999999999 with two decimals would take minutes).
MAX_CREDIT = Decimal("1e12")


def _decimal(value: Any) -> tuple[Decimal, str | None]:
    """A currency value; text that is not a finite, plausible number is a problem for this
    request (never a zero credit, and never an exception that stops the run: NaN compares
    with nothing, so `credit > 0` would raise)."""
    if value is None or value == "":
        return Decimal(0), None
    shown = str(value)[:40]
    try:
        amount = Decimal(str(value).strip())
    except (ArithmeticError, ValueError):  # InvalidOperation, Overflow: decimal's own errors
        return Decimal(0), f"the credit amount '{shown}' is not a number"
    if not amount.is_finite():
        return Decimal(0), f"the credit amount '{shown}' is not a finite number"
    if amount.copy_abs() >= MAX_CREDIT:  # copy_abs: no rounding, so no Overflow signal
        return Decimal(0), f"the credit amount '{shown}' is not a plausible amount"
    return amount, None
