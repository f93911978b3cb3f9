"""What people read: the plan of a dry run and the summary of a run, as plain text tables.

Kept apart from the engine so the words can change without touching behaviour, and so the JSON
form of a plan (for machines) is built in one place.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from sync.core.domain import Check, Effect, Finding, OutcomeStatus, System, TakedownRequest
from sync.core.planner import Plan
from sync.core.shadow import check_word
from sync.core.wording import describe
from sync.engine.result import RunResult

WIDTH = 100


def table(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None) -> str:
    """Left-aligned columns, two spaces apart; the last column is never padded."""
    all_rows = [list(header)] + [list(r) for r in rows] if header else [list(r) for r in rows]
    if not all_rows:
        return ""
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(all_rows[0]) - 1)]
    lines = []
    for n, r in enumerate(all_rows):
        cells = [c.ljust(widths[i]) for i, c in enumerate(r[:-1])] + [r[-1]]
        lines.append("  ".join(cells).rstrip())
        if header and n == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(r[-1]))
    return "\n".join(lines)


def _request_line(r: TakedownRequest) -> str:
    eff = f"effective {r.effective_date:%Y-%m-%d}" if r.effective_date else "no effective date"
    kind = r.raw_type or (str(r.type) if r.type else "unknown type")
    return f"{r.name or r.id}  {r.client_name}  ({kind}, {eff})"


def plan_text(plan: Plan, checks: Mapping[str, Check] | None = None, stop_reason: str = "") -> str:
    """The dry run: every effect per request and system, then what needs a person. With
    `checks` (the targets read back), a due effect says "would do" or "already done by a
    person"; an email cannot be checked and says so."""
    out = [f"Plan as of {plan.today:%Y-%m-%d} (dry run: nothing was changed anywhere)", ""]
    if stop_reason:
        out += [wrap(f"A real run would stop before any write: {stop_reason}", ""), ""]
    per_request: dict[str, list[tuple[str, Effect, str]]] = {}
    requests: dict[str, TakedownRequest] = {}
    for e in plan.due:
        when = check_word(e, checks) if checks is not None else "due now"
        per_request.setdefault(e.request_id, []).append((when, e, describe(e)))
        requests[e.request_id] = e.request
    for e in plan.waiting:
        per_request.setdefault(e.request_id, []).append(
            ("waiting", e, f"{describe(e)} (from {e.not_before:%Y-%m-%d})")
        )
        requests[e.request_id] = e.request
    for e, why in plan.skips:
        per_request.setdefault(e.request_id, []).append(("skip", e, why))
        requests[e.request_id] = e.request
    for e, why in plan.holds:
        per_request.setdefault(e.request_id, []).append(("on hold", e, why))
        requests[e.request_id] = e.request
    if not per_request:
        out.append("Nothing to do.")
    for rid, items in per_request.items():
        out.append(_request_line(requests[rid]))
        rows = [
            [f"  {when}", str(e.system), str(e.kind), e.target, what] for when, e, what in items
        ]
        out.append(table(rows))
        out.append("")
    out.extend(findings_text(plan.findings))
    due, waiting, skips = len(plan.due), len(plan.waiting), len(plan.skips)
    out.append(
        f"Totals: {due} due now, {waiting} waiting, {skips} to skip, "
        + (f"{len(plan.holds)} to put on hold, " if plan.holds else "")
        + f"{len(plan.needs_person)} need a person"
    )
    if checks is not None:
        by_people = sum(1 for e in plan.due if check_word(e, checks).startswith("already"))
        emails = sum(1 for e in plan.due if e.system is System.EMAIL)
        out.append(
            f"Checked against the targets: {by_people} already done by a person, "
            f"{due - by_people - emails} would do, {emails} email(s) (cannot be checked)"
        )
    return "\n".join(out).rstrip() + "\n"


def wrap(text: str, indent: str = "  ") -> str:
    """Long lines read badly in a terminal and in the cron mail: wrap them under their bullet."""
    return textwrap.fill(
        text,
        width=WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + "    ",
        break_on_hyphens=False,
    )


def findings_text(findings: Iterable[Finding]) -> list[str]:
    person = [f for f in findings if f.needs_person]
    notes = [f for f in findings if not f.needs_person]
    out: list[str] = []
    if person:
        out.append("Needs a person:")
        out.extend(wrap(f"{f.label or f.request_id}: {f.message}") for f in person)
        out.append("")
    if notes:
        out.append("Notes:")
        out.extend(wrap(f"{f.label or f.request_id}: {f.message}") for f in notes)
        out.append("")
    return out


