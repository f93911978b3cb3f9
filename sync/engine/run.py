"""One run: poll Salesforce, plan, then apply the due effects system by system.

The engine owns the ledger and the run log; connectors only do I/O. One failing effect, request
or even a whole connector does not stop the others. The poller's watermark moves only after the
run applied everything it planned (and never under `--only`, which looks at one request).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sqlite3
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Connector, FetchResult, RequestSource, Spender
from sync.config.model import Config
from sync.core import allocation, generations
from sync.core.domain import (
    FINAL_STATES,
    NOT_IN_SALESFORCE,
    Effect,
    EffectKind,
    EffectState,
    Finding,
    Outcome,
    OutcomeStatus,
    System,
    TakedownRequest,
)
from sync.core.planner import Plan
from sync.core.rules import PlanRules
from sync.core.wording import settle_writeback
from sync.engine import golive
from sync.engine.acted_runs import named_gone, note_own_archives, remember_acted
from sync.engine.background import Background, Replayed
from sync.engine.journal import RunJournal
from sync.engine.request import RunRequest
from sync.engine.result import RunResult
from sync.engine.undo_runs import Undos as _Undos
from sync.engine.undo_runs import snapshot_writeback_fields as _snapshot_writeback_fields
from sync.errors import LocalEnvironmentError, SyncError, UnknownRequestError
from sync.state.acted import ActedLog
from sync.state.faults import classify
from sync.state.ledger import Ledger
from sync.state.runlog import RunLog

log = logging.getLogger("sync.engine")

APPLY_ORDER = (System.SHEETS, System.TRELLO, System.EMAIL, System.SALESFORCE)
WATERMARK = "watermark"
LAST_FULL = "last_full_reconcile"


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def run_once(
    cfg: Config,
    request: RunRequest,
    *,
    source: RequestSource,
    connectors: Mapping[System, Connector],
    on_effect: Callable[[Effect, Outcome], None] | None = None,
) -> RunResult:
    """Plan, and unless `request.dry_run`, apply. Never raises for an expected error: the
    result says. The options are the request's (`sync.engine.request.RunRequest`).

    Requests people handled before the cut-over are adopted, never planned, and a run that
    looks like a backlog stops before its first write unless `allow_backlog` (`sync.engine.golive`).
    A dry run with `verify` also reads each due effect's target back, read-only.

    `stop` is asked between effects (SIGTERM): once it says yes, no new effect starts; what is
    not done stays owed for the next run, nothing is half-recorded, and the run says it stopped
    early (exit code 3) and how many effects it left.

    An `only` that names no request raises UnknownRequestError before anything is recorded.

    `undo` (with `only`) asks for the reversal of that request's work (sync/core/undo.py)."""
    today, dry_run, only, undo = request.today, request.dry_run, request.only, request.undo
    clock, stop = request.clock, request.stop
    now = clock.now
    started = now()
    run_id = new_run_id(started)
    state_dir = cfg.state_path
    ledger_path = state_dir / "ledger.sqlite3"
    runlog = RunLog.in_state_dir(state_dir)
    ledger: Ledger | None = None
    try:
        ledger = (
            Ledger.open_readonly(ledger_path, clock=clock)
            if dry_run
            else Ledger(ledger_path, clock=clock)
        )
        if not dry_run:
            # Now, not at the first line: a run log it cannot write stops the run before it
            # acts (a link planted there, a read-only folder).
            runlog.open()
    except Exception as exc:
        if ledger is not None:
            ledger.close()
        fault = classify(exc, ledger=ledger_path)
        if fault is None:
            raise
        raise fault from None
    acted = ActedLog(ledger) if ledger is not None else None
    if acted is not None and not dry_run:
        acted.ensure()
    rules = PlanRules.from_config(cfg)
    result = RunResult(run_id, today, dry_run, Plan(today=today), started)
    record = not dry_run
    try:
        fetch, full = _fetch(
            cfg, source, ledger, started, only, option="undo" if undo else "--only"
        )
        result.fetch = fetch
        requests = _of_interest(fetch.requests, ledger) if only is None else fetch.requests
        phantoms = _phantoms(fetch.findings, ledger)
        history = acted.all() if acted is not None else {}
        fetch.findings[:] = named_gone(
            [f for f in fetch.findings if f.request_id not in phantoms], history, ledger
        )
        undos = _Undos.read(ledger, requests)
        if undo is not None:
            result.refused = undos.ask(requests, only or "", undo, today, run_id, dry_run)
            if result.refused:
                return result
        if cfg.undo.automatic:
            undos.automatic(requests, run_id, dry_run)
        gens = undos.generations
        forward, notes = generations.waiting_for_new_approval(
            [r for r in requests if r.id not in undos.open], gens, undos.undone_at
        )
        ahead = {r.id for r in forward}
        aside = [r for r in requests if r.id not in ahead]  # being undone, or waiting
        decision = golive.decide(
            cfg,
            forward,
            fetch.findings,
            ledger,
            today,
            rules,
            only=only,
            allow_backlog=request.allow_backlog,
            include_adopted=request.include_adopted,
            generations=gens,
            history=history,
            org_id=source.org_id,
        )
        result.plan, result.stop_reason = decision.plan, decision.stop_reason
        result.adopted = decision.adopted
        result.plan.findings.extend(notes)
        undos.plan(requests, result.plan, today, rules)
        if not result.stop_reason:
            result.stop_reason = _allocation_stop(cfg, source, connectors, result.plan, fetch)
        if dry_run:
            if request.verify:
                result.checks = golive.verify(result.plan.due, connectors)
            return result
        assert ledger is not None
        if result.stop_reason:
            result.fatal = f"stopped before any write: {result.stop_reason}"
            # Nothing of the plan happens: its findings would bury the one thing to read.
            result.plan = Plan(today=today)
            return result
        golive.record(ledger, decision, cfg, _iso(started))
        requests = [*decision.seen, *aside]
        ledger.remember_requests(requests)
        ledger.record_planned([*result.plan.due, *result.plan.waiting], run_id)
        _snapshot_writeback_fields(ledger, result.plan.due, gens)
        with ledger.transaction():
            ledger.resume(result.plan.resumes, run_id)
            for effect, reason in result.plan.holds:
                ledger.hold(effect, reason, run_id)
                runlog.effect(run_id, effect, "on_hold", error=reason, attempts=0, at=_iso(now()))
            for effect, reason in result.plan.skips:
                ledger.skip(effect, reason, run_id)
                runlog.effect(run_id, effect, "skipped", error=reason, attempts=0, at=_iso(now()))
        note_own_archives(result.plan, ledger)
        _apply(result, ledger, runlog, connectors, now, on_effect, stop, rules)
        if result.stopped and not result.left:
            result.stopped = False  # the stop came after the last effect: the run finished
        # Phantoms are looked at too: their stale findings go, and nothing replaces them.
        looked_at = [r.id for r in requests] + sorted(phantoms)
        undone = undos.finish()
        assert acted is not None
        remember_acted(acted, ledger, decision.seen, result.plan, history, gens)
        acted.forget(undone)
        ledger.replace_findings(looked_at, result.plan.findings)
        for f in result.plan.findings:
            runlog.finding(run_id, f.request_id, f.code, f.message, _iso(now()), f.label)
        _advance_watermark(ledger, fetch, result, only, full=full)
    except UnknownRequestError:
        record = False  # a usage error: nothing was done, so nothing is recorded
        raise
    except LocalEnvironmentError as exc:
        _machine_fault(result, exc)
    except SyncError as exc:
        result.fatal = str(exc)
        # The summary says it (STOPPED: ...); at -v the log says when.
        log.info("run %s stopped: %s", run_id, exc)
    except Exception as exc:  # a bug is a failed run, logged and alerted as one
        fault = classify(exc, ledger=ledger_path)
        if fault is not None:  # the machine's own fault: not a bug, and said so
            _machine_fault(result, fault)
        else:
            # Never a clean-looking run line after a crash: the run is failed (exit 3), says
            # why (the summary's STOPPED line), and the alert goes out like any run that
            # stopped.
            result.fatal = f"internal error: {type(exc).__name__}: {exc}"
            log.info("run %s stopped: %s", run_id, result.fatal)
            log.debug("run %s stopped", run_id, exc_info=True)
    finally:
        result.finished_at = now()
        result.retries_made = _retries_made(source, connectors)
        if result.fetch is not None:
            # The source counts its own calls across poll and write-back.
            result.api_calls = source.api_calls
            result.api_usage = source.usage or result.fetch.api_usage
        try:
            if record and not result.refused:  # a refused undo did nothing: no run
                runlog.run(_run_record(result))
        except OSError as exc:  # the summary and the alert still say what happened
            fault = classify(exc, ledger=ledger_path)
            log.error("could not write the run's line to the run log: %s", fault or exc)
            if not result.fatal and fault is not None:
                _machine_fault(result, fault)
        finally:
            runlog.close()
        if ledger is not None:
            with contextlib.suppress(sqlite3.Error):  # closing cannot lose a committed step
                ledger.close()
    return result


