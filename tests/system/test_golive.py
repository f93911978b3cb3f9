"""Going live in an org with history: the production-like scenario end to end (no adopt: the
first run stops; adopt, shadow, live), plus the pure cut-over and safety-valve rules."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.emulators.scenarios.production import DONE_BY_PEOPLE_TODAY, OPEN
from connectors.emulators.scenarios.scenario import account_id, takedown
from sync.cli import reports
from sync.cli.adopt import adopt_command
from sync.cli.runner import unlocked_run
from sync.config.model import Config
from sync.core.adoption import approved_on, partition
from sync.core.domain import CheckState, Platform, RequestType, TakedownRequest
from sync.core.planner import plan
from sync.core.records import AdoptedRow
from sync.core.rules import PlanRules
from sync.core.valve import Limits, long_past, stop_reason
from sync.engine.request import RunRequest
from sync.engine.result import RunResult
from sync.exitcodes import ExitCode
from sync.sandbox.agency import seed_data
from tests.support.fixtures.sandbox import Agency, start_agency

T = date(2026, 11, 25)
PRODUCTION = Path(__file__).resolve().parents[2] / "connectors/emulators/scenarios/production.json"


@pytest.fixture
def prod(tmp_path: Path, sandbox_env: None) -> Iterator[Agency]:
    """The production-like org, seeded on T, with a config that is not a sandbox's."""
    for agency in start_agency(tmp_path / "box", seed_data(PRODUCTION, T)):
        agency.config = _golive(agency.config, sandbox=False)
        yield agency


def _golive(cfg: Config, **kw: Any) -> Config:
    return dataclasses.replace(cfg, golive=dataclasses.replace(cfg.golive, **kw))


def _run(agency: Agency, **kw: Any) -> RunResult:
    return unlocked_run(
        agency.config,
        agency.routes,
        RunRequest(clock=agency.clock.clock(), today=kw.pop("today", T), **kw),
    )


def _simplifi(agency: Agency) -> list[str]:
    return [
        str(m.message["Subject"])
        for m in agency.outbox()
        if any("simpli.fi" in r for r in m.rcpt_tos)
    ]


def _requests(agency: Agency) -> dict[str, dict[str, Any]]:
    recs = agency.emulators["salesforce"].records["Takedown_Request__c"].values()
    return {r["Name"]: r for r in recs}


def _adopt(agency: Agency, before: date = T, **kw: Any) -> str:
    out = io.StringIO()
    adopt_command(
        agency.config, agency.routes, before=before, only=None, dry_run=False, out=out, **kw
    )
    return out.getvalue()


def test_without_adopt_the_first_run_stops_before_any_write_and_says_why(prod: Agency) -> None:
    result = _run(prod)
    assert result.exit_code == ExitCode.FATAL
    assert result.fatal.startswith("stopped before any write: this is the first run against")
    assert "python -m sync adopt --approved-before" in result.fatal
    assert "--allow-backlog" in result.fatal
    assert prod.http_writes() == 0
    assert _simplifi(prod) == []
    # The only message is the alert to the operations lead.
    assert all(m.rcpt_tos == ("digital-ops-lead@agency.example",) for m in prod.outbox())


def test_a_first_run_that_found_nothing_makes_later_runs_not_first_runs(
    prod: Agency,
) -> None:
    """An org with no history: the first run passes the valve, and a request approved later is
    acted on, not refused as 'the first run'."""
    em = prod.emulators["salesforce"]
    with em.lock:
        em.records["Takedown_Request__c"].clear()
    assert _run(prod).fatal == ""
    em.add_record("Takedown_Request__c", {**_requests_seed(prod), "Status__c": "Approved"})
    for who in ("Jeremy Bliesner", "Dustin Hunter"):
        noon = datetime(T.year, T.month, T.day, 12, tzinfo=UTC)
        em.add_approval(_requests(prod)["TR-09999"]["Id"], "Approved", who, at=noon)
    later = _run(prod)
    assert later.fatal == ""
    assert {e.request.name for e in later.plan.due} == {"TR-09999"}


