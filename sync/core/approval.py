"""Did a request really go through the approval chain? A pure judgement, no I/O.

A status of "Approved" on the record is not enough: the process page fixes an order (first
approver, then second, then Finance when a credit is issued), and a person who flips the status
by hand skips it. The Salesforce connector parses the record's approval history into the
request (`TakedownRequest.approval_steps`, see `connectors.salesforce.history` for the two
sources); here it is judged: None (verified) or one plain-English sentence a person understands.
The planner asks before it plans anything for an approved request.

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
from collections.abc import Sequence
from decimal import Decimal

from sync.config.model import ApprovalChain
from sync.core.domain import (
    APPROVED,
    REJECTED,
    REMOVED,
    ApprovalStep,
    TakedownRequest,
    latest_round,
)
from sync.core.names import name_key

# The process page's name for the role; config holds who fills it.
FINANCE_LABEL = "Finance"

_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")


def judge(req: TakedownRequest, chain: ApprovalChain) -> str | None:
    """Why an approved request's history does not show the chain, or None when it does (or
    when there is nothing to judge: not approved, an unreadable credit amount, which is a
    problem of its own, or a source that carries no history)."""
    if not req.approved or req.credit_problem is not None or req.approval_steps is None:
        return None
    return check_chain(req.approval_steps, chain, req.credit_amount)


def check_chain(
    history: Sequence[ApprovalStep], chain: ApprovalChain, credit_amount: Decimal
) -> str | None:
    """None when the history (in time order) shows the whole chain in order; otherwise why not."""
    if not history:
        return "no approval history"
    rnd = latest_round(history)
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
    approvals: Sequence[ApprovalStep], who: Sequence[str], *, after: int, chain: ApprovalChain
) -> int | None:
    for i, step in enumerate(approvals):
        if i > after and _matches(step, who, chain):
            return i
    return None


def _matches(step: ApprovalStep, who: Sequence[str], chain: ApprovalChain) -> bool:
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


def _label(who: Sequence[str], steps: Sequence[ApprovalStep], *, by_name: bool) -> str:
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


def _who(step: ApprovalStep) -> str:
    return step.actor_name or step.actor_id or "an approver"
