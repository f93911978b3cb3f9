"""The pure planner: which effects each request owes, and which of them are due today.

No I/O and no clock: the inputs are the requests Salesforce returned, what the ledger says of
each effect key, today's date and the rules from config (`sync.core.rules.PlanRules`). Every row
of the effects table at the top of README.md is one branch of `sync.core.effects.effects_for`.
Idempotency against the targets themselves (a row already in the sheet after a crash) is
checked by the connectors at write time, when it is still true.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sync.core import approval, changes, corrections, duplicates, withdrawal
from sync.core.changes import Acted
from sync.core.domain import (
    FINAL_STATES,
    Effect,
    EffectKind,
    EffectState,
    Finding,
    RequestType,
    TakedownRequest,
    effect_key,
)
from sync.core.effects import effects_for
from sync.core.names import name_key
from sync.core.rules import PlanRules
from sync.core.wording import describe, resolve_words

log = logging.getLogger("sync.plan")


# The finding for a message a crash left "sending": it keeps the run's exit code at 1.
UNCONFIRMED_SEND = "unconfirmed_send"


@dataclass(frozen=True)
class Plan:
    today: date
    due: list[Effect] = field(default_factory=list)
    waiting: list[Effect] = field(default_factory=list)
    # Owed no more and recorded as skipped without any action, with the reason.
    skips: list[tuple[Effect, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # Owed, but their request was withdrawn: put on hold (not final), with the reason.
    holds: list[tuple[Effect, str]] = field(default_factory=list)
    # Keys on hold whose request was approved again with a new round: owed again.
    resumes: list[str] = field(default_factory=list)
    # Requests that changed since the sync acted (sync/core/changes.py): the keys of their
    # corrections; once all are final, the snapshot of what it acted on moves to the request.
    corrected: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # A second request for a client already being offboarded -> the request offboarding it.
    duplicates: dict[str, str] = field(default_factory=dict)

    @property
    def needs_person(self) -> list[Finding]:
        return [f for f in self.findings if f.needs_person]


def plan(
    requests: Sequence[TakedownRequest],
    ledger: Mapping[str, EffectState],
    today: date,
    rules: PlanRules,
    history: Mapping[str, Acted] | None = None,
) -> Plan:
    """Everything still owed for `requests`, split into due now, waiting, and skipped.
    `history`: what the sync acted on for each request (sync/core/changes.py), to compare with."""
    result = Plan(today=today)
    history = history or {}
    by_request: dict[str, dict[str, EffectState]] = {}
    for key, state in ledger.items():
        by_request.setdefault(key.split("/", 1)[0], {})[key] = state
    superseded = _superseded_pauses(requests, rules)
    ordered = sorted(requests, key=_order)
    context = _Context.of(ordered, history, rules)

    for req in ordered:
        seen = by_request.get(req.id, {})
        partial = Plan(today=today)
        try:
            _plan_one(req, seen, today, rules, partial, superseded.get(req.id), context)
        except Exception as exc:  # a bug must cost one request, not the run
            # One line for the run's reader; the traceback for a maintainer at -vv.
            log.error("planning %s failed: %s: %s", req.label, type(exc).__name__, exc)
            log.debug("planning %s failed", req.label, exc_info=True)
            partial = Plan(today=today)
            partial.findings.append(
                Finding(
                    req.id,
                    "internal_error",
                    f"the sync could not plan this request (internal error: "
                    f"{type(exc).__name__}: {exc}). Nothing was done for it; the other "
                    "requests went on. Report this to whoever maintains the sync.",
                    label=req.label,
                )
            )
        result.due.extend(partial.due)
        result.waiting.extend(partial.waiting)
        result.skips.extend(partial.skips)
        result.findings.extend(partial.findings)
        result.holds.extend(partial.holds)
        result.resumes.extend(partial.resumes)
        result.corrected.update(partial.corrected)
        result.duplicates.update(partial.duplicates)
    _with_former_names(result, context)
    return result


@dataclass(frozen=True)
class _Context:
    """What planning one request needs to know of the others, by account (15-character id),
    so a run of a thousand requests looks at each client's few, not at all of them."""

    history: Mapping[str, Acted] = field(default_factory=dict)
    acted_by_account: Mapping[str, Mapping[str, Acted]] = field(default_factory=dict)
    # This run's approved requests without an input problem, oldest approval first.
    sound_by_account: Mapping[str, Sequence[TakedownRequest]] = field(default_factory=dict)
    # This run's requests that are no longer approved (withdrawn).
    inactive: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, ordered: Sequence[TakedownRequest], history: Mapping[str, Acted], rules: PlanRules
    ) -> _Context:
        acted: dict[str, dict[str, Acted]] = {}
        for a in history.values():
            acted.setdefault(a.account_id[:15], {})[a.request_id] = a
        sound: dict[str, list[TakedownRequest]] = {}
        for r in ordered:
            if r.approved and _input_problem(r, rules) is None:
                sound.setdefault(r.account_id[:15], []).append(r)
        inactive = frozenset(r.id for r in ordered if not r.approved)
        return cls(history, acted, sound, inactive)


