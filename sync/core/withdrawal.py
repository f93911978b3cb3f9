"""A request that leaves "approved" after the sync acted, and one that is approved again. Pure.

The process page does not say what happens when a client is saved late; the decisions here:

- **Withdrawn** (the status is no longer the approved value): nothing is undone by itself. What
  the sync still owed is put *on hold* (a non-final ledger state, so the request keeps being
  polled and nothing is lost), a person is told what was done, and Salesforce's write-back
  fields say the truth once ("Withdrawn after sync acted", what was done, that nothing was
  undone, what to check), through the normal write-back effect
  `<request>/salesforce_writeback/withdrawn:<round>`. The account status is reported in that
  message, never changed here (restoring it is a person's call, or an undo command's).
- **Approved again**: only a *new* approval round counts (its last approval is later than the
  round that was withdrawn; the chain itself is checked like any approval). Then the held
  effects resume, a note says so, and Salesforce is told once more
  (`<request>/salesforce_writeback/resumed:<round>`). A status set back to approved by hand,
  with no new round, is reported for a person and nothing resumes.

`<round>` is the time of the round's last approval (`YYYYmmddTHHMMSSZ`, or `none`), so a second
withdrawal after a second approval gets its own write-back, each exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date

from sync.core.domain import (
    FINAL_STATES,
    Effect,
    EffectKind,
    EffectState,
    Finding,
    TakedownRequest,
    effect_key,
)

WITHDRAWN = "withdrawn"
RESUMED = "resumed"
WITHDRAWN_STATUS = "Withdrawn after sync acted"
NO_ROUND = "none"
_LATE = frozenset({EffectKind.TRACKER_REMOVE, EffectKind.TRELLO_ARCHIVE})


def round_stamp(req: TakedownRequest) -> str:
    """The approval round the request shows now, as a sortable stamp."""
    if req.approved_at is None:
        return NO_ROUND
    return req.approved_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _target(key: str) -> str:
    parts = key.split("/", 2)
    return parts[2] if len(parts) == 3 else ""


def is_status_writeback(key: str) -> bool:
    """A write-back about the withdrawal itself (not a step of the offboarding)."""
    kind = key.split("/", 2)[1] if key.count("/") >= 2 else ""
    return kind == EffectKind.SALESFORCE_WRITEBACK and _target(key).startswith(
        (f"{WITHDRAWN}:", f"{RESUMED}:")
    )


@dataclass
class Decision:
    """What the planner adds for one withdrawn or re-approved request."""

    findings: list[Finding] = field(default_factory=list)
    holds: list[tuple[Effect, str]] = field(default_factory=list)
    due: list[Effect] = field(default_factory=list)
    resume: list[str] = field(default_factory=list)
    blocked: bool = False  # approved again without a new round: plan nothing else


def withdrawn(
    req: TakedownRequest,
    seen: Mapping[str, EffectState],
    effects: Sequence[Effect] | None,
    today: date,
    account_status: str,
    describe: Callable[[Effect], str],
) -> Decision:
    """The request is no longer approved: report, hold what is owed, tell Salesforce once."""
    out = Decision()
    by_key = {e.key: e for e in effects or ()}

    def words(key: str) -> str:
        e = by_key.get(key)
        return describe(e) if e is not None else key.split("/", 1)[1]

    acted = sorted(
        k
        for k, s in seen.items()
        if s in (EffectState.APPLIED, EffectState.SENDING) and not is_status_writeback(k)
    )
    owed = [
        e
        for e in effects or ()
        if e.key in seen
        and seen[e.key] not in FINAL_STATES
        and seen[e.key] not in (EffectState.SENDING, EffectState.ON_HOLD)
    ]
    held = owed + [by_key[k] for k, s in seen.items() if s is EffectState.ON_HOLD and k in by_key]
    reason = (
        f"the request is no longer approved (status '{req.status}'); on hold until it is "
        "approved again with a new approval round"
    )
    out.holds = [(e, reason) for e in owed]
    if not acted:
        return out
    done = ", ".join(words(k) for k in acted)
    later = ", ".join(describe(e) for e in held) or "nothing"
    out.findings.append(
        Finding(
            req.id,
            "withdrawn_after_action",
            f"status changed to '{req.status}' after the sync acted on it ({len(acted)} "
            f"effect(s) done: {done}). Nothing is undone automatically; to reverse them all, "
            f"exactly once, run `python -m sync undo {req.name or req.id}` (`--dry-run` first "
            f"shows how). On hold: {later} (they resume only if the request is approved again "
            "with a new approval round).",
            label=req.label,
        )
    )
    target = _withdrawn_target(req, seen)
    if target is None:
        return out
    approval_wb = effect_key(req.id, EffectKind.SALESFORCE_WRITEBACK, "approval")
    if account_status and seen.get(approval_wb) is EffectState.APPLIED:
        account = (
            f" The account status was left as the sync set it ('{account_status}'): change it "
            "by hand if the client stays."
        )
    else:
        account = " The sync had not changed the account status."
    message = (
        f"Withdrawn (status '{req.status}') after the sync acted; nothing was undone. Done by "
        f"the sync: {done}. Check each of these by hand and revert what should not stand."
        f"{account} Not done (on hold): {later}."
    )
    out.due.append(
        Effect(
            req.id,
            EffectKind.SALESFORCE_WRITEBACK,
            target,
            today,
            req,
            {"sync_status": WITHDRAWN_STATUS, "sync_message": message, "account_status": ""},
        )
    )
    return out


def _stamps(seen: Mapping[str, EffectState], prefix: str) -> dict[str, str]:
    """Round stamp -> key of this request's status write-backs of one kind."""
    return {
        _target(k).split(":", 1)[1]: k
        for k in seen
        if is_status_writeback(k) and _target(k).startswith(f"{prefix}:")
    }