def _machine_fault(result: RunResult, fault: LocalEnvironmentError) -> None:
    """The run stopped because of the machine it runs on: exit code 5, one line."""
    result.fatal = str(fault)
    result.environment = True
    log.info("run %s stopped: %s", result.run_id, fault)


def _allocation_stop(
    cfg: Config,
    source: RequestSource,
    connectors: Mapping[System, Connector],
    plan: Plan,
    fetch: FetchResult,
) -> str:
    """Before the first write: can the org's daily Salesforce allocation, as the poll's
    Sforce-Limit-Info left it, afford this run and still keep the share other integrations
    need? (A dry run shows the answer; a real run stops with it.)"""
    spender = connectors.get(System.SALESFORCE)
    if not isinstance(spender, Spender):
        return ""
    usage = source.usage or fetch.api_usage
    figures = allocation.Allocation(*usage) if usage is not None else None
    needed = spender.calls_needed(plan.due)
    return allocation.stop_reason(figures, needed, cfg.salesforce.api_reserve_share)


def _retries_made(source: RequestSource, connectors: Mapping[System, Connector]) -> int:
    """The connectors count from zero for each run (wiring builds them per run); one object
    may serve as source and connector (Salesforce), so each is counted once."""
    counts = {id(source): source.retries}
    counts.update((id(c), c.retries) for c in connectors.values())
    return sum(counts.values())


