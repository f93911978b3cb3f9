"""Alerts to the operations lead: once per problem, not once per run while it persists.

A problem is a failed effect, an effect or request that needs a person, or a run that could not
start. Its key is stable (the effect key, the request id + finding code), so the ledger's alerts
table tells which problems she already heard about; a problem that goes away is marked resolved
and would be alerted again if it came back.

An alert's Message-ID is derived from its problems *and their occurrence* (when each was last
alerted before): an alert that could not be sent and is tried again on the next run keeps its
Message-ID, while a problem that was fixed and came back gets a new one, so no mail system
drops it as a duplicate of the first.

A problem whose cause changes while it is open (the tracker's header is back but the sheet is
now shared read-only) is a new problem for alerting: the ops lead's only alert would otherwise
name the old cause. Causes are compared with their counts and times masked, so "after 3
attempts" and "after 5 attempts" are one cause.

An alert is recorded "sending" before it goes out and "sent" after (sync.state.alert_sends): a kill
in between never sends it twice; `status` and `resolve` settle it like any unconfirmed email.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sync.clock import SYSTEM as SYSTEM_CLOCK
from sync.clock import Clock
from sync.config.model import Config
from sync.config.redaction import redact
from sync.core.domain import FINAL_STATES, OutcomeStatus
from sync.core.planner import UNCONFIRMED_SEND
from sync.core.wording import resolve_words
from sync.engine.result import RunResult
from sync.state.alert_sends import AlertSends
from sync.state.ledger import Ledger

log = logging.getLogger("sync.alerts")

ADVICE: Mapping[str, str] = {
    "approval_chain": "Check the request's approval history in Salesforce. The sync acts on it "
    "by itself once the chain is complete.",
    "credit_amount": "Correct the credit amount on the request in Salesforce (a number such as "
    "400.00, or empty when no credit is issued); the next run picks it up.",
    "unknown_type": "Correct the request type in Salesforce; the next run picks it up.",
    "unknown_platform": "Set the platform (DS or ARI) on the request in Salesforce.",
    "effective_date": "Set a valid effective date on the request in Salesforce.",
    "no_client": "Give the account a name in Salesforce (the request's account is set; its "
    "Account Name is empty). The next run picks it up.",
    "no_account": "Set the account on the request in Salesforce.",
    "withdrawn_after_action": "The request was withdrawn after the sync acted. Nothing was undone, "
    "and its Salesforce sync status says so. Decide whether to revert those steps by hand. What "
    "was still owed is on hold: if the request is approved again with a new approval round, the "
    "sync resumes it.",
    "reapproved_without_new_round": "Resubmit the request for approval: the sync resumes the "
    "steps on hold once a new approval round is complete.",
    "internal_error": "This is a bug in the sync, not in the data you entered: the message names "
    "it. The other requests were handled. Report it (with `python -m sync -vv` output) to whoever "
    "maintains the sync.",
    "unconfirmed_send": "Check the sent mail, then run the `python -m sync resolve` command given.",
    "failed": "The sync tries again on every run. If this keeps failing, the reason above says "
    "what to fix.",
    "needs_person": "The sync will not guess here. Fix what the message says; the next run "
    "tries again.",
    "fatal": "The run could not finish. Fix what the message says; the next run tries again.",
    "environment": "This is the machine the sync runs on, not a bug and not a service: the "
    "message names the path and what to do. Nothing more was done after it; once it is fixed "
    "the next run goes on from there.",
}


@dataclass(frozen=True)
class Problem:
    key: str
    code: str
    text: str


def problems_of(result: RunResult) -> dict[str, Problem]:
    out: dict[str, Problem] = {}
    for e in result.plan.due:
        o = result.outcomes.get(e.key)
        if o is None or o.status not in (
            OutcomeStatus.FAILED,
            OutcomeStatus.NEEDS_PERSON,
            OutcomeStatus.UNCONFIRMED,
        ):
            continue
        if o.status is OutcomeStatus.UNCONFIRMED:
            # One problem with the next runs' finding for the same message (same key), so it is
            # alerted once, and with the command that settles it from the first alert on.
            key = f"finding:{e.request_id}:{UNCONFIRMED_SEND}"
            text = f"{e.request.label}: {e.kind} -> {e.target}: {o.message} {resolve_words(e)}"
            out[key] = Problem(key, UNCONFIRMED_SEND, text)
            continue
        code = "failed" if o.status is OutcomeStatus.FAILED else "needs_person"
        out[f"effect:{e.key}"] = Problem(
            f"effect:{e.key}", code, f"{e.request.label}: {e.kind} -> {e.target}: {o.message}"
        )
    for f in result.plan.needs_person:
        key = f"finding:{f.request_id}:{f.code}"
        out[key] = Problem(key, f.code, f"{f.label or f.request_id}: {f.message}")
    if result.fatal:
        code = "environment" if result.environment else "fatal"
        out["run:fatal"] = Problem("run:fatal", code, f"the run stopped: {result.fatal}")
    return out


# Counts, durations and times change from run to run without the cause changing.
_VOLATILE = re.compile(
    r"\d{8}T\d{6}Z-[0-9a-f]{4}"  # a run id
    r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\b\d+(?:\.\d+)?\s*(?:s|ms|seconds?|minutes?|attempts?|retries|tries|times|x)\b"
    r"|\b\d+ (?:requests?|effects?|emails?)(?:\(s\))?"
    r"|\b(?:pid|uid) \d+"
)


def cause_of(text: str) -> str:
    """What a problem's text says is wrong, without what varies from run to run."""
    return _VOLATILE.sub("#", text)


