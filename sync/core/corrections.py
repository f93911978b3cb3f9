"""What the sync corrects of its own work when a request it acted on is edited. Pure.

The decisions are in `sync.core.changes` (its docstring) and on the Decisions page,
docs/design/decisions.md#when-a-request-changes-after-the-sync-acted.
A moved date is corrected where the old one was written or sent; a cancellation turned pause
drops its offboarding steps and its tracker and account status follow; turned back, the dropped
steps are owed again; a changed account blocks the request for a person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sync.core.changes import (
    BECAME_PAUSE,
    DATE_MOVED,
    DATED,
    DONE_FOR_GOOD,
    OFFBOARDING,
    WORDS,
    Acted,
    Decision,
    account_changed,
    correction_target,
    date_moved,
    done,
    effect_of_key,
    is_correction,
    kind_changed,
    on_account_change,
    stale_corrections,
)
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


def review(
    req: TakedownRequest,
    was: Acted,
    effects: Sequence[Effect],
    seen: Mapping[str, EffectState],
    today: date,
    account_status: str,
) -> Decision:
    """Everything one approved request's changes since the sync acted mean for its plan."""
    out = Decision()
    if account_changed(req, was):
        out.add(on_account_change(req, was, effects, seen))
        return out
    if kind_changed(req, was):
        out.changed = True
        out.add(on_kind_changed(req, was, effects, seen, today, account_status))
    if date_moved(req, was):
        out.changed = True
        out.add(on_date_moved(req, was, effects, seen, today))
    out.skips += stale_corrections(req, seen, today)
    return out


def owed_again(
    req: TakedownRequest, effects: Sequence[Effect], seen: Mapping[str, EffectState]
) -> list[Effect]:
    """A pause that is a cancellation again: the cancellation steps dropped when it became a
    pause are owed again, under keys of their own (`<target>:cancellation`), on their days."""
    new = str(RequestType.CANCELLATION)
    dropped = {e.key for e in effects if seen.get(e.key) is EffectState.SKIPPED}
    renamed = {
        e.key: effect_key(e.request_id, e.kind, f"{e.target}:{new}", e.generation)
        for e in effects
        if e.key in dropped
    }
    return [
        Effect(
            e.request_id,
            e.kind,
            f"{e.target}:{new}",
            e.not_before,
            req,
            e.params,
            tuple(renamed.get(k, k) for k in e.after),
            e.generation,
        )
        for e in effects
        if e.key in dropped and e.kind is not EffectKind.REMINDER
    ]


def on_kind_changed(
    req: TakedownRequest,
    was: Acted,
    effects: Sequence[Effect],
    seen: Mapping[str, EffectState],
    today: date,
    account_status: str,
) -> Decision:
    """Between a cancellation and a pause, what the sync wrote follows the request: the
    tracker status and date, the account status. A cancellation that became a pause holds its
    owed offboarding steps; a pause that became a cancellation again resumes them."""
    out = Decision()
    pair = {str(RequestType.CANCELLATION), str(RequestType.PAUSE)}
    if {was.type, str(req.type)} != pair:
        out.findings.append(
            Finding(
                req.id,
                "type_changed",
                f"the request type changed from '{was.type}' to '{req.raw_type}' after the "
                "sync acted; what it did for the old type stands. Check the sheets, or run "
                f"`python -m sync undo {req.name or req.id}` to reverse it.",
                label=req.label,
            )
        )
        return out
    mine = {e.key for e in effects}
    if req.type is RequestType.PAUSE:
        owed = [
            e
            for k, state in seen.items()
            if k not in mine and state not in FINAL_STATES and state is not EffectState.ON_HOLD
            for e in [effect_of_key(req, k, today)]
            if e is not None and not is_correction(e.target)
        ]
        finished = [
            e
            for k, state in seen.items()
            if k not in mine and state is EffectState.APPLIED
            for e in [effect_of_key(req, k, today)]
            if e is not None
        ]
        out.add(on_pause(req, was, [*owed, *finished], seen))
    else:
        out.corrections += owed_again(req, effects, seen)
    new = str(req.type)
    status = next(
        (e for e in effects if e.kind is EffectKind.TRACKER_STATUS and done(seen, e)), None
    )
    after: tuple[str, ...] = ()
    if status is not None:
        fixed = Effect(
            req.id, status.kind, f"{status.target}:{new}", today, req, generation=status.generation
        )
        out.corrections.append(fixed)
        after = (fixed.key,)
    approval = next(
        (
            e
            for e in effects
            if e.kind is EffectKind.SALESFORCE_WRITEBACK
            and e.target == "approval"
            and done(seen, e)
        ),
        None,
    )
    if approval is not None:
        words = "a contract pause" if req.type is RequestType.PAUSE else "a cancellation"
        out.corrections.append(
            Effect(
                req.id,
                approval.kind,
                f"approval:{new}",
                today,
                req,
                {
                    "sync_status": "Synced",
                    "sync_message": f"Changed to {words} after the sync acted: the tracker "
                    f"status and the account status follow it.",
                    "account_status": account_status,
                },
                after,
                approval.generation,
            )
        )
    return out