def _with_former_names(result: Plan, context: _Context) -> None:
    """A Trello archive matches titles against every name the sync has seen for the account
    (a renamed account's cards keep the old title)."""
    for i, e in enumerate(result.due):
        if e.kind is not EffectKind.TRELLO_ARCHIVE:
            continue
        acted = context.acted_by_account.get(e.request.account_id[:15], {})
        former: list[str] = []
        for a in acted.values():
            former.extend(
                n
                for n in a.names
                if n not in former and name_key(n) != name_key(e.request.client_name)
            )
        if former:
            result.due[i] = replace(e, params={**e.params, "former_names": "\n".join(former)})


def _plan_one(
    req: TakedownRequest,
    seen: Mapping[str, EffectState],
    today: date,
    rules: PlanRules,
    result: Plan,
    superseded_by: TakedownRequest | None,
    context: _Context | None = None,
) -> None:
    """One request's share of the plan, written into `result` (a fresh plan per request, so a
    failure half-way leaves nothing of it behind)."""
    if not req.approved:
        account = rules.account_status.get(req.type, "") if req.type else ""
        effects = effects_for(req, rules, today) if _plannable(req) else None
        _add(result, withdrawal.withdrawn(req, seen, effects, today, account, describe))
        return
    problem = _input_problem(req, rules)
    if problem is not None:
        result.findings.append(problem)
        return
    assert req.type is not None
    again = withdrawal.reapproved(
        req, seen, effects_for(req, rules, today), today, rules.account_status[req.type], describe
    )
    if again is not None:
        _add(result, again)
        if again.blocked:
            return
        result.resumes.extend(again.resume)
        seen = {k: EffectState.PLANNED if v is EffectState.ON_HOLD else v for k, v in seen.items()}
    if not seen and req.effective_date is not None and req.effective_date < today:
        result.findings.append(
            Finding(
                req.id,
                "effective_date_past",
                f"effective date {req.effective_date:%Y-%m-%d} had already passed when the "
                f"request was first seen; {_LATE_WORDS[req.type]}",
                needs_person=False,
                label=req.label,
            )
        )
    decision = _after_action(req, seen, today, rules, result, context or _Context())
    if decision.blocked:
        return
    if decision.resumes:
        result.resumes.extend(decision.resumes)
        resumed = set(decision.resumes)
        seen = {k: EffectState.PLANNED if k in resumed else v for k, v in seen.items()}
    _plan_request(req, seen, today, rules, result, superseded_by, decision)


def _after_action(
    req: TakedownRequest,
    seen: Mapping[str, EffectState],
    today: date,
    rules: PlanRules,
    result: Plan,
    context: _Context,
) -> changes.Decision:
    """What changed since the sync acted, and a second request for a client already being
    offboarded (sync/core/changes.py): findings, holds and skips go to `result`; the corrections
    and the keys left alone go back to the caller."""
    assert req.type is not None
    effects = effects_for(req, rules, today)
    out = changes.Decision()
    was = context.history.get(req.id)
    if was is not None:
        out.add(corrections.review(req, was, effects, seen, today, rules.account_status[req.type]))
    account = req.account_id[:15]
    owner = duplicates.offboarding_owner(
        req,
        context.sound_by_account.get(account, ()),
        {**context.acted_by_account.get(account, {}), **({req.id: was} if was else {})},
        cancelled=rules.account_status[RequestType.CANCELLATION],
        inactive=context.inactive,
    )
    if owner is not None and not out.blocked:
        result.duplicates[req.id] = owner.request_id
        out.add(duplicates.on_duplicate(req, owner, effects, seen))
    result.findings.extend(out.findings)
    result.holds.extend(out.holds)
    result.skips.extend(out.skips)
    if was is not None and not out.blocked and out.changed:
        result.corrected[req.id] = tuple(c.key for c in out.corrections)
    return out


# What runs at once for a request approved after its effective date: only a cancellation
# has offboarding steps.
_LATE_WORDS: Mapping[RequestType, str] = {
    RequestType.CANCELLATION: "its offboarding steps run now",
    RequestType.PAUSE: "the pause is recorded now (Planner Sheet, tracker status); a pause "
    "never offboards",
    RequestType.CHANGE: "the contract change is recorded now (Monthly Sheet)",
}