def _requests_seed(agency: Agency) -> dict[str, Any]:
    rec = takedown(
        9999, 296, "Contract Change", Effective_Date__c=(T + timedelta(days=9)).isoformat()
    )
    rec["New_Package_Or_Budget__c"] = "OTT add-on"
    return rec


def test_adopt_dry_run_lists_and_writes_nothing(prod: Agency) -> None:
    out = io.StringIO()
    adopt_command(prod.config, prod.routes, before=T, only=None, dry_run=True, out=out)
    text = out.getvalue()
    assert "to adopt (handled by people)" in text
    assert "dry run: " in text
    assert "nothing was written" in text
    assert not (prod.config.state_path / "ledger.sqlite3").exists()
    assert "TR-09001" not in text  # approved on the cut-over day: not adopted


def test_going_live_adopt_shadow_live(prod: Agency) -> None:
    adopted = _adopt(prod)
    assert "adopted 3" in adopted  # hundreds
    history = [n for n in _requests(prod) if n not in OPEN and not n.startswith("TR-0900")]

    # A shadow day: nothing written, the report compares with what people did, sent once.
    shadow = _golive(prod.config, mode="shadow")
    first = unlocked_run(shadow, prod.routes, RunRequest(clock=prod.clock.clock(), today=T))
    again = unlocked_run(shadow, prod.routes, RunRequest(clock=prod.clock.clock(), today=T))
    assert prod.http_writes() == 0
    assert _simplifi(prod) == []
    sent = [m for m in prod.outbox() if "shadow report" in str(m.message["Subject"])]
    assert len(sent) == 1
    done = {k.split("/", 1)[1] for k, c in first.checks.items() if c.state is CheckState.DONE}
    half_done = next(r["Id"] for n, r in _requests(prod).items() if n == "TR-09004")
    assert {k for k, c in first.checks.items() if c.state is CheckState.DONE} == {
        f"{half_done}/{suffix}" for suffix in DONE_BY_PEOPLE_TODAY
    }, done
    assert "What people did" in first.shadow_report
    assert "email(s)" not in first.shadow_report or "cannot be checked" in first.shadow_report
    assert again.shadow_report == first.shadow_report
    unlocked_run(
        shadow, prod.routes, RunRequest(clock=prod.clock.clock(), today=T + timedelta(days=1))
    )  # a new day, a new report
    assert sum("shadow report" in str(m.message["Subject"]) for m in prod.outbox()) == 2
    assert {e.request.name for e in first.plan.due} == set(OPEN)

    # Live: the open requests are acted on; the history stays untouched.
    before = _requests(prod)
    live = _run(prod)
    assert live.fatal == ""
    assert {e.request.name for e in live.plan.due} == set(OPEN)
    assert sorted(_simplifi(prod)) == sorted(
        s for s in _simplifi(prod) if "Red Rock Trailers" in s or "Bayou Trailers" in s
    )
    assert len(_simplifi(prod)) == 2
    after = _requests(prod)
    for name in history:
        assert after[name] == before[name], name  # no write-back on an adopted request
    for name in OPEN:
        assert after[name]["Sync_Status__c"], name
    # The half-done request: what people did is found, not done again.
    bayou = {o.key.split("/", 1)[1]: o.status for o in live.outcomes.values()
             if o.key.startswith(half_done)}  # fmt: skip
    assert str(bayou["planner_add/planner"]) == "already_done"
    # The operations lead's views say which requests were adopted.
    status, log = io.StringIO(), io.StringIO()
    reports.status_command(prod.config, out=status)
    reports.log_command(prod.config, None, failed=False, limit=5, out=log)
    assert f"adopted at the cut-over ({T.isoformat()})" in status.getvalue()
    assert "adopted" in log.getvalue().splitlines()[0]


def _request(n: int, **kw: Any) -> TakedownRequest:
    fields: dict[str, Any] = {
        "id": f"a0T{n:015d}",
        "name": f"TR-{n:05d}",
        "account_id": account_id(n),
        "client_name": f"Client {n}",
        "type": RequestType.CANCELLATION,
        "raw_type": "Cancellation",
        "status": "Approved",
        "approved": True,
        "effective_date": T + timedelta(days=10),
        "raw_effective_date": "",
        "reason": "budget",
        "platform": Platform.DS,
        "raw_platform": "DS",
        "approved_at": datetime(2026, 10, 1, 9, tzinfo=UTC),
    }
    fields.update(kw)
    return TakedownRequest(**fields)