def _fetch(
    cfg: Config,
    source: RequestSource,
    ledger: Ledger | None,
    started: datetime,
    only: str | None,
    *,
    option: str = "--only",
) -> tuple[FetchResult, bool]:
    if only is not None:
        found = source.find(only)
        if len(found) != 1:
            raise UnknownRequestError(
                f"{option} {only}: "
                + (
                    "no Takedown Request has this id or name in Salesforce"
                    if not found
                    else f"{len(found)} Takedown Requests have this name; give the record id"
                )
                + "; nothing was done"
            )
        return FetchResult(requests=found, high_water=None), False
    since = ledger.get_datetime(WATERMARK) if ledger else None
    last_full = ledger.get_datetime(LAST_FULL) if ledger else None
    full = (
        since is None
        or last_full is None
        or started - last_full >= timedelta(hours=cfg.salesforce.full_reconcile_hours)
    )
    open_ids = ledger.open_request_ids() if ledger else []
    if full and ledger is not None:
        open_ids += golive.adopted_ids(ledger)
    fetched = source.fetch(since=since, open_ids=open_ids, run_started=started, full=full)
    return fetched, full


def _of_interest(
    requests: Sequence[TakedownRequest], ledger: Ledger | None
) -> list[TakedownRequest]:
    """The poll also returns requests that changed without being approved (so a withdrawal after
    all the work was done is seen); of those, only the ones the sync acted on or still watches
    matter. A draft it never saw is none of its business."""
    others = [r.id for r in requests if not r.approved]
    if not others or ledger is None:
        return [r for r in requests if r.approved] if ledger is None else list(requests)
    watched = (
        ledger.acted_on(others)
        | set(ledger.open_request_ids())
        | set(golive.adopted_ids(ledger))  # a withdrawn adopted request is reported
    )
    return [r for r in requests if r.approved or r.id in watched]