def _superseded_pauses(
    requests: Sequence[TakedownRequest], rules: PlanRules
) -> dict[str, TakedownRequest]:
    """A pause followed by a cancellation of the same client, effective no later than the pause:
    pause id -> that cancellation. The pause's reminders would announce a pause that never
    comes; everything else of both requests still happens, in approval order."""
    ordered = [r for r in sorted(requests, key=_order) if r.approved and r.account_id]
    out: dict[str, TakedownRequest] = {}
    for i, pause in enumerate(ordered):
        if pause.type is not RequestType.PAUSE or pause.effective_date is None:
            continue
        for later in ordered[i + 1 :]:
            if (
                later.type is RequestType.CANCELLATION
                and later.account_id == pause.account_id
                and _input_problem(later, rules) is None
                and later.effective_date is not None
                and later.effective_date <= pause.effective_date
            ):
                out[pause.id] = later
                break
    return out


def _order(req: TakedownRequest) -> tuple[datetime, str]:
    """Older approvals first, so a pause then a cancellation of one client land in that order."""
    when = req.approved_at or req.modified_at
    return (when.replace(tzinfo=None) if when else datetime(1, 1, 1), req.id)  # noqa: DTZ001


def _input_problem(req: TakedownRequest, rules: PlanRules) -> Finding | None:
    """Bad input that stops every effect of one request (and only that request)."""

    def finding(code: str, message: str) -> Finding:
        return Finding(req.id, code, message, label=req.label)

    if req.credit_problem:
        return finding(
            "credit_amount",
            f"{req.credit_problem}, so the sync cannot tell whether Finance had to approve. "
            "Nothing was done.",
        )
    approval_problem = approval.judge(req, rules.approval)
    if approval_problem:
        return finding(
            "approval_chain",
            f"status is '{req.status}' but the approval chain is not complete: "
            f"{approval_problem}. Nothing was done.",
        )
    if req.type is None:
        return finding(
            "unknown_type",
            f"unknown request type '{req.raw_type}' (expected a cancellation, contract pause or "
            "contract change). Nothing was done.",
        )
    if not req.client_name.strip():
        if req.account_id.strip():
            return finding(
                "no_client",
                f"the account {req.account_id} has no name (the request's account is set, but "
                "its Account Name is empty), so no sheet row, card or message could name the "
                "client. Nothing was done.",
            )
        return finding("no_account", "the request has no account. Nothing was done.")
    if req.effective_date is None:
        what = (
            f"effective date '{req.raw_effective_date}' is not a date"
            if req.raw_effective_date
            else "the request has no effective date"
        )
        return finding("effective_date", f"{what}. Nothing was done.")
    if req.type is not RequestType.CHANGE:
        if req.platform is None:
            return finding(
                "unknown_platform",
                f"unknown platform '{req.raw_platform}' (expected DS or ARI), so the tracker is "
                "unknown. Nothing was done.",
            )
        if not req.account_id:
            return finding(
                "no_account", "the request has no Salesforce account id. Nothing was done."
            )
    return None


def _plan_request(
    req: TakedownRequest,
    seen: Mapping[str, EffectState],
    today: date,
    rules: PlanRules,
    result: Plan,
    superseded_by: TakedownRequest | None = None,
    decision: changes.Decision | None = None,
) -> None:
    effects = effects_for(req, rules, today)
    handled = decision.handled if decision is not None else set()
    open_effects = [
        e for e in effects if seen.get(e.key) not in FINAL_STATES and e.key not in handled
    ]
    if decision is not None:
        _plan_corrections(decision.corrections, seen, today, result)
    due_keys: set[str] = set()
    reminders: list[Effect] = []
    for e in open_effects:
        state = seen.get(e.key)
        if state is EffectState.SENDING and not rules.resend_unconfirmed:
            shared = (
                " The digest covers several requests: one `resolve` settles the whole message."
                if e.kind is EffectKind.MANAGER_DIGEST
                else ""
            )
            result.findings.append(
                Finding(
                    req.id,
                    UNCONFIRMED_SEND,
                    f"{describe(e)}: a message was being sent when a run stopped, and may or may "
                    f"not have gone out. {resolve_words(e)}{shared}",
                    label=req.label,
                )
            )
            continue
        if e.kind is EffectKind.REMINDER and superseded_by is not None:
            result.skips.append((e, f"superseded by the cancellation {superseded_by.label}"))
            continue
        if e.kind is EffectKind.REMINDER:
            reminders.append(e)
            continue
        if e.kind is EffectKind.SALESFORCE_WRITEBACK:
            continue
        if e.not_before > today:
            result.waiting.append(e)
        else:
            result.due.append(e)
            due_keys.add(e.key)
    _plan_reminders(req, reminders, today, result)
    _note_missing_reason(req, due_keys, result)
    dropped = [e for e in open_effects if e.kind is EffectKind.REMINDER and superseded_by]
    if superseded_by is not None and dropped:
        eff = superseded_by.effective_date
        result.findings.append(
            Finding(
                req.id,
                "pause_superseded",
                f"a cancellation of the same client ({superseded_by.label}, effective "
                f"{eff:%Y-%m-%d}) was approved after this pause: both are carried out in that "
                "order (the tracker ends 'cancelled'), and the pause's reminders are not sent",
                needs_person=False,
                label=req.label,
            )
        )
    for e in open_effects:
        if e.kind is not EffectKind.SALESFORCE_WRITEBACK:
            continue
        deps_ready = all(seen.get(k) in FINAL_STATES or k in due_keys for k in e.after)
        if e.not_before <= today and deps_ready:
            result.due.append(_no_status_regression(e, seen))
        else:
            result.waiting.append(e)


