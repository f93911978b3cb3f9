"""What one run did: its plan, each effect's outcome, what it waited on, and its exit code.

Read by the CLI (the summary), `sync.ops` (alerts, heartbeat, metrics, the morning summary) and
the run log; made by `sync.engine.run`. A plain value: nothing here does I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from connectors.base import FetchResult
from sync.core.domain import Check, Effect, Outcome, OutcomeStatus
from sync.core.planner import UNCONFIRMED_SEND, Plan
from sync.exitcodes import ExitCode


@dataclass
class RunResult:
    run_id: str
    today: date
    dry_run: bool
    plan: Plan
    started_at: datetime
    finished_at: datetime | None = None
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    waiting_on: dict[str, str] = field(default_factory=dict)  # write-backs held back, why
    fatal: str = ""
    fetch: FetchResult | None = None
    stopped: bool = False  # a shutdown was asked for; the rest waits for the next run
    # Salesforce REST calls of the whole run (poll and write-back) and the org's usage after it.
    api_calls: int = 0
    api_usage: tuple[int, int] | None = None
    # Retries the connectors made in this run (poll included), each counted once.
    retries_made: int = 0
    # Going live (sync.engine.golive): the safety valve's reason to stop (a dry run shows it, a real
    # run stops with it), what a dry run's read-back of each due effect's target showed, how
    # many requests the poll returned that people handled (adopted), shadow mode's report.
    stop_reason: str = ""
    checks: dict[str, Check] = field(default_factory=dict)
    adopted: int = 0
    shadow_report: str = ""
    # `undo` would not run for the request it named (why; nothing was done).
    refused: str = ""
    # `fatal` is the machine's own fault (disk full, state folder read-only, ledger locked or
    # damaged: sync.state.faults), not a bug and not a service: exit code 5.
    environment: bool = False

    @property
    def left(self) -> list[Effect]:
        """Due effects a stop (SIGTERM) kept from starting: owed to the next run."""
        if not self.stopped:
            return []
        return [
            e for e in self.plan.due if e.key not in self.outcomes and e.key not in self.waiting_on
        ]

    @property
    def counts(self) -> Counter[str]:
        c: Counter[str] = Counter()
        for o in self.outcomes.values():
            c["applied" if o.status is OutcomeStatus.ALREADY_DONE else str(o.status)] += 1
        c["skipped"] += len(self.plan.skips) + len(self.plan.holds)
        c["waiting"] += len(self.plan.waiting) + len(self.waiting_on)
        c["needs_person"] += len(self.plan.needs_person)
        c["left"] += len(self.left)
        return c

    @property
    def retries(self) -> int:
        """Retries of outside calls, as the connectors counted them. Effects that share a call
        (one batchUpdate per spreadsheet, one digest message) each show its retries, so the
        outcomes' sum would count it several times."""
        return self.retries_made

    @property
    def exit_code(self) -> ExitCode:
        if self.refused:
            return ExitCode.USAGE
        if self.environment:
            return ExitCode.ENVIRONMENT
        if self.fatal or self.stopped:
            return ExitCode.FATAL
        bad = {OutcomeStatus.FAILED, OutcomeStatus.NEEDS_PERSON, OutcomeStatus.UNCONFIRMED}
        if any(o.status in bad for o in self.outcomes.values()):
            return ExitCode.EFFECTS_FAILED
        # A message an earlier run left unconfirmed is still an effect nobody can vouch for:
        # every run says so until a person settles it with `resolve`.
        if any(f.code == UNCONFIRMED_SEND for f in self.plan.findings):
            return ExitCode.EFFECTS_FAILED
        return ExitCode.OK