def _phantoms(findings: Sequence[Finding], ledger: Ledger | None) -> set[str]:
    """A request Salesforce no longer shows matters only if the sync acted on it (something is
    owed, or must be undone by hand). One it never acted on (a stale finding of an older
    version, e.g. a mistyped `--only`) is a phantom: forgotten, its old findings dropped."""
    gone = {f.request_id for f in findings if f.code == NOT_IN_SALESFORCE}
    if ledger is None or not gone:
        return set()
    return gone - ledger.acted_on(gone)


def _apply(
    result: RunResult,
    ledger: Ledger,
    runlog: RunLog,
    connectors: Mapping[System, Connector],
    now: Callable[[], datetime],
    on_effect: Callable[[Effect, Outcome], None] | None,
    stop: Callable[[], bool],
    rules: PlanRules,
) -> None:
    """Each system's batch in APPLY_ORDER. Trello's archives run beside the spreadsheets and
    the emails (sync.engine.background): its reads and writes on a worker, started first, its
    outcomes recorded on this thread in Trello's place in the order, before the emails' run-log
    lines (held back meanwhile), so the ledger and the run log read as if run one after
    another."""
    journal = RunJournal(result.run_id, result.today, ledger)
    by_system: dict[System, list[Effect]] = {}
    for e in result.plan.due:
        by_system.setdefault(e.system, []).append(e)
    beside: tuple[Background, Connector, list[Effect]] | None = None

    def run_system(
        system: System,
        connector: Connector | None,
        effects: list[Effect],
        log_to: RunLog | _HeldLines,
        between: Callable[[], None] = lambda: None,
        stopping: Callable[[], bool] = stop,
        owed_if_missing: bool = False,
    ) -> bool:
        """One system's batch; False when a stop was asked for (the rest stays owed)."""
        pending = {e.key: e for e in effects}
        # Effects a connector checks by key at write time are committed once per batch: after
        # a crash mid-batch the next run finds them already done in the target. Email cannot
        # be checked, so each message is committed on its own ("sending", then "applied").
        batch: AbstractContextManager[None] = (
            nullcontext() if system is System.EMAIL else ledger.transaction()
        )
        with batch:
            message = _apply_batch(
                result,
                ledger,
                log_to,
                connector,
                system,
                pending,
                journal,
                now,
                on_effect,
                stopping,
                between,
            )
            if message is None or (owed_if_missing and message == _no_outcome(system)):
                return message is not None
            for effect in pending.values():
                failed = Outcome(effect.key, OutcomeStatus.FAILED, message)
                _record(result, ledger, log_to, effect, failed, now)
        return True

    def record_beside(*, stopped: bool) -> None:
        """Trello's outcomes, where its turn is; on a stop, what it finished (the rest owed)."""
        nonlocal beside
        if beside is None:
            return
        background, connector, effects = beside
        beside = None
        journal.guard = background.check  # still: a kill on its thread stops this one too
        if stopped:
            background.stop()
        # Everything it finished is recorded (it happened); on a stop, what it did not
        # reach stays owed for the next run, as for any system a stop interrupts.
        run_system(
            System.TRELLO,
            Replayed(background, connector),
            effects,
            runlog,
            stopping=lambda: False,
            owed_if_missing=stopped,
        )
        journal.guard = lambda: None
        if stopped:
            result.stopped = True

    try:
        trello = connectors.get(System.TRELLO)
        if by_system.get(System.TRELLO) and trello is not None and not stop():
            # Started first, recorded in its turn: its reads, then its writes beside the
            # spreadsheets' and the emails'.
            background = Background(trello, by_system[System.TRELLO], journal)
            beside = (background, trello, by_system[System.TRELLO])
            journal.guard = background.check
            background.prime()  # its before-images are on disk before its first write
        for system in APPLY_ORDER:
            if stop():
                result.stopped = True
                record_beside(stopped=True)
                return
            effects = by_system.get(system, [])
            if system is System.SALESFORCE:
                effects = _ready_writebacks(effects, ledger, result, runlog, now, rules)
            if not effects:
                continue
            connector = connectors.get(system)
            if system is System.TRELLO and beside is not None:
                if not by_system.get(System.EMAIL):
                    record_beside(stopped=False)
                continue  # else recorded once the emails are sent, before their lines
            if system is System.EMAIL and beside is not None:
                held = _HeldLines(runlog)
                finished = run_system(system, connector, effects, held, beside[0].service)
                record_beside(stopped=not finished)
                held.release()
                if not finished:
                    result.stopped = True
                    return
                continue
            if not run_system(system, connector, effects, runlog):
                result.stopped = True
                return
        record_beside(stopped=False)
    finally:
        if beside is not None:  # the run is dying: no write starts, the ones under way end
            beside[0].abort()


