"""What the ledger remembers, as plain values the core decides on (undo, adoption, generations).

Read back by `sync.state.ledger`; kept here, in the core, so the pure deciding can take them
without importing the state layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.core.domain import EffectState


@dataclass(frozen=True)
class UndoRecord:
    """An undo asked for (by `python -m sync undo` or the automatic switch) of one generation
    of a request's forward work; finished once every reversal effect is final."""

    request_id: str
    generation: int
    reason: str
    forced: bool
    requested_at: str
    finished_at: str | None


@dataclass(frozen=True)
class EffectRow:
    key: str
    request_id: str
    kind: str
    target: str
    state: EffectState
    attempts: int
    last_error: str
    not_before: str
    updated_at: str
    applied_at: str | None


@dataclass(frozen=True)
class AdoptedRow:
    """A request people handled before the cut-over: the sync never acts on it by itself.

    `status`/`approved_on` are as adopted; `seen_*` as last reported, so a later edit (a new
    approval round, a withdrawal) is reported once. `state` is "released" once a person asked
    the sync to act on it after all (`--only ID --include-adopted`)."""

    request_id: str
    label: str
    status: str
    approved_on: str
    cutover: str
    adopted_at: str
    state: str
    seen_status: str
    seen_approved_on: str
    note: str
