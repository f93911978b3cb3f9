"""The bundled agency end to end, through every real connector and emulator."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from connectors.emulators.scenarios.scenario import build_agency
from sync.core.domain import OutcomeStatus
from sync.sandbox.agency import seed_data
from sync.state.runlog import RunLog
from tests.support.fixtures.sandbox import SEEDED_ON, Agency, start_agency

FAR = date(2099, 1, 1)


def test_far_future_run_applies_everything_then_nothing(agency: Agency) -> None:
    first = agency.run(FAR, allow_backlog=True)
    assert first.fatal == ""
    assert first.counts["applied"] > 40
    assert first.counts["failed"] == 0
    notices = [m for m in agency.outbox() if "Please be advised" in m.body]
    cancellations = {e.request_id for e in first.plan.due if e.kind == "simplifi_notice"}
    assert len(notices) == len(cancellations) == 4
    writes, mails = agency.http_writes(), len(agency.outbox())
    second = agency.run(FAR, allow_backlog=True)
    assert second.outcomes == {}
    assert agency.http_writes() == writes  # a no-op run writes nothing anywhere
    assert len(agency.outbox()) == mails


def test_requests_that_need_a_person_are_reported_with_the_reason(agency: Agency) -> None:
    result = agency.run(SEEDED_ON, dry_run=True)
    reasons = {f.label.split(" ")[0]: f.message for f in result.plan.needs_person}
    assert "Finance has not approved" in reasons["TR-00007"]
    assert "Dustin Hunter approved before Jeremy Bliesner" in reasons["TR-00008"]
    assert "no effective date" in reasons["TR-00010"]
    assert "TR-00009" not in reasons  # pending approval: simply not acted on


def test_pause_never_offboards(agency: Agency) -> None:
    result = agency.run(FAR, allow_backlog=True)
    pause = next(e.request_id for e in result.plan.due if e.request.name == "TR-00003")
    kinds = {str(e.kind) for e in result.plan.due if e.request_id == pause}
    assert kinds.isdisjoint({"tracker_remove", "trello_archive", "simplifi_notice"})
    applied = [o for k, o in result.outcomes.items() if k.startswith(pause)]
    assert applied
    assert all(o.status is OutcomeStatus.APPLIED for o in applied)


def test_run_log_records_salesforce_api_use_of_the_whole_run(agency: Agency) -> None:
    result = agency.run(FAR, allow_backlog=True)
    run = RunLog.in_state_dir(agency.config.state_path).runs()[-1]
    assert run["run_id"] == result.run_id
    # The mapping check (a describe of the request object and one of Account), one poll query
    # and one sObject Collections write-back (the login is not a REST call).
    assert run["salesforce_api_calls"] == 4
    assert run["salesforce_api_usage"]["limit"] == 15000


def test_a_busy_scenario_runs_in_the_sandbox_without_the_backlog_valve(
    tmp_path: Path, sandbox_env: None
) -> None:
    """The valve's 25-request limit guards a real org's partners; the sandbox's own config
    allows a busy month, so a scenario with dozens of approved requests runs as given."""
    data = build_agency(clients=61, extra_requests=40)
    for rec in data["salesforce"]["records"]["Takedown_Request__c"]:
        rec["Effective_Date__c"] = str(rec["Effective_Date__c"]).replace("{today+-", "{today-")
    path = tmp_path / "busy.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    box = start_agency(tmp_path / "box", seed_data(path, SEEDED_ON))
    agency = next(box)
    try:
        result = agency.run(SEEDED_ON + timedelta(days=1))
        assert result.fatal == ""
        acted = {
            k.split("/")[0] for k, o in result.outcomes.items() if o.status is OutcomeStatus.APPLIED
        }
        assert len(acted) > 25
    finally:
        next(box, None)
