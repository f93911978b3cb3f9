"""Running unattended: reminders exactly once (a missed one late, once), alerts once per
problem, and the operations lead's views, against the whole emulated agency."""

from __future__ import annotations

import io
from datetime import date

from sync.cli import reports
from sync.cli.check import run_check
from sync.cli.runner import unlocked_run
from sync.core.domain import System
from sync.engine.request import RunRequest
from sync.engine.result import RunResult
from sync.engine.wiring import build
from sync.ops.alerts import after_run
from sync.state.ledger import Ledger
from tests.support.fixtures.sandbox import Agency

OPS_LEAD = "digital-ops-lead@agency.example"


def reminders(agency: Agency) -> list[tuple[str, str]]:
    return [
        (m.message["To"], m.message["Subject"])
        for m in agency.outbox()
        if str(m.message["Subject"]).startswith("Reminder:")
    ]


def run_with_alerts(agency: Agency, today: date) -> tuple[RunResult, list[str]]:
    result = agency.run(today)
    wired = build(agency.config, agency.routes, sleep=lambda _s: None)
    try:
        sent = after_run(agency.config, result, wired.connectors[System.EMAIL])
    finally:
        wired.close()
    return result, sent


class TestReminders:
    def test_each_reminder_goes_out_once_on_its_day(self, agency: Agency) -> None:
        # TR-00001 (Blue Ridge RV Center, TDA and SEO) is effective on 2026-12-05.
        agency.run(date(2026, 11, 27))
        assert not [s for _, s in reminders(agency) if "Blue Ridge" in s]
        agency.run(date(2026, 11, 28))
        week = [(to, s) for to, s in reminders(agency) if "Blue Ridge" in s]
        assert sorted(to for to, _ in week) == [
            "seo-team@agency.example",
            "tda-team@agency.example",
        ]
        assert all("in 7 days" in s for _, s in week)
        agency.run(date(2026, 11, 28))
        agency.run(date(2026, 11, 30))
        assert len([s for _, s in reminders(agency) if "Blue Ridge" in s]) == 2
        agency.run(date(2026, 12, 4))
        agency.run(date(2026, 12, 4))
        blue = [s for _, s in reminders(agency) if "Blue Ridge" in s]
        assert len(blue) == 4
        assert sum("tomorrow" in s for s in blue) == 2

    def test_a_missed_reminder_goes_out_late_once(self, agency: Agency) -> None:
        # TR-00003 (Coastal Marine, a pause effective 2026-11-30): its 7-day reminder was due
        # on 2026-11-23, before the sync first saw it.
        agency.run(date(2026, 11, 25))
        agency.run(date(2026, 11, 26))
        coastal = [
            m
            for m in agency.outbox()
            if "Coastal Marine" in str(m.message["Subject"])
            and str(m.message["Subject"]).startswith("Reminder:")
        ]
        assert len(coastal) == 1
        assert "late" in coastal[0].body
        assert "November 23, 2026" in coastal[0].body

    def test_runs_missed_until_the_last_day_send_one_reminder_not_two(self, agency: Agency) -> None:
        agency.run(date(2026, 12, 4))  # first run ever: both the 7- and 1-day ones are due
        blue = [s for _, s in reminders(agency) if "Blue Ridge" in s]
        assert len(blue) == 2  # TDA and SEO, one each: the 1-day one supersedes the 7-day one
        assert all("tomorrow" in s for s in blue)


class TestAlerts:
    def test_a_persisting_problem_is_alerted_once_and_resolved_when_fixed(
        self, agency: Agency
    ) -> None:
        google = agency.emulators["google"]
        google.set_cell("sandbox-planner", "Cancellations & Pauses", "C1", "Kind")
        result, sent = run_with_alerts(agency, date(2026, 11, 25))
        assert result.counts["failed"] > 0
        assert sent
        alerts = [m for m in agency.outbox() if m.message["To"] == OPS_LEAD]
        assert len(alerts) == 1
        assert "Type" in alerts[0].body  # names the missing header
        assert "What to do" in alerts[0].body
        _, again = run_with_alerts(agency, date(2026, 11, 25))
        assert again == []
        assert len([m for m in agency.outbox() if m.message["To"] == OPS_LEAD]) == 1
        # Fixed: the next run applies the effects and the problem is resolved...
        google.set_cell("sandbox-planner", "Cancellations & Pauses", "C1", "Type")
        fixed, _ = run_with_alerts(agency, date(2026, 11, 25))
        assert fixed.counts["failed"] == 0
        ledger = Ledger(agency.config.state_path / "ledger.sqlite3")
        try:
            still_open = ledger.open_alerts()
        finally:
            ledger.close()
        assert not [k for k in still_open if k.startswith("effect:")]
        # Requests needing a person stay alerted (and are not re-sent) while they persist.
        assert [k for k in still_open if k.startswith("finding:")]


