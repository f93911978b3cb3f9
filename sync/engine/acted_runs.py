"""The engine's side of comparing what the sync acted on with what the services show now.

Kept out of `sync.engine.run` so the run loop stays one thing (as `sync.engine.undo_runs` is):
naming a request Salesforce no longer returns, telling the Trello connector which cards the sync
itself archived, and keeping the snapshot of what the sync acted on (`sync.state.acted`) after a
real run. The decisions themselves are pure: `sync.core.changes`, `sync.core.corrections` and
`sync.core.duplicates`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from sync.core import generations
from sync.core.changes import Acted, deleted_words
from sync.core.domain import (
    FINAL_STATES,
    NOT_IN_SALESFORCE,
    EffectKind,
    EffectState,
    Finding,
    TakedownRequest,
)
from sync.core.planner import Plan
from sync.state.acted import ActedLog
from sync.state.ledger import Ledger


def named_gone(
    findings: Sequence[Finding], history: Mapping[str, Acted], ledger: Ledger | None
) -> list[Finding]:
    """A request Salesforce no longer returns is named for a person (request name and client,
    from what the sync acted on or last saw), never by its record id alone."""
    gone = [f for f in findings if f.code == NOT_IN_SALESFORCE]
    if not gone:
        return list(findings)
    labels = ledger.request_labels() if ledger is not None else {}
    out: list[Finding] = []
    for f in findings:
        if f.code != NOT_IN_SALESFORCE:
            out.append(f)
            continue
        label, message = deleted_words(
            f.request_id, history.get(f.request_id), labels.get(f.request_id, {})
        )
        out.append(replace(f, label=label, message=message))
    return out


def note_own_archives(plan: Plan, ledger: Ledger) -> None:
    """A Trello archive learns which cards the sync itself archived for it before (the ids its
    before-image keeps): a closed card among them lost its comment in a crash; any other
    closed card was archived by a person, and gets no "archived by the sync" comment."""
    for i, e in enumerate(plan.due):
        if e.kind is not EffectKind.TRELLO_ARCHIVE:
            continue
        image = ledger.before_images(e.request_id).get(e.key, {})
        cards = image.get("cards", [])
        own = ",".join(str(c) for c in cards) if isinstance(cards, list) else ""
        plan.due[i] = replace(e, params={**e.params, "archived_by_sync": own})


def remember_acted(
    acted: ActedLog,
    ledger: Ledger,
    seen: Sequence[TakedownRequest],
    plan: Plan,
    history: Mapping[str, Acted],
    gens: Mapping[str, int],
) -> None:
    """What the sync acted on: a request's values the first time anything was applied for it;
    moved to its new values once every correction of a change is final (sync/core/changes.py)."""
    approved = [r for r in seen if r.approved]
    states = ledger.states(r.id for r in approved)
    applied = {k.split("/", 1)[0] for k, s in states.items() if s is EffectState.APPLIED}
    with ledger.transaction():
        acted.record([r for r in approved if r.id in applied], plan.duplicates)
        for r in approved:
            keys = plan.corrected.get(r.id)
            if keys is None or r.id not in history:
                continue
            g = gens.get(r.id, 1)
            if all(states.get(generations.of_generation(k, g)) in FINAL_STATES for k in keys):
                acted.advance(r)
