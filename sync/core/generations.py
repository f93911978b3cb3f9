"""A request's lives: after an undo, a request approved again runs forward from a clean state.

The forward planner (`sync.core.planner`) knows nothing of generations. The engine shows it the
current generation only, in the first generation's key form, and lifts the plan it returns
back to the generation's own keys ("REQ/kind/target@g2", see `sync.core.domain.Effect`). So the
planner's exactly-once rules hold unchanged within each life, and keys of two lives (and the
Message-IDs derived from them) never collide. Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

from sync.core.domain import Effect, EffectState, Finding, TakedownRequest, generation_of
from sync.core.planner import Plan


def base_key(key: str) -> str:
    """The first generation's form of any generation's key."""
    head, sep, tail = key.rpartition("@g")
    return head if sep and tail.isdigit() else key


def of_generation(key: str, generation: int) -> str:
    base = base_key(key)
    return base if generation <= 1 else f"{base}@g{generation}"


def current_view(
    states: Mapping[str, EffectState], generations: Mapping[str, int]
) -> dict[str, EffectState]:
    """The ledger as the forward planner must see it: each request's current generation only,
    its undo effects left out, keys in the first generation's form."""
    out: dict[str, EffectState] = {}
    for key, state in states.items():
        rid, _, rest = key.partition("/")
        if rest.startswith("undo_"):
            continue
        if generation_of(key) == generations.get(rid, 1):
            out[base_key(key)] = state
    return out


def lift(plan: Plan, generations: Mapping[str, int]) -> None:
    """Give the plan's effects (and the keys named in its findings) their generation."""

    def up(e: Effect) -> Effect:
        g = generations.get(e.request_id, 1)
        if g <= 1:
            return e
        after = tuple(of_generation(k, g) for k in e.after)
        return dataclasses.replace(e, generation=g, after=after)

    plan.due[:] = [up(e) for e in plan.due]
    plan.waiting[:] = [up(e) for e in plan.waiting]
    plan.skips[:] = [(up(e), why) for e, why in plan.skips]
    plan.holds[:] = [(up(e), why) for e, why in plan.holds]
    plan.resumes[:] = [
        of_generation(k, generations.get(k.split("/", 1)[0], 1)) for k in plan.resumes
    ]
    for i, f in enumerate(plan.findings):
        g = generations.get(f.request_id, 1)
        if g > 1 and f.code == "unconfirmed_send":
            # The command it names must settle this generation's key.
            words = [
                of_generation(w, g) if w.startswith(f"{f.request_id}/") else w
                for w in f.message.split(" ")
            ]
            plan.findings[i] = dataclasses.replace(f, message=" ".join(words))


def waiting_for_new_approval(
    requests: Sequence[TakedownRequest],
    generations: Mapping[str, int],
    undone_at: Mapping[str, datetime],
) -> tuple[list[TakedownRequest], list[Finding]]:
    """Approved requests whose last life was undone but whose approval is the one that was
    undone (a forced undo, or a status set back by hand): they wait for a new approval round,
    finished after the undo. Returns those that may go forward, and a note for the others."""
    go: list[TakedownRequest] = []
    notes: list[Finding] = []
    for req in requests:
        undone = undone_at.get(req.id)
        stale = (
            req.approved
            and generations.get(req.id, 1) > 1
            and undone is not None
            and not _approved_after(req, undone)
        )
        if stale and undone is not None:
            notes.append(
                Finding(
                    req.id,
                    "undone_not_reapproved",
                    f"its work was undone on {undone:%Y-%m-%d}; it still shows the approval "
                    "that was undone, so nothing is done until it is approved again",
                    needs_person=False,
                    label=req.label,
                )
            )
            continue
        go.append(req)
    return go, notes


def _approved_after(req: TakedownRequest, moment: datetime) -> bool:
    if req.approved_at is None:
        return False
    when, ref = req.approved_at, moment
    if (when.tzinfo is None) != (ref.tzinfo is None):
        when, ref = when.replace(tzinfo=None), ref.replace(tzinfo=None)
    return when > ref