def on_pause(
    req: TakedownRequest, was: Acted, owed: Sequence[Effect], seen: Mapping[str, EffectState]
) -> Decision:
    """A cancellation that became a pause: nothing more is offboarded; what the sync wrote
    follows the pause (planned by the caller); what it sent or removed is a person's call."""
    out = Decision()
    why = "the request became a contract pause after the sync acted; a pause never offboards"
    # Skipped (final), not on hold: on hold is a withdrawal's state, resumed by an approval.
    out.skips = [(e, why) for e in owed if seen.get(e.key) not in FINAL_STATES]
    gone = [e for e in owed if done(seen, e) and e.kind in OFFBOARDING]
    done_words = ", ".join(WORDS.get(e.kind, str(e.kind)) for e in gone)
    undo = (
        f" Already done for the cancellation: {done_words}. To reverse it, run `python -m "
        f"sync undo {req.name or req.id} --reason 'now a pause'`."
        if gone
        else ""
    )
    out.findings.append(
        Finding(
            req.id,
            BECAME_PAUSE,
            f"changed from a cancellation to a contract pause after the sync acted: nothing more "
            f"is offboarded, the owed cancellation steps are dropped, and the tracker and account "
            f"status are set to the pause.{undo}",
            needs_person=bool(gone),
            label=req.label,
        )
    )
    return out


def on_date_moved(
    req: TakedownRequest,
    was: Acted,
    effects: Sequence[Effect],
    seen: Mapping[str, EffectState],
    today: date,
) -> Decision:
    """The new date is corrected where the old one was written or sent; reported once (in the
    run that first plans the corrections)."""
    assert req.effective_date is not None
    assert was.effective_date is not None
    new, old = req.effective_date, was.effective_date
    out = Decision()
    for e in effects:
        if e.kind not in DATED or not done(seen, e):
            continue
        if e.kind is EffectKind.REMINDER and new <= today:
            continue  # a reminder for a day already here or gone tells nobody anything
        fixed = Effect(
            e.request_id,
            e.kind,
            correction_target(e, new),
            today,
            req,
            {**e.params, "corrects": old.isoformat()},
            generation=e.generation,
        )
        if e.kind is EffectKind.REMINDER:
            offset = int(e.params.get("offset_days", "0"))
            due_on = date.fromordinal(new.toordinal() - offset)
            day = max(due_on, today)
            fixed = Effect(
                fixed.request_id,
                fixed.kind,
                fixed.target,
                day,
                req,
                {**fixed.params, "due_on": day.isoformat()},
                generation=e.generation,
            )
        out.corrections.append(fixed)
    early = [e for e in effects if e.kind in DONE_FOR_GOOD and done(seen, e) and new > today]
    first_time = not any(c.key in seen for c in out.corrections)
    if not first_time:
        return out
    told = {EffectKind.SIMPLIFI_NOTICE: "Simpli.fi is told of the new date"}
    said = (
        ["the tracker's date is corrected"]
        if any(c.kind is EffectKind.TRACKER_STATUS for c in out.corrections)
        else []
    )
    said += [w for k, w in told.items() if any(c.kind is k for c in out.corrections)]
    said.append("reminders and the removal follow the new date")
    message = (
        f"the effective date moved from {old:%Y-%m-%d} to {new:%Y-%m-%d} after the sync acted: "
        + ", ".join(said)
        + "."
    )
    if early:
        message += (
            " Already done on the old date, before the new one: "
            + ", ".join(WORDS.get(e.kind, str(e.kind)) for e in early)
            + f"; if that was too early, `python -m sync undo {req.name or req.id}` reverses "
            "the whole request."
        )
    out.findings.append(
        Finding(req.id, DATE_MOVED, message, needs_person=bool(early), label=req.label)
    )
    return out