def _plan_corrections(
    corrections: Sequence[Effect], seen: Mapping[str, EffectState], today: date, result: Plan
) -> None:
    """Corrections of what the sync wrote or sent before a change: each once; a write-back
    among them waits for the corrections it reports on."""
    owed = [c for c in corrections if seen.get(c.key) not in FINAL_STATES]
    due = {c.key for c in owed if c.not_before <= today}
    for c in owed:
        ready = all(seen.get(k) in FINAL_STATES or k in due for k in c.after)
        if c.key in due and ready:
            result.due.append(c)
        else:
            result.waiting.append(c)


def _note_missing_reason(req: TakedownRequest, due_keys: set[str], result: Plan) -> None:
    """Decided once (docs/design/decisions.md): a request without a reason is not held back; its
    messages say "(none given)", and the run that sends them says so once."""
    if req.reason.strip():
        return
    kinds = {EffectKind.SIMPLIFI_NOTICE: "the Simpli.fi notice", EffectKind.MANAGER_DIGEST: "the "
             "TDA Department Manager's digest"}  # fmt: skip
    going = [
        words for kind, words in kinds.items() if any(k.split("/")[1] == kind for k in due_keys)
    ]
    if not going:
        return
    what = "no cancellation reason" if req.type is RequestType.CANCELLATION else "no reason"
    result.findings.append(
        Finding(
            req.id,
            "no_reason",
            f'the request gives {what}: {" and ".join(going)} say "(none given)". Add the '
            "reason in Salesforce if Simpli.fi or the manager should know it (messages already "
            "sent are not sent again).",
            needs_person=False,
            label=req.label,
        )
    )


def _no_status_regression(e: Effect, seen: Mapping[str, EffectState]) -> Effect:
    """The approval write-back may go out after the offboarding one (its email waited for a
    person): then it sets only the account status, never the request's sync status back."""
    later = effect_key(e.request_id, EffectKind.SALESFORCE_WRITEBACK, "offboarded")
    if e.target != "approval" or seen.get(later) is not EffectState.APPLIED:
        return e
    return replace(e, params={"account_status": e.params.get("account_status", "")})


def _plan_reminders(
    req: TakedownRequest, reminders: list[Effect], today: date, result: Plan
) -> None:
    """One reminder per offset and team, exactly once; a missed one goes out late, but never two
    for the same team on the same day: the nearest offset wins and the others are superseded."""
    assert req.effective_date is not None
    by_team: dict[str, list[Effect]] = {}
    for e in reminders:
        by_team.setdefault(e.params["team"], []).append(e)
    for items in by_team.values():
        due: list[Effect] = []
        for e in items:
            if today < e.not_before:
                result.waiting.append(e)
            elif today > req.effective_date:
                result.skips.append(
                    (
                        e,
                        f"the effective date {req.effective_date:%Y-%m-%d} passed before the "
                        f"{e.params['offset_days']}-day reminder could be sent",
                    )
                )
            else:
                due.append(e)
        if not due:
            continue
        nearest = min(due, key=lambda e: int(e.params["offset_days"]))
        result.due.append(nearest)
        for e in due:
            if e is not nearest:
                result.skips.append(
                    (
                        e,
                        f"superseded by the {nearest.params['offset_days']}-day reminder sent "
                        "the same day",
                    )
                )


def _plannable(req: TakedownRequest) -> bool:
    """Enough data to know the request's effects (a withdrawn one is not checked otherwise)."""
    if req.type is None or req.effective_date is None:
        return False
    return req.type is RequestType.CHANGE or (req.platform is not None and bool(req.account_id))


def _add(result: Plan, decision: withdrawal.Decision) -> None:
    result.findings.extend(decision.findings)
    result.holds.extend(decision.holds)
    result.due.extend(decision.due)
