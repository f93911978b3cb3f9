"""Salesforce's approval history, parsed into the request: rows in, `ApprovalStep`s out.

The connector reads; the core judges (`sync.core.approval.check_chain`). Two sources, chosen by
`ApprovalChain.source`:

- `"process_instance"`: the record's `ProcessSteps` (ProcessInstanceHistory rows: StepStatus,
  ActorId, Actor.Name, CreatedDate).
- `"fields"`: approvals recorded on the request itself. `ApprovalChain.fields` maps a role
  (`first`, `second`, `finance`) to the field holding who approved in that role (a name or a
  user id; empty = not approved), and optionally `<role>_at` to the time of that approval.
  `steps_from_fields()` turns such a record into history rows, so both sources parse alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sync.config.model import ApprovalChain
from sync.core.domain import APPROVED, ApprovalStep, latest_round

ROLES = ("first", "second", "finance")
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def parse_datetime(value: object) -> datetime | None:
    """A Salesforce dateTime (`2026-11-25T16:00:00.000+0000`) as an aware datetime, or None."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_steps(rows: Sequence[Mapping[str, Any]]) -> tuple[ApprovalStep, ...]:
    """ProcessInstanceHistory-shaped rows, in time order (rows without a time keep theirs)."""
    steps = []
    for i, row in enumerate(rows):
        actor = row.get("Actor")
        name = actor.get("Name") if isinstance(actor, Mapping) else None
        steps.append(
            ApprovalStep(
                status=str(row.get("StepStatus") or ""),
                actor_name=str(name or ""),
                actor_id=str(row.get("ActorId") or ""),
                at=parse_datetime(row.get("CreatedDate")),
                order=i,
            )
        )
    return tuple(sorted(steps, key=lambda s: (s.at or _EARLIEST, s.order)))


def approved_at(steps: Sequence[ApprovalStep]) -> datetime | None:
    """When the last approval of the last submission happened."""
    times = [s.at for s in latest_round(steps) if s.status == APPROVED and s.at]
    return max(times) if times else None


def steps_from_fields(get: Callable[[str], Any], chain: ApprovalChain) -> list[dict[str, Any]]:
    """History rows made from approver fields on the record (`chain.source == "fields"`).

    `get` reads a (possibly dotted) field of the record. A role with an empty field has not
    approved; a role whose `<role>_at` field is mapped and filled gets that time.
    """
    rows: list[dict[str, Any]] = []
    for role in ROLES:
        field = chain.fields.get(role)
        if not field:
            continue
        who = get(field)
        if who in (None, ""):
            continue
        at_field = chain.fields.get(f"{role}_at")
        at = get(at_field) if at_field else None
        rows.append(
            {
                "StepStatus": APPROVED,
                "ActorId": str(who),
                "Actor": {"Name": str(who)},
                "CreatedDate": at if isinstance(at, str) else None,
            }
        )
    return rows


def fields_needed(chain: ApprovalChain) -> list[str]:
    """Fields the query must select for the `"fields"` source."""
    return [f for key, f in chain.fields.items() if f and key.removesuffix("_at") in ROLES]
