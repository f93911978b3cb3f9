"""The pure planner of an undo: which effects reverse what the sync did for one request.

No I/O and no clock, like `sync.core.planner`: the inputs are the request as Salesforce shows it
now, the ledger's rows and before-images of the generation being undone, the undo's record and
today's date. The reversal is planned as ordinary effects (their own keys, exactly once,
crash-safe, retried and logged by the same engine) whatever point the forward work reached:

- the tracker row back with its previous status and dates (`undo_tracker`), when the tracker
  was touched (or may have been: a before-image is on disk before every write);
- each Planner, Monthly and Offboarding row marked withdrawn (`undo_mark`), never deleted;
- the archived cards reopened with a comment (`undo_trello`), from the ids the archive recorded;
- Simpli.fi told to disregard the notice (`undo_retraction`), only if a notice went out (or may
  have: one left "sending" by a crash);
- the TDA Department Manager told (`undo_notice`);
- Salesforce: the account's previous status and a "withdrawn, undone" message
  (`undo_writeback`), once everything above is final.

Forward effects of that generation still owed are dropped (skipped, "undone"). Once every
reversal is final the generation is closed; a request approved again afterwards starts the next
generation, whose keys end in "@gN" (see `sync.core.domain.Effect`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sync.core.domain import (
    FINAL_STATES,
    UNDO_KINDS,
    Effect,
    EffectKind,
    EffectState,
    Finding,
    RequestType,
    TakedownRequest,
    effect_key,
    generation_of,
)
from sync.core.records import EffectRow, UndoRecord
from sync.core.wording import describe_undo

ACTED = frozenset({EffectState.APPLIED, EffectState.SENDING})
_ADDS = (EffectKind.PLANNER_ADD, EffectKind.MONTHLY_RECORD, EffectKind.OFFBOARDING_ADD)
_TRACKER = (EffectKind.TRACKER_STATUS, EffectKind.TRACKER_REMOVE)
UNDONE_STATUS = "Undone"


@dataclass
class UndoPlan:
    due: list[Effect] = field(default_factory=list)
    skips: list[tuple[Effect, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def generation(undos: Sequence[UndoRecord]) -> int:
    """The request's current generation: one more than its finished undos."""
    return 1 + sum(1 for u in undos if u.finished_at is not None)


def forward_rows(rows: Iterable[EffectRow], gen: int) -> list[EffectRow]:
    return [r for r in rows if generation_of(r.key) == gen and not r.kind.startswith("undo_")]


def acted_on(rows: Iterable[EffectRow], images: Mapping[str, object], gen: int) -> bool:
    """Did the sync do (or may it have done) anything for this generation?"""
    return any(
        r.state in ACTED or r.key in images or r.attempts > 0 for r in forward_rows(rows, gen)
    )


def refusal(
    req: TakedownRequest,
    rows: Sequence[EffectRow],
    images: Mapping[str, object],
    gen: int,
    *,
    forced: bool,
    label: str,
) -> str | None:
    """Why `python -m sync undo` must not run for this request, or None when it may."""
    if not acted_on(rows, images, gen):
        return f"{label}: the sync has done nothing for it that could be undone"
    if req.approved and not forced:
        return (
            f"{label} is still '{req.status}' in Salesforce: undo reverses a request withdrawn "
            "after the sync acted. To undo an approved one anyway (approved by mistake), add "
            "--force --reason TEXT"
        )
    return None


def plan_undo(
    req: TakedownRequest,
    record: UndoRecord,
    rows: Sequence[EffectRow],
    images: Mapping[str, Mapping[str, object]],
    today: date,
    account_status: Mapping[RequestType, str],
) -> UndoPlan:
    """The reversal of generation `record.generation` of `req` (see the module docstring)."""
    gen = record.generation
    out = UndoPlan()
    fwd = forward_rows(rows, gen)
    by_kind: dict[EffectKind, list[EffectRow]] = {}
    for r in fwd:
        by_kind.setdefault(EffectKind(r.kind), []).append(r)
    because = why(req, record)

    def make(kind: EffectKind, target: str, params: Mapping[str, str]) -> Effect:
        return Effect(req.id, kind, target, today, req, {**params, "why": because}, (), gen)

    def touched(r: EffectRow) -> bool:
        return r.state in ACTED or r.key in images or r.attempts > 0

    # A correction after an edit (sync/core/changes.py) has the target of what it corrects before
    # a ":" (`ds_tracker:2026-12-22`): one reversal per tracker, board and partner, and the
    # image taken before the sync's first write is the one that puts things back.
    trackers = sorted({_base(r.target) for k in _TRACKER for r in by_kind.get(k, []) if touched(r)})
    for tracker in trackers:
        status = _status_image(images, by_kind, tracker)
        removal = _first_image(images, by_kind, EffectKind.TRACKER_REMOVE, tracker)
        out.due.append(
            make(
                EffectKind.UNDO_TRACKER,
                tracker,
                {
                    "status_image": json.dumps(status) if status else "",
                    "remove_image": json.dumps(removal) if removal else "",
                },
            )
        )
    for kind in _ADDS:
        for r in by_kind.get(kind, []):
            if r.state is not EffectState.SKIPPED:  # the connector checks by key at write time
                out.due.append(make(EffectKind.UNDO_MARK, r.target, {}))
    by_board: dict[str, list[str]] = {}
    for r in by_kind.get(EffectKind.TRELLO_ARCHIVE, []):
        cards = images.get(r.key, {}).get("cards") or []
        if isinstance(cards, list):
            ids = by_board.setdefault(_base(r.target), [])
            ids.extend(str(c) for c in cards if str(c) not in ids)
    for board, ids in by_board.items():
        if ids:
            out.due.append(make(EffectKind.UNDO_TRELLO, board, {"cards": ",".join(ids)}))
    notices = [r for r in by_kind.get(EffectKind.SIMPLIFI_NOTICE, []) if r.state in ACTED]
    if notices:  # one retraction, whatever the number of notices (a date corrected since)
        sent = min((r.applied_at or r.updated_at or "")[:10] for r in notices)
        out.due.append(make(EffectKind.UNDO_RETRACTION, "simplifi", {"notice_date": sent}))
    reversals = list(out.due)
    if fwd and any(touched(r) for r in fwd):
        undone = [describe_undo(e) for e in reversals] or ["nothing needed reversing"]
        out.due.append(make(EffectKind.UNDO_NOTICE, "tda_manager", {"undone": "\n".join(undone)}))
        out.due.append(_writeback(req, record, images, today, account_status, out.due, because))
    for r in fwd:
        if r.state not in FINAL_STATES:
            effect = Effect(
                req.id,
                EffectKind(r.kind),
                r.target,
                date.fromisoformat(r.not_before),
                req,
                generation=gen,
            )
            out.skips.append((effect, f"undone before it was done ({because})"))
    return out


