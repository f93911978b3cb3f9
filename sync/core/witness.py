"""Witnesses outside the ledger: Salesforce's sync status says what the sync already did.

Why: the ledger is the sync's memory of what it did. Lost (deleted, truncated to 0 bytes) or
restored from an old copy, it would make the next run do everything again: every partner
notice and digest re-sent. But the sync leaves a trace it cannot forget: it writes its sync
status on every request it acted on, and only after the effects that status reports are final
and committed in the ledger (the write-back is the last batch of a run and waits for them). So
a request that shows one of the sync's own statuses while the ledger does not know the effects
behind it proves the ledger is missing history: the run must stop before any write.

Kill-safe: a kill can lose only the write-back's own commit, and then every effect it reports
is already final in the ledger, so no gap is seen. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from sync.core.domain import FINAL_STATES, EffectKind, EffectState, TakedownRequest
from sync.core.generations import base_key
from sync.core.undo import UNDONE_STATUS
from sync.core.withdrawal import WITHDRAWN_STATUS

SYNCED = ("Synced", "Synced - offboarding scheduled")
OFFBOARDED = "Offboarded"
# Every sync status the sync itself writes (planner, withdrawal, undo: all in sync.core).
SYNC_STATUSES: frozenset[str] = frozenset({*SYNCED, OFFBOARDED, WITHDRAWN_STATUS, UNDONE_STATUS})
# What a status proves was final before it was written.
_ON_APPROVAL_EMAILS = (EffectKind.SIMPLIFI_NOTICE, EffectKind.MANAGER_DIGEST)
_ON_EFFECTIVE_DATE = (EffectKind.TRACKER_REMOVE, EffectKind.TRELLO_ARCHIVE)
SHOWN = 10
NO_RECORD = "no record of it"


@dataclass(frozen=True)
class Gap:
    """One request whose Salesforce history the ledger does not know."""

    request_id: str
    name: str  # what `--only` takes: the request's Name, else its id
    label: str
    status: str
    why: str


def gaps(
    requests: Sequence[TakedownRequest],
    states: Mapping[str, EffectState],
    adopted: Collection[str],
) -> list[Gap]:
    """The requests whose sync status the ledger cannot account for.

    `states` holds the ledger's effects of (at least) these requests, keys of every generation;
    `adopted` the requests people handled (they carry no effects, by design)."""
    by_request: dict[str, dict[str, EffectState]] = {}
    for key, state in states.items():
        by_request.setdefault(key.split("/", 1)[0], {})[base_key(key)] = state
    out: list[Gap] = []
    for req in requests:
        status = req.sync_status.strip()
        if status not in SYNC_STATUSES or req.id in adopted:
            continue
        known = by_request.get(req.id)
        if not known:
            out.append(Gap(req.id, req.name or req.id, req.label, status, NO_RECORD))
            continue
        owed = _owed_behind(status, known)
        if owed:
            why = "still owes " + ", ".join(owed)
            out.append(Gap(req.id, req.name or req.id, req.label, status, why))
    return out


def _owed_behind(status: str, known: Mapping[str, EffectState]) -> list[str]:
    """Effects the status proves were done that the ledger still shows as owed."""
    kinds = _ON_EFFECTIVE_DATE if status == OFFBOARDED else ()
    if status in SYNCED or status == OFFBOARDED:
        kinds = (*kinds, *_ON_APPROVAL_EMAILS)
    owed = []
    for key, state in sorted(known.items()):
        _, kind, target = [*key.split("/", 2), "", ""][:3]
        if kind in kinds and state not in FINAL_STATES:
            owed.append(f"{kind}/{target} ({state})")
    return owed


def stop_reason(found: Sequence[Gap], ledger_path: str) -> str:
    """The one thing to read when the ledger is missing history (the engine prefixes
    "stopped before any write: ")."""
    shown = "; ".join(f"{g.label} shows '{g.status}', the ledger: {g.why}" for g in found[:SHOWN])
    more = f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    unknown = [g.name for g in found if g.why == NO_RECORD]
    adopt = (
        " For a request the ledger has no record of, once you checked it was handled: "
        f"`python -m sync adopt --only {unknown[0]}` (one per request; nothing is sent)."
        if unknown
        else ""
    )
    return (
        f"the ledger {ledger_path} does not know what Salesforce shows the sync already did "
        f"for {len(found)} request(s): {shown}{more}. It was lost, emptied or restored from an "
        "older copy, and running on would do that work again (emails included). Restore the "
        f"newest copy of the ledger and run again.{adopt} --allow-backlog does not lift this stop"
    )
