"""The operations lead's views: `log`, `log RUN_ID`, `log --failed`, `status`, and `resolve`.

They read the run log and the ledger only (never a service), so they answer at once and work
while a run is going on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TextIO

from sync.config.model import Config
from sync.core.allocation import Allocation, may_spend
from sync.core.domain import FINAL_STATES, NOT_IN_SALESFORCE, EffectState
from sync.core.records import AdoptedRow
from sync.exitcodes import ExitCode
from sync.ops import morning
from sync.ops.render import table, wrap
from sync.state.adoption import AdoptionLedger
from sync.state.alert_sends import AlertSends
from sync.state.ledger import Ledger
from sync.state.runlog import RunLog

_WORDS = {
    "applied": "done",
    "already_done": "done (was already there)",
    "skipped": "skipped",
    "failed": "FAILED",
    "needs_person": "NEEDS A PERSON",
    "unconfirmed": "UNCONFIRMED SEND",
    "waiting": "waiting",
    "on_hold": "on hold",
}


def _ledger(cfg: Config) -> Ledger | None:
    return Ledger.open_readonly(cfg.state_path / "ledger.sqlite3")


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _duration(run: dict[str, Any]) -> str:
    try:
        took = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(
            run["started_at"]
        )
    except (KeyError, ValueError):
        return "?"
    return f"{took.total_seconds():.1f} s"


def _result(run: dict[str, Any]) -> str:
    """The `log` table's last column: how the run ended, in a few words; a run that failed
    says so, with its exit code and why."""
    if run.get("stopped_early"):
        return f"stopped early, {run.get('counts', {}).get('left', '?')} left for the next run"
    if run.get("error"):
        error = str(run["error"])
        error = error if len(error) <= 60 else error[:57] + "..."
        return f"FAILED (exit {run.get('exit_code', '?')}): {error}"
    return "ok" if run.get("exit_code", 0) == 0 else "see log RUN_ID"


def log_command(cfg: Config, run_id: str | None, *, failed: bool, limit: int, out: TextIO) -> int:
    runlog = RunLog.in_state_dir(cfg.state_path)
    runs = runlog.runs()
    if not runs:
        out.write(f"No runs yet (run log: {runlog.path}).\n")
        return ExitCode.OK
    if run_id is None and not failed:
        rows = []
        shown = runs[-limit:][::-1]
        with_adopted = any(r.get("adopted") for r in shown)
        for r in shown:
            c = r.get("counts", {})
            rows.append(
                [
                    r["run_id"],
                    _when(r["started_at"]),
                    _duration(r),
                    str(c.get("applied", 0)),
                    str(c.get("skipped", 0)),
                    str(c.get("failed", 0)),
                    str(c.get("waiting", 0)),
                    str(c.get("needs_person", 0)),
                    *([str(r.get("adopted", 0))] if with_adopted else []),
                    _result(r),
                ]
            )
        header = [
            "run",
            "started (UTC)",
            "took",
            "applied",
            "skipped",
            "failed",
            "waiting",
            "person",
            *(["adopted"] if with_adopted else []),
            "result",
        ]
        out.write(table(rows, header) + "\n")
        return ExitCode.OK
    if run_id in (None, "last"):
        run_id = runs[-1]["run_id"]
    run = next((r for r in runs if r["run_id"] == run_id), None)
    if run is None:
        out.write(f"No run {run_id} in {runlog.path}. `python -m sync log` lists the runs.\n")
        return ExitCode.NOT_FOUND
    effects = runlog.effects_of(run_id)
    findings = [r for r in runlog.read() if r.get("type") == "finding" and r["run_id"] == run_id]
    if failed:
        effects = [e for e in effects if e["outcome"] in ("failed", "needs_person", "unconfirmed")]
    c = run.get("counts", {})
    out.write(
        f"Run {run_id}, started {_when(run['started_at'])} UTC, took {_duration(run)}, as of "
        f"{run.get('as_of', '?')}: {c.get('applied', 0)} applied, {c.get('failed', 0)} failed, "
        f"{c.get('waiting', 0)} waiting, {c.get('needs_person', 0)} need a person"
        f"{', ' + str(run['retries']) + ' retries' if run.get('retries') else ''}\n"
    )
    if run.get("error"):
        out.write(wrap(f"The run stopped: {run['error']}", "") + "\n")
    if run.get("stopped_early"):
        out.write(
            f"The run stopped early (a shutdown was asked for) and left "
            f"{c.get('left', '?')} effect(s) owed for the next run.\n"
        )
    if run.get("adopted"):
        out.write(
            f"{run['adopted']} request(s) seen were adopted at the cut-over (handled by people; "
            "nothing is done for them)\n"
        )
    rows = [
        [
            e.get("request") or e["request_id"],
            e.get("client", ""),
            e["kind"],
            e["target"],
            _WORDS.get(e["outcome"], e["outcome"]),
            e.get("error", ""),
        ]
        for e in effects
    ]
    if rows:
        out.write(
            "\n"
            + table(rows, ["request", "client", "effect", "target", "outcome", "reason"])
            + "\n"
        )
    elif failed:
        out.write("No failures in this run.\n")
    if findings:
        out.write("\nNeeds a person / notes:\n")
        for f in findings:
            out.write(wrap(f"{f.get('request') or f['request_id']}: {f['message']}") + "\n")
    return ExitCode.OK


def status_command(cfg: Config, *, out: TextIO) -> int:
    ledger = _ledger(cfg)
    if ledger is None:
        out.write("Nothing yet: the sync has not run with this state directory.\n")
        return ExitCode.OK
    try:
        labels = ledger.request_labels()
        rows_by_request = defaultdict(list)
        for row in ledger.rows():
            rows_by_request[row.request_id].append(row)
        findings = defaultdict(list)
        for f in ledger.findings():
            if f.code == NOT_IN_SALESFORCE and f.request_id not in rows_by_request:
                continue  # a request never acted on that Salesforce does not show: a phantom
            findings[f.request_id].append(f)
        open_ids = sorted(
            {
                rid
                for rid, rows in rows_by_request.items()
                if any(r.state not in FINAL_STATES for r in rows)
            }
            | set(findings),
            key=lambda rid: labels.get(rid, {}).get("label", rid),
        )
        adopted = AdoptionLedger(ledger).adopted()
        _unconfirmed_others(ledger, out)
        if not open_ids:
            out.write("No open requests: everything owed has been done.\n")
            _adopted_text(adopted, out)
            _undone(ledger, labels, out)
            _allocation_text(cfg, out)
            return ExitCode.OK
        out.write(f"{len(open_ids)} open request(s)\n")
        for rid in open_ids:
            info = labels.get(rid, {})
            out.write(
                f"\n{info.get('label', rid)}  {info.get('type', '')}, effective "
                f"{info.get('effective_date') or '?'}, Salesforce status "
                f"'{info.get('status', '?')}'\n"
            )
            rows = rows_by_request.get(rid, [])
            done = [r for r in rows if r.state in FINAL_STATES]
            owed = [r for r in rows if r.state not in FINAL_STATES]
            if done:
                names = ", ".join(
                    f"{r.kind}/{r.target}"
                    + (" (skipped)" if r.state is EffectState.SKIPPED else "")
                    for r in done
                )
                out.write(wrap(f"done: {names}") + "\n")
            for r in owed:
                word = {
                    EffectState.PLANNED: f"owed from {r.not_before}",
                    EffectState.FAILED: f"failed {r.attempts}x, retried each run: {r.last_error}",
                    EffectState.NEEDS_PERSON: f"needs a person: {r.last_error}",
                    EffectState.ON_HOLD: f"on hold: {r.last_error}",
                    EffectState.SENDING: "unconfirmed send: check the mailbox, then "
                    f"`python -m sync resolve {r.key} --sent` or `--resend`",
                }.get(r.state, str(r.state))
                out.write(wrap(f"{r.kind}/{r.target}: {word}") + "\n")
            for f in findings.get(rid, []):
                out.write(wrap(f"needs a person: {f.message}") + "\n")
        _adopted_text(adopted, out)
        _undone(ledger, labels, out)
        _allocation_text(cfg, out)
        return ExitCode.OK
    finally:
        ledger.close()


def _unconfirmed_others(ledger: Ledger, out: TextIO) -> None:
    """Messages outside any request a run stopped while sending: the morning summary (and any
    daily message) and alerts. Each may or may not have gone out."""
    lines = [
        f"{name.replace('_', ' ')}: unconfirmed send: check the mailbox, then "
        f"`python -m sync resolve {name} --sent` or `--resend`"
        for name in morning.unconfirmed(ledger)
    ]
    lines += [
        f"alert of {a.started_at[:16].replace('T', ' ')} UTC ({len(a.problems)} problem(s)): "
        f"unconfirmed send: check the mailbox, then `python -m sync resolve {a.key} --sent` "
        "or `--resend`"
        for a in AlertSends(ledger).unconfirmed()
    ]
    if lines:
        out.write("Unconfirmed messages\n" + "\n".join(wrap(x) for x in lines) + "\n\n")


def _allocation_text(cfg: Config, out: TextIO) -> None:
    """The org's daily Salesforce allocation as the last run that heard it saw it: what is
    left, and what the next run may spend of it (salesforce.api_reserve_share)."""
    runs = [r for r in RunLog.in_state_dir(cfg.state_path).runs() if r.get("salesforce_api_usage")]
    if not runs:
        return
    last = runs[-1]
    usage = last["salesforce_api_usage"]
    figures = Allocation(int(usage["used"]), int(usage["limit"]))
    reserve = cfg.salesforce.api_reserve_share
    # Last, after the requests: a fact about the org, not a request (the page's Open requests
    # section states the same as everything before it).
    out.write(
        "\n"
        + wrap(
            f"Salesforce API allocation: {figures.used:,} of {figures.limit:,} daily calls used, "
            f"{figures.left:,} left (as of the run at {last.get('started_at', '?')}); a run may "
            f"use {may_spend(figures, reserve):,} of them, keeping {reserve:.0%} for the org's "
            "other integrations."
        )
        + "\n"
    )


def _adopted_text(adopted: Mapping[str, AdoptedRow], out: TextIO) -> None:
    """Adopted requests: how many, and each one a person should know about."""
    if not adopted:
        return
    still = [a for a in adopted.values() if a.state == "adopted"]
    cutovers = sorted({a.cutover for a in still})
    out.write(
        f"\n{len(still)} request(s) adopted at the cut-over ({', '.join(cutovers)}): handled by "
        "people; the sync never acts on them by itself\n"
    )
    for a in sorted(adopted.values(), key=lambda a: a.label):
        if a.state == "released":
            out.write(wrap(f"{a.label}: adopted, then {a.note}: the sync acts on it") + "\n")
        elif a.note:
            out.write(
                wrap(
                    f"{a.label} [adopted]: changed since (status now '{a.seen_status}', "
                    f"approved {a.seen_approved_on}); reported, nothing done"
                )
                + "\n"
            )


def _undone(ledger: Ledger, labels: dict[str, dict[str, str]], out: TextIO) -> None:
    """Requests whose work the sync undid (`python -m sync undo`), most recent first."""
    done = [u for recs in ledger.undos().values() for u in recs if u.finished_at]
    if not done:
        return
    out.write(f"\nUndone ({len(done)}):\n")
    for u in sorted(done, key=lambda u: u.finished_at or "", reverse=True):
        label = labels.get(u.request_id, {}).get("label", u.request_id)
        why = f"forced: {u.reason}" if u.forced else (u.reason or "withdrawn after the sync acted")
        line = f"{label}: undone {_when(u.finished_at or '')} UTC ({why})"
        if u.generation > 1:
            line += f", life {u.generation}"
        out.write(wrap(line) + "\n")


def resolve_command(cfg: Config, key: str, *, sent: bool, out: TextIO) -> int:
    """Settle one unconfirmed message, named by any effect key it carried or its Message-ID:
    every effect of that message is settled together (a digest covers several requests)."""
    path = cfg.state_path / "ledger.sqlite3"
    if not path.exists():
        out.write("No ledger in this state directory.\n")
        return ExitCode.NOT_FOUND
    ledger = Ledger(path)
    try:
        how = "recorded as sent" if sent else "will be sent on the next run"
        if morning.resolve(ledger, key, sent=sent):
            later = "" if sent else " (if it is still that day; else today's summary covers it)"
            out.write(f"{key}: {how}{later}.\n")
            return 0
        alert = AlertSends(ledger).resolve(ledger, key, sent=sent)
        if alert is not None:
            out.write(f"{alert.key}: the alert of {len(alert.problems)} problem(s) {how}.\n")
            return 0
        settled = ledger.resolve_sending(key, sent=sent)
        if not settled:
            row = ledger.get(key)
            what = f"its state is {row.state}" if row else "no effect key or Message-ID matches"
            out.write(f"{key} is not an unconfirmed send ({what}); nothing changed.\n")
            return ExitCode.NOT_FOUND
        if len(settled) == 1:
            out.write(f"{settled[0]}: {how}.\n")
        else:
            out.write(f"One message carrying {len(settled)} effects: {how}.\n")
            out.writelines(f"  {k}\n" for k in settled)
        return ExitCode.OK
    finally:
        ledger.close()