def _row(req: TakedownRequest, **kw: str) -> AdoptedRow:
    day = str(approved_on(req))
    base = {"request_id": req.id, "label": req.label, "status": req.status,
            "approved_on": day, "cutover": "2026-11-01", "adopted_at": "", "state": "adopted",
            "seen_status": req.status, "seen_approved_on": day, "note": ""}  # fmt: skip
    base.update(kw)
    return AdoptedRow(**base)


def test_approved_on_is_the_last_approval_step_else_the_last_modification() -> None:
    req = _request(1, modified_at=datetime(2026, 11, 20, tzinfo=UTC))
    assert approved_on(req) == date(2026, 10, 1)
    assert approved_on(dataclasses.replace(req, approved_at=None)) == date(2026, 11, 20)
    assert approved_on(dataclasses.replace(req, approved_at=None, modified_at=None)) is None


def test_partition_adopts_before_the_cutover_and_keeps_the_rest() -> None:
    old, new = _request(1), _request(2, approved_at=datetime(2026, 11, 2, tzinfo=UTC))
    part = partition([old, new], {}, date(2026, 11, 2))
    assert part.to_adopt == [old]
    assert part.active == [new]
    assert part.findings[0].code == "adopted_now"
    assert not part.findings[0].needs_person


def test_an_adopted_request_edited_later_is_reported_once_and_never_planned() -> None:
    req = _request(1)
    withdrawn = dataclasses.replace(req, status="Withdrawn", approved=False)
    part = partition([withdrawn], {req.id: _row(req)}, None)
    assert part.active == []
    assert part.changed
    assert "status changed from 'Approved' to 'Withdrawn'" in part.findings[0].message
    assert "--include-adopted" in part.findings[0].message
    # Once reported (seen_* updated), it is quiet.
    seen = _row(req, seen_status="Withdrawn")
    assert partition([withdrawn], {req.id: seen}, None).findings == []
    again = dataclasses.replace(req, approved_at=datetime(2026, 11, 20, tzinfo=UTC))
    part = partition([again], {req.id: _row(req)}, None)
    assert "approved again on 2026-11-20" in part.findings[0].message
    assert part.active == []


def test_include_adopted_releases_only_the_named_request() -> None:
    a, b = _request(1), _request(2)
    rows = {a.id: _row(a), b.id: _row(b)}
    part = partition([a, b], rows, None, include="TR-00001")
    assert part.active == [a]
    assert part.release == a.id
    assert part.adopted == [b]
    released = partition([a], {a.id: _row(a, state="released")}, None)
    assert released.active == [a]


def test_valve_long_past_effective_date_needs_a_person_not_an_email() -> None:
    old = _request(1, effective_date=T - timedelta(days=31))
    recent = _request(2, effective_date=T - timedelta(days=30))
    kept, findings = long_past([old, recent], {}, T, Limits())
    assert kept == [recent]
    assert findings[0].needs_person
    assert "31 days ago" in findings[0].message
    assert "adopt --only TR-00001" in findings[0].message
    # A request the sync already acted on is not new: its late steps still run.
    kept, _ = long_past([old], {f"{old.id}/planner_add/planner": "applied"}, T, Limits())  # type: ignore[dict-item]
    assert kept == [old]


def test_valve_stops_a_first_run_and_a_big_batch() -> None:
    reqs = [_request(n) for n in range(1, 31)]
    p = plan(reqs, {}, T, PlanRules())
    fresh = stop_reason(p, fresh=True, approved_seen=30, limits=Limits())
    assert fresh.startswith("this is the first run against this org")
    assert stop_reason(p, fresh=True, approved_seen=30, limits=Limits(sandbox=True)).startswith(
        "this run would act on 30 request(s)"
    )
    assert (
        stop_reason(p, fresh=False, approved_seen=30, limits=Limits(max_requests_per_run=30)) == ""
    )
    assert (
        stop_reason(
            p,
            fresh=True,
            approved_seen=30,
            limits=Limits(cutover_configured=True, max_requests_per_run=30),
        )
        == ""
    )
