"""Two requests for one client: one offboarding, whatever the number of requests. Pure.

Effects about a client, not a request (`sync.core.changes.CLIENT_LEVEL`), happen once per client and
offboarding, for the request that started it. A second approved cancellation of a client already
being offboarded gets those effects recorded as skipped, and one finding for a person naming what
differs. An offboarding ends when the client comes back or its request is withdrawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sync.core.changes import CLIENT_LEVEL, DUPLICATE, Acted, Decision, acted_of, same_account
from sync.core.domain import (
    FINAL_STATES,
    Effect,
    EffectState,
    Finding,
    RequestType,
    TakedownRequest,
)
from sync.core.names import display_name, name_key


def offboarding_owner(
    req: TakedownRequest,
    requests: Iterable[TakedownRequest],
    history: Mapping[str, Acted],
    *,
    cancelled: str = "",
    inactive: frozenset[str] = frozenset(),
) -> Acted | None:
    """The request already offboarding this cancellation's client, if another one is: one the
    sync acted on before (its snapshot), else an earlier approved cancellation of this run.

    An offboarding ends when the client comes back: an account whose status (as the poll read
    it) is no longer `cancelled`, the status the sync sets, starts a new offboarding. A request
    seen in this run no longer approved (`inactive`: withdrawn) offboards nobody."""
    if req.type is not RequestType.CANCELLATION or not req.account_id:
        return None
    came_back = bool(cancelled) and req.account_status not in (None, cancelled)
    mine = history.get(req.id)
    if mine is not None:
        # Recorded as a duplicate once, it stays one; otherwise it started its own offboarding.
        return history.get(mine.duplicate_of) if mine.duplicate_of else None
    acted = sorted(
        (
            a
            for a in history.values()
            if a.request_id != req.id
            and a.request_id not in inactive
            and not a.duplicate_of
            and a.type == str(RequestType.CANCELLATION)
            and same_account(a.account_id, req.account_id)
        ),
        key=lambda a: a.request_id,
    )
    if acted and not came_back:
        return acted[0]
    for other in requests:
        if other.id == req.id:
            break
        if (
            other.approved
            and other.type is RequestType.CANCELLATION
            and same_account(other.account_id, req.account_id)
            and other.id not in history
        ):
            return acted_of(other)
    return None


def on_duplicate(
    req: TakedownRequest, owner: Acted, effects: Sequence[Effect], seen: Mapping[str, EffectState]
) -> Decision:
    """A second request for a client already being offboarded: its client effects are the
    first one's; a person hears once (the run that records the skips) what differs."""
    out = Decision()
    why = (
        f"done once for {display_name(req.client_name)}, by {owner.name or owner.request_id} "
        "(this is a second request for the same client)"
    )
    out.skips = [
        (e, why) for e in effects if e.kind in CLIENT_LEVEL and seen.get(e.key) not in FINAL_STATES
    ]
    if not out.skips:
        return out
    differs = []
    if owner.effective_date != req.effective_date and req.effective_date is not None:
        was = f"{owner.effective_date:%Y-%m-%d}" if owner.effective_date else "(none)"
        differs.append(f"effective date {req.effective_date:%Y-%m-%d} here, {was} there")
    if name_key(owner.reason) != name_key(req.reason):
        differs.append(
            f"reason '{' '.join(req.reason.split()) or '(none)'}' here, "
            f"'{' '.join(owner.reason.split()) or '(none)'}' there"
        )
    what = "; what differs: " + "; ".join(differs) if differs else " (the same dates and reason)"
    out.findings.append(
        Finding(
            req.id,
            DUPLICATE,
            f"a second approved cancellation of {display_name(req.client_name)}: "
            f"{owner.label} is already offboarding it, so the Simpli.fi notice, the offboarding "
            f"row, the tracker, the removal, the Trello archive and the reminders are done once, "
            f"for {owner.name or owner.request_id}{what}. If this request's values are the "
            f"right ones, correct {owner.name or owner.request_id} in Salesforce (the sync "
            "follows a corrected date); withdraw the duplicate if it was filed twice.",
            label=req.label,
        )
    )
    return out