def _changed(problem: Problem, alerted: str) -> bool:
    # A message that may not have gone out is one cause however it is worded: the run that
    # lost the answer words it from the outcome, the next runs from their finding.
    if problem.code == UNCONFIRMED_SEND:
        return False
    # The ledger keeps the alerted text redacted: compare like with like.
    return cause_of(redact(problem.text)) != cause_of(alerted)


def after_run(
    cfg: Config, result: RunResult, email: object | None, clock: Clock = SYSTEM_CLOCK
) -> list[str]:
    """Send one message for the problems that are new since the last alert; return their keys.
    `email` is the email connector (anything with `send_alert`)."""
    if not cfg.alerts.enabled or result.dry_run:
        return []
    ledger = Ledger(cfg.state_path / "ledger.sqlite3", clock=clock)
    try:
        problems = problems_of(result)
        known = ledger.open_alerts()
        _resolve_gone(ledger, result, problems, known)
        sends = AlertSends(ledger)
        unconfirmed = sends.unconfirmed()
        if cfg.email.unconfirmed_policy == "resend":  # sent again below, same Message-ID
            for alert in unconfirmed:
                sends.forget(alert.key)
            unconfirmed = []
        # A problem carried by an alert a run stopped while sending waits for a person.
        waiting = {k for a in unconfirmed for k in a.problems}
        new = [
            p
            for k, p in problems.items()
            if k not in waiting and (k not in known or _changed(p, known[k]))
        ]
        if not new:
            return []
        send = getattr(email, "send_alert", None)
        if not callable(send):
            log.error("cannot alert the operations lead: no email connector")
            return []
        digest = occurrence_digest(new, ledger.last_alerted([p.key for p in new]))
        return _send_once(ledger, sends, f"alert-{digest}", new, result, send)
    finally:
        ledger.close()


def _send_once(
    ledger: Ledger,
    sends: AlertSends,
    key: str,
    new: list[Problem],
    result: RunResult,
    send: Callable[[str, str, str], object],
) -> list[str]:
    """Send the alert `key` unless it went out already; return its problems' keys once
    recorded as alerted. "sending" is committed before the hand-over, "sent" after."""
    earlier = sends.get(key)
    if earlier is None or earlier.state != "sent":
        sends.sending(key, {p.key: p.text for p in new})
        subject = (
            f"Offboarding sync: {len(new)} new problem(s) need attention (run {result.run_id})"
        )
        try:
            send(key, subject, _body(new, result))
        except Exception as exc:  # an alert failing must not fail the run's own result
            if not getattr(exc, "may_have_been_sent", False):
                sends.forget(key)  # definitely not sent: the next run tries again
            log.error("could not send the alert to the operations lead: %s", exc)
            return []
    # Recorded once, together: the alert as sent and each problem as alerted.
    with ledger.transaction():
        for p in new:
            ledger.alert_sent(p.key, p.text)
        sends.settle(key)
    return [p.key for p in new]


def occurrence_digest(problems: list[Problem], last_alerted: Mapping[str, str]) -> str:
    """Stable for the same occurrences (a resend), new when any problem is a new occurrence."""
    seeds = sorted(f"{p.key}@{last_alerted.get(p.key, '')}" for p in problems)
    return hashlib.sha256("|".join(seeds).encode()).hexdigest()[:24]


def _resolve_gone(
    ledger: Ledger, result: RunResult, problems: Mapping[str, Problem], known: Mapping[str, str]
) -> None:
    """Mark alerted problems as resolved when this run shows they are gone."""
    seen_requests = {e.request_id for e in result.plan.due + result.plan.waiting}
    seen_requests |= {f.request_id for f in result.plan.findings}
    if result.fetch is not None:
        seen_requests |= {r.id for r in result.fetch.requests}
    for key in known:
        if key in problems:
            continue
        if key == "run:fatal":
            if not result.fatal:
                ledger.alert_resolved(key)
        elif key.startswith("effect:"):
            row = ledger.get(key.removeprefix("effect:"))
            if row is not None and row.state in FINAL_STATES:
                ledger.alert_resolved(key)
        elif key.startswith("finding:"):
            request_id = key.split(":", 2)[1]
            if request_id in seen_requests:
                ledger.alert_resolved(key)


def _body(new: list[Problem], result: RunResult) -> str:
    lines = [
        f"The offboarding sync found {len(new)} new problem(s) in run {result.run_id} "
        f"(as of {result.today:%Y-%m-%d}). Each is reported once; you will hear again only if "
        "it is fixed and comes back.",
        "",
    ]
    for n, p in enumerate(new, 1):
        lines.append(f"{n}. {p.text}")
        lines.append(f"   What to do: {ADVICE.get(p.code, ADVICE['needs_person'])}")
        lines.append("")
    lines.append("Details: `python -m sync status` and `python -m sync log --failed`.")
    return "\n".join(lines)