def _base(target: str) -> str:
    return target.partition(":")[0]


def _first_image(
    images: Mapping[str, Mapping[str, object]],
    by_kind: Mapping[EffectKind, Sequence[EffectRow]],
    kind: EffectKind,
    base: str,
) -> Mapping[str, object] | None:
    """The before-image of the first effect of `kind` on `base` (the original before any
    correction of it): what the target looked like before the sync first wrote there."""
    rows = [r for r in by_kind.get(kind, []) if _base(r.target) == base and r.key in images]
    rows.sort(key=lambda r: (r.target != base, r.updated_at))
    return images[rows[0].key] if rows else None


def _status_image(
    images: Mapping[str, Mapping[str, object]],
    by_kind: Mapping[EffectKind, Sequence[EffectRow]],
    base: str,
) -> Mapping[str, object] | None:
    """The tracker cells the sync wrote, over the status effect and its corrections: each
    cell's value before the sync's first write of it, and what the sync wrote there last."""
    rows = [
        r
        for r in by_kind.get(EffectKind.TRACKER_STATUS, [])
        if _base(r.target) == base and r.key in images
    ]
    rows.sort(key=lambda r: (r.target != base, r.updated_at))
    if not rows:
        return None
    previous: dict[str, object] = {}
    written: dict[str, object] = {}
    for r in rows:
        image = images[r.key]
        before, after = image.get("previous"), image.get("written")
        if isinstance(before, Mapping):
            for header, value in before.items():
                previous.setdefault(str(header), value)
        if isinstance(after, Mapping):
            written.update({str(h): v for h, v in after.items()})
    first = dict(images[rows[0].key])
    return {**first, "previous": previous, "written": written}


def finished(rows: Iterable[EffectRow], gen: int) -> bool:
    """Every reversal of this generation is final."""
    return all(
        r.state in FINAL_STATES
        for r in rows
        if generation_of(r.key) == gen and EffectKind(r.kind) in UNDO_KINDS
    )


def why(req: TakedownRequest, record: UndoRecord) -> str:
    if record.forced:
        return f"undone at a person's request: {record.reason}"
    return record.reason or f"withdrawn after the sync acted, status now '{req.status}'"


def _writeback(
    req: TakedownRequest,
    record: UndoRecord,
    images: Mapping[str, Mapping[str, object]],
    today: date,
    account_status: Mapping[RequestType, str],
    reversals: Sequence[Effect],
    because: str,
) -> Effect:
    """Salesforce: 'Undone' and why on the request; the account's status as it was before the
    sync, unless a person changed it since the sync wrote it (then it is left and said)."""
    gen = record.generation
    snapshot = images.get(effect_key(req.id, EffectKind.SALESFORCE_WRITEBACK, "approval", gen))
    before = snapshot.get("account_status") if snapshot else None
    wrote = account_status.get(req.type) if req.type else None
    now = req.account_status
    params = {"sync_status": UNDONE_STATUS}
    note = ""
    if isinstance(before, str) and before and now is not None:
        # `now == before`: put back already, by this undo's own write before a crash; writing
        # it again is harmless and keeps a re-run's message the same.
        if now in (wrote, before) and before != wrote:
            params["account_status"] = before
            note = f" Account status set back to '{before}'."
        elif now != before:
            note = (
                f" Account status left as '{now}': changed by someone since the sync set it "
                f"to '{wrote}' (it was '{before}')."
            )
    elif now == wrote:
        note = f" Account status left as '{now}': its value before the sync is not known."
    params["sync_message"] = (
        f"Withdrawn, undone on {today.isoformat()} ({because}): "
        + ", ".join(describe_undo(e) for e in reversals if e.kind is not EffectKind.UNDO_NOTICE)
        + "."
        + note
    )
    return Effect(
        req.id,
        EffectKind.UNDO_WRITEBACK,
        "salesforce",
        today,
        req,
        params,
        tuple(e.key for e in reversals),
        gen,
    )
