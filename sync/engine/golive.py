"""Going live, as the engine sees it: the cut-over and the safety valve around the planner, and
the read-only checks of a dry run.

Kept out of the engine so the apply loop stays about applying. `decide` is pure apart from
reading the ledger; `record` writes only the ledger's adoption table (never a service);
`verify` asks each connector that can (`connectors.base.Verifier`) and never writes.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from connectors.base import Connector, Verifier
from sync.config.model import Config
from sync.core import adoption as adopt
from sync.core import generations as lives
from sync.core import valve, witness
from sync.core.changes import Acted
from sync.core.domain import (
    Check,
    CheckState,
    Effect,
    EffectState,
    Finding,
    System,
    TakedownRequest,
)
from sync.core.planner import Plan, plan
from sync.core.rules import PlanRules
from sync.errors import SyncError
from sync.state.adoption import AdoptionLedger
from sync.state.identity import Identity, claim_identity, mismatch, read_identity
from sync.state.ledger import Ledger

log = logging.getLogger("sync.golive")


@dataclass
class Decision:
    plan: Plan
    part: adopt.Partition
    stop_reason: str = ""
    # Every request the poll returned, adopted ones included (the ledger remembers them all).
    seen: list[TakedownRequest] = field(default_factory=list)
    # Which org and config this run is (claimed in a ledger that has no identity yet).
    identity: Identity = field(default_factory=lambda: Identity("", ""))

    @property
    def adopted(self) -> int:
        return len(self.part.adopted) + len(self.part.to_adopt)


def decide(
    cfg: Config,
    requests: Sequence[TakedownRequest],
    fetch_findings: Sequence[Finding],
    ledger: Ledger | None,
    today: date,
    rules: PlanRules,
    *,
    only: str | None,
    allow_backlog: bool,
    include_adopted: bool,
    generations: Mapping[str, int] | None = None,
    history: Mapping[str, Acted] | None = None,
    org_id: str = "",
) -> Decision:
    """Adopted requests aside, plan the rest; say whether the valve lets a real run write.

    Before the valve, and whatever `allow_backlog` says: a ledger of another org or config,
    or one that does not know what Salesforce shows the sync already did (sync.core.witness),
    stops the run; acting on would do that work again."""
    adoption = AdoptionLedger(ledger) if ledger else None
    rows = adoption.adopted() if adoption else {}
    g = cfg.golive
    cutover = date.fromisoformat(g.approved_before) if g.approved_before else None
    part = adopt.partition(requests, rows, cutover, include=only if include_adopted else None)
    states = ledger.states(r.id for r in part.active) if ledger else {}
    identity = Identity(org_id, cfg.salesforce.object)
    blocked = _ledger_unfit(cfg, ledger, part.active, states, identity, rows.keys())
    # Each request's current life only, in the first life's key form (sync/core/generations.py).
    states = lives.current_view(states, generations or {})
    limits = valve.Limits(
        sandbox=g.sandbox,
        max_requests_per_run=g.max_requests_per_run,
        max_days_past=g.max_days_past,
        cutover_configured=cutover is not None,
    )
    # A person who names one adopted request asked for exactly that: no valve for it.
    allow = allow_backlog or (include_adopted and only is not None)
    active, old = (
        (list(part.active), []) if allow else valve.long_past(part.active, states, today, limits)
    )
    planned = plan(active, states, today, rules, history)
    lives.lift(planned, generations or {})
    planned.findings.extend(adopt.drop_adopted_findings(fetch_findings, rows))
    planned.findings.extend(part.findings)
    planned.findings.extend(old)
    reason = blocked
    if not reason and not allow:
        fresh = adoption.is_fresh() if adoption else True
        approved = sum(1 for r in requests if r.approved)
        reason = valve.stop_reason(planned, fresh=fresh, approved_seen=approved, limits=limits)
    seen = [*part.active, *part.adopted, *part.to_adopt]
    return Decision(planned, part, reason, seen, identity)


def _ledger_unfit(
    cfg: Config,
    ledger: Ledger | None,
    active: Sequence[TakedownRequest],
    states: Mapping[str, EffectState],
    identity: Identity,
    adopted: Collection[str],
) -> str:
    """Why this ledger must not drive this run ("" when it may): another deployment's, or
    missing history that Salesforce's sync statuses witness."""
    path = str(ledger.path if ledger else cfg.state_path / "ledger.sqlite3")
    if ledger is not None:
        other = mismatch(read_identity(ledger._db), identity, path)
        if other:
            return other
    gaps = witness.gaps(active, states, adopted)
    return witness.stop_reason(gaps, path) if gaps else ""


def record(ledger: Ledger, decision: Decision, cfg: Config, started: str) -> None:
    """A real run passed the valve: remember that, the newly adopted requests, the edits of
    adopted ones now reported, and an adoption a person released."""
    adoption = AdoptionLedger(ledger)
    part = decision.part
    with ledger.transaction():
        if decision.identity.org_id:
            claim_identity(ledger._db, decision.identity, started)
        adoption.mark_started(started)
        adoption.adopt(adoption_rows(part.to_adopt), cfg.golive.approved_before)
        for req, status, day in part.changed:
            adoption.saw_change(req.id, status, day, "reported")
        if part.release is not None:
            adoption.release(part.release)


def adopted_ids(ledger: Ledger) -> list[str]:
    """Adopted requests the daily full reconcile reads again, so a withdrawn one is noticed."""
    return [rid for rid, row in AdoptionLedger(ledger).adopted().items() if row.state == "adopted"]


def adoption_rows(reqs: Sequence[TakedownRequest]) -> list[tuple[str, str, str, str]]:
    out = []
    for r in reqs:
        day = adopt.approved_on(r)
        out.append((r.id, r.label, r.status, day.isoformat() if day else ""))
    return out


def verify(effects: Sequence[Effect], connectors: Mapping[System, Connector]) -> dict[str, Check]:
    """Read-only checks, connector by connector; a check that fails says so and is 'unknown'."""
    out: dict[str, Check] = {}
    by_system: dict[System, list[Effect]] = {}
    for e in effects:
        by_system.setdefault(e.system, []).append(e)
    for system, items in by_system.items():
        connector = connectors.get(system)
        if not isinstance(connector, Verifier):
            for e in items:
                out[e.key] = Check(e.key, CheckState.UNKNOWN, f"{system} cannot be checked")
            continue
        try:
            found: Mapping[str, Check] = connector.verify(items)
        except SyncError as exc:
            found = {e.key: Check(e.key, CheckState.UNKNOWN, f"not checked: {exc}") for e in items}
        except Exception as exc:  # a bug in a check must not cost the dry run its plan
            log.error("%s check failed:\n%s", system, traceback.format_exc())
            why = f"not checked: internal error {type(exc).__name__}: {exc}"
            found = {e.key: Check(e.key, CheckState.UNKNOWN, why) for e in items}
        out.update(found)
    return out