def plan_json(plan: Plan, checks: Mapping[str, Check] | None = None) -> list[dict[str, Any]]:
    """The dry run for machines: every effect still owed, due now or waiting."""
    rows = []
    for status, effects in (("due", plan.due), ("waiting", plan.waiting)):
        for e in effects:
            rows.append(
                {
                    "key": e.key,
                    "kind": str(e.kind),
                    "request_id": e.request_id,
                    "request": e.request.name,
                    "client": e.request.client_name,
                    "system": str(e.system),
                    "target": e.target,
                    "not_before": e.not_before.isoformat(),
                    "status": status,
                    "check": str(checks[e.key].state) if checks and e.key in checks else None,
                }
            )
    return rows


def run_text(result: RunResult) -> str:
    """The summary a person reads after a run (and in the cron mail), as one text."""
    done, problems = run_parts(result)
    return done + problems


def print_run(result: RunResult, out: TextIO, err: TextIO) -> None:
    """The summary, each thing said once: what the run did on `out`, what went wrong or needs
    a person on `err` (after `out` is flushed, so a cron mail of both reads in order)."""
    done, problems = run_parts(result)
    out.write(done)
    out.flush()
    if problems:
        err.write(problems)
        err.flush()


def run_parts(result: RunResult) -> tuple[str, str]:
    """(what the run did, what went wrong or needs a person): stdout and stderr of a run."""
    counts = result.counts
    took = (result.finished_at - result.started_at).total_seconds() if result.finished_at else 0.0
    left = f", {counts['left']} left for the next run" if result.stopped else ""
    head = (
        f"Run {result.run_id} as of {result.today:%Y-%m-%d}: "
        f"{counts['applied']} applied, {counts['failed']} failed, {counts['waiting']} waiting, "
        f"{counts['needs_person']} need a person, {counts['skipped']} skipped{left} "
        f"({took:.1f} s)" + (" - STOPPED EARLY" if result.stopped or result.fatal else "")
    )
    out = [head]
    err: list[str] = []
    if result.fatal:
        err.append(wrap(f"STOPPED: {result.fatal}", ""))
    if result.stopped:
        n = counts["left"]
        err.append(
            f"STOPPED EARLY: a shutdown was asked for (SIGTERM); the run finished the effect in "
            f"hand and left {n} effect{'' if n == 1 else 's'} owed for the next run."
        )
    if result.retries:
        out.append(f"  ({result.retries} retries of outside calls were needed)")
    done: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    problems: list[list[str]] = []
    skipped: list[tuple[str, str]] = []
    for e in result.plan.due:
        o = result.outcomes.get(e.key)
        if o is None:
            continue
        labels[e.request_id] = e.request.label
        if o.status in (OutcomeStatus.APPLIED, OutcomeStatus.ALREADY_DONE):
            done.setdefault(e.request_id, []).append(describe(e))
        elif o.status is OutcomeStatus.SKIPPED:
            # Not done, and fine: never listed under "Done" (a board with no card is no archive).
            skipped.append((e.request.label, f"{e.kind} -> {e.target}: {o.message}"))
        else:
            word = {
                OutcomeStatus.FAILED: "FAILED",
                OutcomeStatus.UNCONFIRMED: "UNCONFIRMED SEND",
            }.get(o.status, "NEEDS A PERSON")
            problems.append([f"  {word}", e.request.label, f"{e.kind} -> {e.target}: {o.message}"])
    if done:
        out.append("Done:")
        for rid, items in done.items():
            out.append(wrap(f"{labels[rid]}: {', '.join(items)}"))
    skipped += [(e.request.label, f"{e.kind} -> {e.target}: {why}") for e, why in result.plan.skips]
    skipped += [
        (e.request.label, f"{e.kind} -> {e.target}: on hold, {why}") for e, why in result.plan.holds
    ]
    if skipped:
        out.append("Skipped:")
        out.extend(wrap(f"{label}: {what}") for label, what in skipped)
    for key, why in result.waiting_on.items():
        out.append(f"  held back: {key}: {why}")
    if problems:
        err.append("Problems:")
        err.append(table(problems))
    err.extend(findings_text(result.plan.findings))
    return _text(out), _text(err)


def _text(lines: list[str]) -> str:
    return "\n".join(lines).rstrip() + "\n" if lines else ""