@dataclass
class _HeldLines:
    """Run-log lines of one system held back while the system before it in the order is
    still running beside it; written, in order, once that one's lines are."""

    runlog: RunLog
    lines: list[tuple[tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)

    def effect(self, *args: Any, **kwargs: Any) -> None:
        self.lines.append((args, kwargs))

    def release(self) -> None:
        for args, kwargs in self.lines:
            self.runlog.effect(*args, **kwargs)
        self.lines.clear()


def _apply_batch(
    result: RunResult,
    ledger: Ledger,
    runlog: RunLog | _HeldLines,
    connector: Connector | None,
    system: System,
    pending: dict[str, Effect],
    journal: RunJournal,
    now: Callable[[], datetime],
    on_effect: Callable[[Effect, Outcome], None] | None,
    stop: Callable[[], bool],
    between: Callable[[], None] = lambda: None,
) -> str | None:
    """Run one connector's batch; return why the effects it left without an outcome failed, or
    None when a shutdown was asked for (they stay owed)."""
    try:
        if connector is None:
            raise SyncError(f"{system}: no connector is configured")
        for outcome in connector.apply(list(pending.values()), journal):
            if outcome.key in result.outcomes and outcome.key in journal.messages:
                continue  # recorded with the first outcome of its message
            effect = pending.pop(outcome.key, None)
            if effect is None:
                log.warning("%s returned an outcome for an unknown key %s", system, outcome.key)
                continue
            journal.guard()
            # One message is one outcome: every effect it carried is recorded in one step.
            group = [effect] + [
                pending.pop(k) for k in journal.messages.get(outcome.key, ()) if k in pending
            ]
            with ledger.transaction() if len(group) > 1 else nullcontext():
                for e in group:
                    _record(result, ledger, runlog, e, replace(outcome, key=e.key), now)
            if on_effect is not None:
                for e in group:
                    on_effect(e, result.outcomes[e.key])
            between()  # the journal calls of a system running beside this one
            if stop():
                # Abandon the rest cleanly: they stay planned, the next run does them.
                result.stopped = True
                return None
    except SyncError as exc:
        log.info("%s stopped: %s", system, exc)  # each effect's line in the summary says why
        return str(exc)
    except Exception as exc:  # a bug must not lose the other systems' work
        fault = classify(exc, ledger=ledger.path)
        if fault is not None:
            # The ledger or the run log cannot record: acting on would act unrecorded. The run
            # stops here, said in one line (never each effect failed with a traceback).
            raise fault from None
        message = f"internal error in the {system} connector: {type(exc).__name__}: {exc}"
        log.error("%s\n%s", message, traceback.format_exc())
        return message
    return _no_outcome(system)


def _no_outcome(system: System) -> str:
    return f"the {system} connector returned no outcome for this effect"


def _record(
    result: RunResult,
    ledger: Ledger,
    runlog: RunLog | _HeldLines,
    effect: Effect,
    outcome: Outcome,
    now: Callable[[], datetime],
) -> None:
    state = ledger.record_outcome(outcome, result.run_id)
    if outcome.delivered_to:
        ledger.record_deliveries(effect.key, outcome.delivered_to, result.run_id)
    if outcome.before:
        ledger.save_before(effect.key, effect.request_id, outcome.before)
    result.outcomes[effect.key] = outcome
    row = ledger.get(effect.key)
    runlog.effect(
        result.run_id,
        effect,
        str(outcome.status),
        # A skip keeps its reason (no card on a board), as the planner's skips do.
        error="" if state is EffectState.APPLIED else outcome.message,
        attempts=row.attempts if row else outcome.attempts,
        retries=outcome.retries,
        at=_iso(now()),
    )
    # INFO, whatever the outcome: the run's summary says each failure once (stderr); -v adds
    # this line per effect, with when it happened.
    log.info("%s %s: %s %s", effect.request.label, effect.key, outcome.status, outcome.message)


def _ready_writebacks(
    effects: Sequence[Effect],
    ledger: Ledger,
    result: RunResult,
    runlog: RunLog,
    now: Callable[[], datetime],
    rules: PlanRules,
) -> list[Effect]:
    """A write-back reports what was done, so it waits until every effect it covers is final,
    and then says only what was done (a skipped effect is named as skipped)."""
    ready: list[Effect] = []
    for e in effects:
        writeback = e.kind in (EffectKind.SALESFORCE_WRITEBACK, EffectKind.UNDO_WRITEBACK)
        if not writeback or not e.after:
            ready.append(e)
            continue
        states = ledger.states([e.request_id])
        blocking = [k for k in e.after if states.get(k) not in FINAL_STATES]
        if not blocking:
            skipped = frozenset(k for k in e.after if states.get(k) is EffectState.SKIPPED)
            ready.append(settle_writeback(e, skipped))
            continue
        why = "waits for: " + ", ".join(
            f"{k.split('/', 1)[1]} ({states.get(k, EffectState.PLANNED)})" for k in blocking
        )
        result.waiting_on[e.key] = why
        runlog.effect(result.run_id, e, "waiting", error=why, attempts=0, at=_iso(now()))
    return ready


def _advance_watermark(
    ledger: Ledger, fetch: FetchResult, result: RunResult, only: str | None, *, full: bool
) -> None:
    """Only a complete, unfiltered run may move the poller forward."""
    if only is not None or result.stopped:
        return
    if any(o.status is OutcomeStatus.FAILED for o in result.outcomes.values()):
        return
    if fetch.high_water is not None:
        previous = ledger.get_datetime(WATERMARK)
        if previous is None or fetch.high_water > previous:
            ledger.set_datetime(WATERMARK, fetch.high_water)
    if full:
        ledger.set_datetime(LAST_FULL, result.started_at)


def _run_record(result: RunResult) -> dict[str, object]:
    counts = result.counts
    record: dict[str, object] = {
        "run_id": result.run_id,
        "started_at": _iso(result.started_at),
        "finished_at": _iso(result.finished_at or result.started_at),
        "as_of": result.today.isoformat(),
        "dry_run": result.dry_run,
        "counts": {
            k: counts.get(k, 0)
            for k in ("applied", "failed", "waiting", "needs_person", "skipped", "left")
        },
        "retries": result.retries,
        "exit_code": int(result.exit_code),
        "error": result.fatal,
        "stopped_early": result.stopped,
        "adopted": result.adopted,
    }
    if result.fetch is not None:
        record["salesforce_api_calls"] = result.api_calls
        if result.api_usage is not None:
            used, limit = result.api_usage
            record["salesforce_api_usage"] = {"used": used, "limit": limit}
    return record


def _iso(d: datetime) -> str:
    return d.astimezone(UTC).isoformat(timespec="milliseconds")