def _withdrawn_target(req: TakedownRequest, seen: Mapping[str, EffectState]) -> str | None:
    """The withdrawal write-back still owed, if any: one per withdrawal (a withdrawal is the one
    since the last resumption), retried under its first key until it is done."""
    last_resume = max(_stamps(seen, RESUMED), default="")
    mine = {st: k for st, k in _stamps(seen, WITHDRAWN).items() if st >= last_resume}
    if any(seen[k] in FINAL_STATES for k in mine.values()):
        return None
    if mine:
        return _target(min(mine.values()))
    return f"{WITHDRAWN}:{round_stamp(req)}"


def reapproved(
    req: TakedownRequest,
    seen: Mapping[str, EffectState],
    effects: Sequence[Effect],
    today: date,
    account_status: str,
    describe: Callable[[Effect], str],
) -> Decision | None:
    """The request is approved (chain verified) and has effects on hold: resume them if this is
    a new approval round, else report it. None when nothing is on hold."""
    held = [k for k, s in seen.items() if s is EffectState.ON_HOLD]
    if not held:
        return None
    out = Decision()
    known = [st for st in _stamps(seen, WITHDRAWN) if st != NO_ROUND]
    now = round_stamp(req)
    last = max(known, default=None)
    # Without approval times (the "fields" source with no *_at fields) rounds cannot be told
    # apart: a verified chain and an approved status are then all there is to go on.
    if last is not None and now != NO_ROUND and now <= last:
        when = req.approved_at.strftime("%Y-%m-%d") if req.approved_at else "none"
        out.blocked = True
        out.findings.append(
            Finding(
                req.id,
                "reapproved_without_new_round",
                f"status is '{req.status}' again after it was withdrawn, but there is no new "
                f"approval round since (the last approval is still that of {when}). The "
                f"{len(held)} step(s) on hold stay on hold: resubmit the request for approval, "
                "and the sync resumes once the new round is approved.",
                label=req.label,
            )
        )
        return out
    by_key = {e.key: e for e in effects}
    resumed = [by_key[k] for k in held if k in by_key]
    out.resume = held
    names = ", ".join(describe(e) for e in resumed) or "nothing"
    when = f" on {req.approved_at:%Y-%m-%d}" if req.approved_at else ""
    out.findings.append(
        Finding(
            req.id,
            "reapproved",
            f"approved again{when} with a new approval round after it was withdrawn: the sync "
            f"resumes the {len(held)} step(s) it had put on hold ({names})",
            needs_person=False,
            label=req.label,
        )
    )
    told = any(is_status_writeback(k) and s is EffectState.APPLIED for k, s in seen.items())
    wb_target = f"{RESUMED}:{now}"
    wb_key = effect_key(req.id, EffectKind.SALESFORCE_WRITEBACK, wb_target)
    if told and seen.get(wb_key) not in FINAL_STATES:
        late = any(e.kind in _LATE for e in resumed)
        out.due.append(
            Effect(
                req.id,
                EffectKind.SALESFORCE_WRITEBACK,
                wb_target,
                today,
                req,
                {
                    "sync_status": "Synced - offboarding scheduled" if late else "Synced",
                    "sync_message": f"Approved again{when} (new approval round) after it was "
                    f"withdrawn; the sync resumed: {names}.",
                    "account_status": account_status,
                },
            )
        )
    return out