class TestViews:
    def test_log_lists_runs_and_the_effects_of_one(self, agency: Agency) -> None:
        agency.emulators["google"].set_cell(
            "sandbox-planner", "Cancellations & Pauses", "C1", "Kind"
        )
        result = agency.run(date(2026, 11, 25))
        out = io.StringIO()
        assert reports.log_command(agency.config, None, failed=False, limit=5, out=out) == 0
        assert result.run_id in out.getvalue()
        out = io.StringIO()
        reports.log_command(agency.config, result.run_id, failed=True, limit=5, out=out)
        text = out.getvalue()
        assert "FAILED" in text
        assert "planner_add" in text
        assert "Type" in text
        assert "monthly_record" not in text  # only failures with --failed

    def test_status_lists_open_requests_with_what_is_owed_and_needs_a_person(
        self, agency: Agency
    ) -> None:
        agency.run(date(2026, 11, 25))
        out = io.StringIO()
        reports.status_command(agency.config, out=out)
        text = " ".join(out.getvalue().split())  # long lines are wrapped for people
        assert "TR-00001 (Blue Ridge RV Center)" in text
        assert "tracker_remove/ds_tracker: owed from 2026-12-05" in text
        assert "Finance has not approved" in text  # TR-00007 needs a person
        assert "TR-00004" not in text  # the contract change is complete


class TestCheckAndSyncLog:
    def test_check_names_what_is_wrong_and_fails(self, agency: Agency) -> None:
        out = io.StringIO()
        assert run_check(agency.config, agency.routes, out=out) == 0
        assert "all good" in out.getvalue()
        agency.emulators["google"].set_cell("sandbox-ds-tracker", "Clients", "E1", "State")
        out = io.StringIO()
        assert run_check(agency.config, agency.routes, out=out) == 1
        assert "sheets: PROBLEMS" in out.getvalue()
        assert "tab 'Clients' has no header(s) 'Status' in row 1" in out.getvalue()
        assert "salesforce: ok" in out.getvalue()

    def test_a_run_that_did_something_adds_a_row_to_the_sync_log_tab_a_no_op_run_none(
        self, agency: Agency
    ) -> None:
        first = unlocked_run(
            agency.config,
            agency.routes,
            RunRequest(clock=agency.clock.clock(), today=date(2026, 11, 25)),
        )
        noop = unlocked_run(
            agency.config,
            agency.routes,
            RunRequest(clock=agency.clock.clock(), today=date(2026, 11, 25)),
        )
        assert first.outcomes
        assert not noop.outcomes  # nothing was due: a no-op
        assert not noop.fatal
        rows = agency.emulators["google"].rows("sandbox-planner", "Sync Log")
        assert [r[0] for r in rows[1:]] == [first.run_id]  # the header, then the first run only
        assert rows[1][3].startswith(f"{first.counts['applied']} applied, 0 failed")
        # A run that fails gets its row even when it did nothing else.
        agency.emulators["salesforce"].add_fault("500", method="GET", times=-1)
        failed = unlocked_run(
            agency.config,
            agency.routes,
            RunRequest(clock=agency.clock.clock(), today=date(2026, 11, 25)),
        )
        assert failed.fatal
        # Its retries waited on the test's clock (the run's injected sleep), not for real.
        assert agency.clock.slept
        rows = agency.emulators["google"].rows("sandbox-planner", "Sync Log")
        assert [r[0] for r in rows[1:]] == [first.run_id, failed.run_id]
        assert "stopped:" in rows[2][3]
