"""SOQL text built from named pieces, with every value escaped and every name checked.

Field names come from config and values (statuses, ids) from config and our own state; none of
them is trusted to be free of quotes. Values are quoted by simple-salesforce's own
`quote_soql_value` (Salesforce's escape rules for string literals, and its date and dateTime
literal forms), so the client library we already trust for the wire does it once for
everyone; names go through `name()` (API names only), which the library does not check. So a
config value such as `Approved' OR Name != '` stays one harmless literal instead of widening
the query, and a field name such as `Status__c FROM User --` is refused before any I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from simple_salesforce.format import quote_soql_value

# Largest IN list we send: keeps the query text and the GET URL far below Salesforce's limits.
MAX_IN_VALUES = 200

# ProcessInstanceHistory rows for the record, oldest first: the approval chain in one query.
PROCESS_STEPS = "ProcessSteps"
PROCESS_STEP_FIELDS = ("Id", "StepStatus", "ActorId", "Actor.Name", "CreatedDate", "Comments")

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


class SoqlNameError(ValueError):
    """A field or object name that is not a Salesforce API name (usually a config typo)."""


def name(value: str) -> str:
    """An API name (`Status__c`, `Account__r.Name`), refused if it could carry anything else."""
    if not _NAME.match(value):
        raise SoqlNameError(f"not a Salesforce API name: {value!r}")
    return value


def quote(value: str) -> str:
    """A string literal, quoted and escaped (LIKE wildcards are only special inside LIKE,
    which we never build)."""
    return quote_soql_value(str(value))


def datetime_literal(value: datetime) -> str:
    """A dateTime literal in UTC, whole seconds rounded down (so a range only widens). The
    library would read a naive datetime as local time; we refuse one instead."""
    if value.tzinfo is None:
        raise ValueError("SOQL datetimes must be timezone-aware")
    return quote_soql_value(value)


def in_list(values: Iterable[str]) -> str:
    """`('a','b')`, each value quoted. An empty list is refused: SOQL has no empty IN."""
    items = [str(v) for v in values]
    if not items:
        raise ValueError("an IN list needs at least one value")
    return quote_soql_value(items)


def chunks(values: Sequence[str], size: int = MAX_IN_VALUES) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def select(
    fields: Sequence[str],
    obj: str,
    *,
    where: str = "",
    subqueries: Sequence[str] = (),
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> str:
    """A whole SELECT. `where` must already be built from `quote()`d values."""
    # Salesforce refuses a field selected twice; names are case-insensitive.
    seen: dict[str, str] = {}
    for f in fields:
        seen.setdefault(name(f).lower(), f)
    parts = [f"SELECT {', '.join([*seen.values(), *subqueries])}", f"FROM {name(obj)}"]
    if where:
        parts.append(f"WHERE {where}")
    if order_by:
        parts.append("ORDER BY " + ", ".join(name(f) for f in order_by))
    if limit is not None:
        parts.append(f"LIMIT {int(limit)}")
    return " ".join(parts)


def subquery(fields: Sequence[str], relationship: str, *, order_by: Sequence[str] = ()) -> str:
    """A child-relationship subquery, e.g. the record's ProcessSteps."""
    return "(" + select(fields, relationship, order_by=order_by) + ")"


def any_of(*conditions: str) -> str:
    """OR of conditions, each parenthesised: SOQL refuses AND and OR mixed without them."""
    kept = [c for c in conditions if c]
    if len(kept) == 1:
        return kept[0]
    return " OR ".join(f"({c})" for c in kept)


def all_of(*conditions: str) -> str:
    kept = [c for c in conditions if c]
    if len(kept) == 1:
        return kept[0]
    return " AND ".join(f"({c})" for c in kept)
