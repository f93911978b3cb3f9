"""The safety valve: a run that looks like a backlog stops before its first write.

Pure: it looks at the plan and what the ledger knows, never at a service. Three rules, each
lifted by `--allow-backlog` (a person who read the plan and wants it done):

- a first run against a real org (the ledger knows nothing and no cut-over is configured) acts
  on years of history people already handled: stop, and name `adopt`;
- a run that would act on more than `golive.max_requests_per_run` requests at once: stop;
- a request first seen with an effective date more than `golive.max_days_past` days back is a
  question for a person (a finding), never an email to a partner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sync.core.domain import EffectKind, EffectState, Finding, TakedownRequest
from sync.core.planner import Plan


@dataclass(frozen=True)
class Limits:
    sandbox: bool = False
    max_requests_per_run: int = 25
    max_days_past: int = 30
    cutover_configured: bool = False


def long_past(
    requests: Sequence[TakedownRequest],
    states: Mapping[str, EffectState],
    today: date,
    limits: Limits,
) -> tuple[list[TakedownRequest], list[Finding]]:
    """Keep the requests the planner may act on; the rest become findings for a person."""
    known = {key.split("/", 1)[0] for key in states}
    oldest = today - timedelta(days=limits.max_days_past)
    kept: list[TakedownRequest] = []
    findings: list[Finding] = []
    for req in requests:
        eff = req.effective_date
        if req.approved and req.id not in known and eff is not None and eff < oldest:
            who = req.name or req.id
            findings.append(
                Finding(
                    req.id,
                    "effective_date_long_past",
                    f"effective date {eff:%Y-%m-%d} passed {(today - eff).days} days ago, "
                    f"before the sync first saw the request (golive.max_days_past = "
                    f"{limits.max_days_past}). Nothing was done: no email, no row removed. If "
                    f"people handled it: `python -m sync adopt --only {who}`; to have the sync "
                    f"do it now: `python -m sync --only {who} --allow-backlog`",
                    label=req.label,
                )
            )
            continue
        kept.append(req)
    return kept, findings


def stop_reason(plan: Plan, *, fresh: bool, approved_seen: int, limits: Limits) -> str:
    """Why this run must not write, or "" when it may (the engine prefixes "stopped before
    any write: ")."""
    acting = sorted({e.request_id for e in plan.due})
    labels = {e.request_id: e.request.name or e.request_id for e in plan.due}
    emails = sum(1 for e in plan.due if e.kind is EffectKind.SIMPLIFI_NOTICE)
    what = (
        f"{len(acting)} request(s) with {len(plan.due)} effect(s) due now, including {emails} "
        f"email(s) to Simpli.fi"
    )
    if fresh and not limits.sandbox and not limits.cutover_configured and approved_seen:
        return (
            f"this is the first run against this org (the ledger is empty) and Salesforce has "
            f"{approved_seen} approved request(s): {what}. Requests approved before the sync was "
            "switched on were handled by people. Record them first: "
            "`python -m sync adopt --approved-before YYYY-MM-DD` (try `--dry-run` first), or set "
            "golive.approved_before; or, to act on all of them, run again with --allow-backlog"
        )
    if len(acting) > limits.max_requests_per_run:
        shown = ", ".join(labels[r] for r in acting[:10])
        more = f" and {len(acting) - 10} more" if len(acting) > 10 else ""
        return (
            f"this run would act on {what}, more than "
            f"golive.max_requests_per_run = {limits.max_requests_per_run} ({shown}{more}). "
            "If they were handled by people: `python -m sync adopt --approved-before "
            "YYYY-MM-DD`; if the sync should do them all: run again with --allow-backlog"
        )
    return ""
