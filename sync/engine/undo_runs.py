"""The engine's side of undo: which requests are being undone, in which generation, and when an
undo is finished. Kept out of `sync.engine.run` so the run loop stays one thing.

An undo is first *recorded* in the ledger (request, generation, reason, forced), committed
before any write; every run then plans its reversal (`sync.core.undo.plan_undo`) until each reversal
effect is final. So a run killed half-way through an undo is finished by the next run, whether
that is `python -m sync undo` again or the ordinary cron run.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from sync.core import undo as undo_plan
from sync.core import wording
from sync.core.domain import (
    FINAL_STATES,
    UNDO_KINDS,
    Effect,
    EffectKind,
    EffectState,
    Finding,
    TakedownRequest,
    effect_key,
)
from sync.core.planner import Plan
from sync.core.records import EffectRow, UndoRecord
from sync.core.rules import PlanRules
from sync.state.ledger import Ledger

log = logging.getLogger("sync.undo")


class _Ask(Protocol):
    """What `python -m sync undo` asked for (the engine's UndoAsk, structurally)."""

    @property
    def reason(self) -> str: ...

    @property
    def forced(self) -> bool: ...


@dataclass
class Undos:
    ledger: Ledger | None
    records: dict[str, list[UndoRecord]] = field(default_factory=dict)
    rows: dict[str, list[EffectRow]] = field(default_factory=dict)
    images: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)
    open: dict[str, UndoRecord] = field(default_factory=dict)
    planned: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, ledger: Ledger | None, requests: Sequence[TakedownRequest]) -> Undos:
        out = cls(ledger)
        if ledger is None:
            return out
        out.records = ledger.undos(r.id for r in requests)
        for rid, records in out.records.items():
            for rec in records:
                if rec.finished_at is None:
                    out.open[rid] = rec
        return out

    @property
    def generations(self) -> dict[str, int]:
        return {rid: undo_plan.generation(recs) for rid, recs in self.records.items()}

    @property
    def undone_at(self) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        for rid, recs in self.records.items():
            done = [r.finished_at for r in recs if r.finished_at]
            if done:
                out[rid] = datetime.fromisoformat(done[-1])
        return out

    def _load(self, rid: str) -> tuple[list[EffectRow], dict[str, dict[str, object]]]:
        if rid not in self.rows:
            self.rows[rid] = self.ledger.rows(rid) if self.ledger else []
            self.images[rid] = self.ledger.before_images(rid) if self.ledger else {}
        return self.rows[rid], self.images[rid]

    def ask(
        self,
        requests: Sequence[TakedownRequest],
        name: str,
        ask: _Ask,
        today: date,
        run_id: str,
        dry_run: bool,
    ) -> str:
        """Record the undo `python -m sync undo NAME` asked for; return why not, or ""."""
        # `only` found exactly one request (by id or name), or the run stopped before this.
        req = next((r for r in requests if name in (r.id, r.name)), None)
        if req is None and len(requests) == 1:
            req = requests[0]
        if req is None:
            return f"{name}: no such request in Salesforce (or the sync user cannot see it)"
        if req.id in self.open:
            return ""  # asked before and not finished (a crash, a failure): carry on
        gen = self.generations.get(req.id, 1)
        rows, images = self._load(req.id)
        why = undo_plan.refusal(req, rows, images, gen, forced=ask.forced, label=req.label)
        undone = self.undone_at.get(req.id)
        if why and undone is not None and not undo_plan.acted_on(rows, images, gen):
            why = (
                f"{req.label}: its work was already undone on {undone:%Y-%m-%d}, and the sync has "
                "done nothing for it since"
            )
        if why:
            return why
        self._record(req, gen, ask.reason, ask.forced, run_id, dry_run)
        return ""

    def automatic(self, requests: Sequence[TakedownRequest], run_id: str, dry_run: bool) -> None:
        """`undo.automatic`: a request withdrawn after the sync acted is undone by itself."""
        for req in requests:
            if req.approved or req.id in self.open:
                continue
            gen = self.generations.get(req.id, 1)
            rows, images = self._load(req.id)
            if undo_plan.acted_on(rows, images, gen):
                status = req.status
                reason = f"withdrawn after the sync acted, status now '{status}'; undone by itself"
                self._record(req, gen, reason, False, run_id, dry_run)

    def _record(
        self, req: TakedownRequest, gen: int, reason: str, forced: bool, run_id: str, dry: bool
    ) -> None:
        rec = UndoRecord(req.id, gen, reason, forced, "", None)
        if not dry and self.ledger is not None:
            self.ledger.request_undo(req.id, gen, reason=reason, forced=forced, run_id=run_id)
            log.info("%s: undo of generation %d recorded (%s)", req.label, gen, reason or "-")
        self.open[req.id] = rec

    def plan(
        self, requests: Sequence[TakedownRequest], result: Plan, today: date, rules: PlanRules
    ) -> None:
        """Add every open undo's reversal to the run's plan."""
        for req in requests:
            rec = self.open.get(req.id)
            if rec is None:
                continue
            rows, images = self._load(req.id)
            up = undo_plan.plan_undo(req, rec, rows, images, today, rules.account_status)
            states = {r.key: r.state for r in rows}
            for planned in up.due:
                e = planned
                state = states.get(e.key)
                if state in FINAL_STATES:
                    continue  # done by an earlier (interrupted) run of this undo
                if state is EffectState.SENDING and not rules.resend_unconfirmed:
                    result.findings.append(
                        Finding(
                            req.id,
                            "unconfirmed_send",
                            f"{wording.describe_undo(e)}: a message was being sent when a run "
                            "stopped, and may or may not have gone out. Check the mailbox, then "
                            f"run `python -m sync resolve {e.key} --sent` (or `--resend`).",
                            label=req.label,
                        )
                    )
                    continue
                if state is EffectState.NEEDS_PERSON:
                    # Reported once already: a cell a person changed is theirs from now on.
                    e = dataclasses.replace(e, params={**e.params, "reported": "1"})
                result.due.append(e)
            result.skips.extend(up.skips)
            result.findings.extend(up.findings)
            result.findings.append(
                Finding(
                    req.id,
                    "undo",
                    f"being undone: {undo_plan.why(req, rec)}"
                    + ("" if up.due else " (nothing left to reverse)"),
                    needs_person=False,
                    label=req.label,
                )
            )
            self.planned.append(req.id)

    def finish(self) -> list[str]:
        """Close each undo whose reversals are all final: the request's next life may start.
        Returns the requests whose undo finished now."""
        if self.ledger is None:
            return []
        done: list[str] = []
        for rid in self.planned:
            rec = self.open[rid]
            if undo_plan.finished(self.ledger.rows(rid), rec.generation):
                self.ledger.finish_undo(rid, rec.generation)
                log.info("%s: undo of generation %d finished", rid, rec.generation)
                done.append(rid)
        return done


def snapshot_writeback_fields(
    ledger: Ledger, due: Sequence[Effect], generations: Mapping[str, int]
) -> None:
    """What Salesforce shows before the sync's first write-back of a generation (the poll read
    it): the account status and the request's sync fields. Kept under the approval write-back's
    key the first time only, before any write-back, so a crash cannot make it the sync's own."""
    with ledger.transaction():
        for e in due:
            req = e.request
            if req.account_status is None or e.kind in UNDO_KINDS:
                continue
            gen = generations.get(req.id, 1)
            key = effect_key(req.id, EffectKind.SALESFORCE_WRITEBACK, "approval", gen)
            ledger.save_before(
                key,
                req.id,
                {
                    "account_status": req.account_status,
                    "sync_status": req.sync_status,
                    "sync_message": req.sync_message,
                },
            )
