"""Did a request really go through the approval chain? A pure check, no I/O.

A status of "Approved" on the record is not enough: the process page fixes an order (first
approver, then second, then Finance when a credit is issued), and a person who flips the status
by hand skips it. The check reads the record's approval history and answers None (verified) or
one plain-English sentence a person understands.

Two sources of history, chosen by `ApprovalChain.source`:

- `"process_instance"`: Salesforce's own approval history, the record's `ProcessSteps`
  (ProcessInstanceHistory rows: StepStatus, ActorId, Actor.Name, CreatedDate).
- `"fields"`: for orgs that record approvals on the request itself. `ApprovalChain.fields` maps
  a role to a field of the request: `first`, `second`, `finance` name the field holding who
  approved in that role (a name or a user id; empty = not approved); the optional `first_at`,
  `second_at`, `finance_at` name date/time fields of those approvals. With them the order is
  checked; without them only who approved is. `steps_from_fields()` turns such a record into
  history rows, so both sources share one check.

Rules: only the last submission counts (history from the last "Started" row on); a "Rejected" or
"Removed" row in it means not approved; among its "Approved" rows there must be one by a first
approver, a later one by a second approver and, when a credit is issued, a later one by Finance.
Actors match by Salesforce user id (`ActorId`, or the id an approver field holds; 15 or 18
characters): a display name can be shared by two users or changed, and this check is the gate
to deleting rows and emailing a partner. Only the sandbox may match by name
(`match_by = "name"`, refused by the config check elsewhere), compared with
`sync.core.names.name_key` (Unicode form, case and spacing ignored).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sync.config.model import ApprovalChain
from sync.core.names import name_key

APPROVED = "Approved"
STARTED = "Started"
REJECTED = "Rejected"
REMOVED = "Removed"
# The process page's name for the role; config holds who fills it.
FINANCE_LABEL = "Finance"
ROLES = ("first", "second", "finance")

_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Step:
    status: str
    actor_name: str
    actor_id: str
    at: datetime | None
    order: int  # position in the history as given, for rows without a time


def parse_datetime(value: object) -> datetime | None:
    """A Salesforce dateTime (`2026-11-25T16:00:00.000+0000`) as an aware datetime, or None."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_steps(rows: Sequence[Mapping[str, Any]]) -> list[Step]:
    """ProcessInstanceHistory-shaped rows, in time order (rows without a time keep theirs)."""
    steps = []
    for i, row in enumerate(rows):
        actor = row.get("Actor")
        name = actor.get("Name") if isinstance(actor, Mapping) else None
        steps.append(
            Step(
                status=str(row.get("StepStatus") or ""),
                actor_name=str(name or ""),
                actor_id=str(row.get("ActorId") or ""),
                at=parse_datetime(row.get("CreatedDate")),
                order=i,
            )
        )
    return sorted(steps, key=lambda s: (s.at or _EARLIEST, s.order))


def current_round(steps: Sequence[Step]) -> list[Step]:
    """The last submission's rows: from the last "Started" row on (all rows if none)."""
    starts = [i for i, s in enumerate(steps) if s.status == STARTED]
    return list(steps[starts[-1] :]) if starts else list(steps)


def approved_at(rows: Sequence[Mapping[str, Any]]) -> datetime | None:
    """When the last approval of the last submission happened."""
    times = [s.at for s in current_round(parse_steps(rows)) if s.status == APPROVED and s.at]
    return max(times) if times else None


def check_chain(
    steps: Sequence[Mapping[str, Any]], chain: ApprovalChain, credit_amount: Decimal
) -> str | None:
    """None when the history shows the whole chain in order; otherwise why not."""
    history = parse_steps(steps)
    if not history:
        return "no approval history"
    rnd = current_round(history)
    stops = [s for s in rnd if s.status in (REJECTED, REMOVED)]
    if stops:
        last = stops[-1]
        when = f" on {last.at:%Y-%m-%d}" if last.at else ""
        if last.status == REJECTED:
            return f"rejected by {_who(last)}{when}"
        return f"the approval request was recalled{when}"
    approvals = [s for s in rnd if s.status == APPROVED]
    by_name = chain.match_by == "name"
    if by_name:
        ambiguous = _ambiguous(chain, credit_amount)
        if ambiguous:
            return ambiguous
    first_name = _label(chain.first, history, by_name=by_name)
    second_name = _label(chain.second, history, by_name=by_name)

    first = _find(approvals, chain.first, after=-1, chain=chain)
    if first is None:
        return f"{first_name} (first approver) has not approved"
    second = _find(approvals, chain.second, after=first, chain=chain)
    if second is None:
        if _find(approvals, chain.second, after=-1, chain=chain) is not None:
            return f"{second_name} approved before {first_name}"
        return f"{second_name} (second approver) has not approved"
    if credit_amount > 0:
        finance = _find(approvals, chain.finance, after=second, chain=chain)
        if finance is None:
            if _find(approvals, chain.finance, after=-1, chain=chain) is not None:
                return f"{FINANCE_LABEL} approved before {second_name}"
            return (
                f"{FINANCE_LABEL} has not approved, but a credit of {credit_amount:,.2f} is issued"
            )
    return None


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


def _ambiguous(chain: ApprovalChain, credit_amount: Decimal) -> str | None:
    """In the sandbox's name mode: a configured name that several users share cannot identify
    an approver (a namesake would pass the gate), so no request is verified by it."""
    roles = [chain.first, chain.second] + ([chain.finance] if credit_amount > 0 else [])
    for who in roles:
        for name in who:
            ids = chain.sandbox_users.get(name_key(name), [])
            if len(ids) > 1:
                return (
                    f"{len(ids)} Salesforce users are named '{name}' ({', '.join(ids)}), so "
                    "an approval by that name cannot be trusted; give the approvers' user ids "
                    "in the config"
                )
    return None


def _find(
    approvals: Sequence[Step], who: Sequence[str], *, after: int, chain: ApprovalChain
) -> int | None:
    for i, step in enumerate(approvals):
        if i > after and _matches(step, who, chain):
            return i
    return None


def _matches(step: Step, who: Sequence[str], chain: ApprovalChain) -> bool:
    if chain.match_by != "name":
        return any(same_user_id(candidate, step.actor_id) for candidate in who)
    name = name_key(step.actor_name)
    for candidate in who:
        if not name or name_key(candidate) != name:
            continue
        # The sandbox knows its users: the name must also be that user's id.
        ids = chain.sandbox_users.get(name, [])
        if not ids or any(same_user_id(i, step.actor_id) for i in ids):
            return True
    return False


def same_user_id(a: str, b: str) -> bool:
    """Two Salesforce ids name the same record (15- and 18-character forms agree)."""
    a, b = a.strip(), b.strip()
    if not a or not b:
        return False
    if a == b:
        return True
    return bool(_ID.match(a) and _ID.match(b) and a[:15] == b[:15])


def is_record_id(text: str) -> bool:
    """Shaped like a Salesforce record id (15 or 18 letters and digits)."""
    return bool(_ID.match(text.strip()))


def _label(who: Sequence[str], steps: Sequence[Step], *, by_name: bool) -> str:
    """How a person recognises a role's approver in a message: the name the history gives
    for the configured id (ids alone mean little to a reader), else what config says."""
    if not who:
        return "?"
    if by_name:
        return who[0]
    for step in steps:
        if step.actor_name and any(same_user_id(w, step.actor_id) for w in who):
            return f"{step.actor_name} ({who[0]})"
    return who[0]


def _who(step: Step) -> str:
    return step.actor_name or step.actor_id or "an approver"
