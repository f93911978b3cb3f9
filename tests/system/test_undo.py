"""Win-backs: `python -m sync undo` reverses a cancellation the sync carried out, exactly once,
whatever point the forward work reached; the world ends as before the sync first acted, except
the Planner/Offboarding rows (marked WITHDRAWN) and the Trello comments."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.emulators.scenarios.scenario import chain
from connectors.emulators.sheets.server import Contract
from sync.config.model import UndoConfig
from sync.engine.request import UndoAsk
from tests.support.fixtures.google import assert_contract_kept
from tests.support.reliability import (
    TODAY,
    Killed,
    agency_for,
    ledger_states,
    outbox,
    run,
    scenario,
    watch_writes,
)
from tests.support.undo import (
    EFFECTIVE,
    RID,
    cancellation,
    comparable,
    marked_rows,
    undo,
    withdraw,
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scenario(tmp_path_factory.mktemp("undo"), cancellation())


def _subjects(agency: Any) -> list[str]:
    return [str(m.message["Subject"]) for m in agency.outbox()]


def _assert_undone(agency: Any, before: dict[str, Any], *, notice_sent: bool = True) -> None:
    assert comparable(agency) == before
    marks = marked_rows(agency)
    assert marks
    assert all(r[0].startswith("WITHDRAWN ") and r[0].endswith(RID) for r in marks)
    account = agency.emulators["salesforce"].records["Account"]
    assert all(a.get("TDA_Status__c") != "Cancelled" for a in account.values())
    record = agency.emulators["salesforce"].records["Takedown_Request__c"][RID]
    assert record["Sync_Status__c"] == "Undone"
    assert "Withdrawn, undone on" in record["Sync_Message__c"]
    subjects = _subjects(agency)
    assert subjects.count("Please disregard: Lone Star Powersports will not cancel") == (
        1 if notice_sent else 0
    )
    assert sum(s.startswith("Undone: ") for s in subjects) == 1
    assert set(ledger_states(agency).values()) <= {"applied", "skipped"}
    # Exactly once: another undo, or a plain run, does nothing more.
    assert run(agency, EFFECTIVE).outcomes == {}
    assert "already undone on" in undo(agency, EFFECTIVE).refused  # nothing left to undo


def test_undo_after_only_the_approval_time_effects(
    seeded: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    with agency_for(tmp_path, seeded) as agency:
        before = comparable(agency)
        assert run(agency, TODAY).exit_code == 0
        assert comparable(agency) != before  # the tracker status was set
        withdraw(agency)
        reported = run(agency, TODAY)
        finding = next(f for f in reported.plan.findings if f.code == "withdrawn_after_action")
        assert "python -m sync undo TR-00001" in finding.message
        result = undo(agency, TODAY)
        assert result.exit_code == 0, result.outcomes
        kinds = sorted(k.split("/")[1] for k in result.outcomes)
        assert kinds == [
            "undo_mark",
            "undo_mark",
            "undo_notice",
            "undo_retraction",
            "undo_tracker",
            "undo_writeback",
        ]
        _assert_undone(agency, before)


def test_undo_after_the_effective_date_puts_the_row_back_in_place_and_reopens_the_cards(
    seeded: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    with agency_for(tmp_path, seeded) as agency:
        before = comparable(agency)
        google = agency.emulators["google"]
        google.contract = Contract()  # every request held to Google's discovery document
        rows_before = google.rows("sandbox-ari-tracker", "Clients")
        assert run(agency, TODAY).exit_code == 0
        assert run(agency, EFFECTIVE).exit_code == 0
        assert len(google.rows("sandbox-ari-tracker", "Clients")) == len(rows_before) - 1
        withdraw(agency)
        result = undo(agency, EFFECTIVE)
        assert result.exit_code == 0, result.outcomes
        assert google.rows("sandbox-ari-tracker", "Clients") == rows_before  # same place
        reopened = [
            c for b in agency.emulators["trello"].snapshot()["boards"] for c in b["cards"]
            if any("sync-undo: " + RID in m["text"] for m in c["comments"])
        ]  # fmt: skip
        assert len(reopened) == 2
        assert not any(c["closed"] for c in reopened)
        _assert_undone(agency, before)
        assert google.contract.requests > 0
        assert_contract_kept(google.contract)


@pytest.mark.slow  # a kill after every write
def test_undo_after_a_crash_half_way_through_the_forward_work(
    seeded: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    """Killed after each write of a run that does everything at once (approved on the effective
    date), never rerun: the undo reverses what landed, from the before-images on disk."""
    with agency_for(tmp_path / "count", seeded) as agency:
        with watch_writes() as writes:
            run(agency, EFFECTIVE)
        total = len(writes.seen)
    assert total >= 8
    for k in range(1, total + 1):
        with agency_for(tmp_path / f"k{k}", seeded) as agency:
            before = comparable(agency)
            with watch_writes(kill_at=k), pytest.raises(Killed):
                run(agency, EFFECTIVE)
            withdraw(agency)
            result = undo(agency, EFFECTIVE)
            assert result.exit_code == 0, (k, result.outcomes)
            assert comparable(agency) == before, k
            subjects = _subjects(agency)
            notices = sum(s.startswith("Cancellation notice: Lone Star") for s in subjects)
            disregard = subjects.count("Please disregard: Lone Star Powersports will not cancel")
            # A retraction exactly when a notice went out (or may have), never two.
            assert (notices, disregard) in ((0, 0), (1, 1)), (k, subjects)


def test_undo_of_a_request_still_approved_needs_force_and_a_reason(
    seeded: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    with agency_for(tmp_path, seeded) as agency:
        before = comparable(agency)
        run(agency, TODAY)
        refused = undo(agency, TODAY)
        assert "still 'Approved'" in refused.refused
        assert refused.exit_code == 2
        assert refused.outcomes == {}
        result = undo(agency, TODAY, forced=True, reason="approved by mistake")
        assert result.exit_code == 0, result.outcomes
        assert comparable(agency) == before
        record = agency.emulators["salesforce"].records["Takedown_Request__c"][RID]
        assert "approved by mistake" in record["Sync_Message__c"]
        # Still approved, by the approval that was undone: nothing runs forward again.
        again = run(agency, TODAY)
        assert again.outcomes == {}
        assert [f.code for f in again.plan.findings] == ["undone_not_reapproved"]


def test_a_request_undone_then_approved_again_runs_forward_from_a_clean_state(
    seeded: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    with agency_for(tmp_path, seeded) as agency:
        run(agency, TODAY)
        withdraw(agency)
        assert undo(agency, TODAY).exit_code == 0
        sf = agency.emulators["salesforce"]
        withdraw(agency, "Approved")
        later = agency.clock.advance(minutes=5)
        with sf.lock:  # a new approval round, after the undo, as Salesforce records it
            steps = chain("jeremy", "dustin", day=f"{later:%Y-%m-%d}")
            for step in steps:
                step["CreatedDate"] = f"{later:%Y-%m-%dT%H:%M:%S}.000+0000"
            sf.approvals[RID] = steps
            sf.records["Takedown_Request__c"][RID]["SystemModstamp"] = steps[-1]["CreatedDate"]
        again = run(agency, TODAY + timedelta(days=1))
        assert again.exit_code == 0, again.outcomes
        assert again.outcomes
        assert all(k.endswith("@g2") for k in again.outcomes)
        planner = agency.emulators["google"].rows("sandbox-planner", "Cancellations & Pauses")
        assert [r[0] for r in planner if RID in r[0]] == [f"WITHDRAWN {TODAY}: {RID}", RID]
        subjects = _subjects(agency)
        assert subjects.count("Cancellation notice: Lone Star Powersports, effective ") == 0
        assert (
            sum(s.startswith("Cancellation notice: Lone Star Powersports") for s in subjects) == 2
        )


def test_undo_dry_run_shows_the_plan_and_changes_nothing(
    seeded: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    with agency_for(tmp_path, seeded) as agency:
        run(agency, TODAY)
        withdraw(agency)
        states = ledger_states(agency)
        sent = outbox(agency)
        plan = run(agency, TODAY, only="TR-00001", undo=UndoAsk(), dry_run=True).plan
        assert sorted(str(e.kind) for e in plan.due) == [
            "undo_mark",
            "undo_mark",
            "undo_notice",
            "undo_retraction",
            "undo_tracker",
            "undo_writeback",
        ]
        assert ledger_states(agency) == states
        assert outbox(agency) == sent


def test_the_automatic_switch_undoes_a_withdrawn_request_by_itself(
    seeded: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    with agency_for(tmp_path, seeded) as agency:
        before = comparable(agency)
        run(agency, TODAY)
        withdraw(agency)
        agency.config = dataclasses.replace(agency.config, undo=UndoConfig(automatic=True))
        result = run(agency, TODAY)
        assert result.exit_code == 0, result.outcomes
        assert sorted(k.split("/")[1] for k in result.outcomes) == [
            "undo_mark",
            "undo_mark",
            "undo_notice",
            "undo_retraction",
            "undo_tracker",
            "undo_writeback",
        ]
        assert "undone by itself" in next(
            f.message for f in result.plan.findings if f.code == "undo"
        )
        assert comparable(agency) == before
        assert run(agency, TODAY).outcomes == {}


def test_a_cell_a_person_changed_since_the_sync_wrote_it_is_left_and_reported(
    seeded: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    with agency_for(tmp_path, seeded) as agency:
        before = comparable(agency)
        google = agency.emulators["google"]
        run(agency, TODAY)
        rows = google.rows("sandbox-ari-tracker", "Clients")
        header, row = rows[0], next(i for i, r in enumerate(rows) if "Lone Star Powersports" in r)
        status_col = header.index("Status")
        assert rows[row][status_col] == "Cancelled"
        a1 = f"{chr(65 + status_col)}{row + 1}"
        google.set_cell("sandbox-ari-tracker", "Clients", a1, "On hold (call Friday)")
        withdraw(agency)
        first = undo(agency, TODAY)
        key = f"{RID}/undo_tracker/ari_tracker"
        assert first.outcomes[key].status == "needs_person"
        assert "'Status' shows 'On hold (call Friday)'" in first.outcomes[key].message
        assert first.exit_code == 1
        now = google.rows("sandbox-ari-tracker", "Clients")
        assert now[row][status_col] == "On hold (call Friday)"  # not overwritten
        cancel_col = header.index("Cancel Date")
        assert (now[row] + [""] * len(header))[cancel_col] == ""  # the rest went in
        # Reported once: the next run keeps the person's value and finishes the undo.
        second = run(agency, TODAY)
        assert second.outcomes[key].status == "already_done"
        assert second.exit_code == 0, second.outcomes
        after = comparable(agency)
        tracker = after["google"]["sandbox-ari-tracker"]["sheets"]["Clients"]
        tracker[row][status_col] = before["google"]["sandbox-ari-tracker"]["sheets"]["Clients"][
            row
        ][status_col]
        assert after == before
        assert run(agency, TODAY).outcomes == {}


def test_undo_of_an_unknown_request_is_refused_and_does_nothing(
    seeded: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    with agency_for(tmp_path, seeded) as agency:
        result = undo(agency, TODAY)
        assert "has done nothing for it" in result.refused
        assert result.exit_code == 2
        assert result.outcomes == {}
        assert agency.http_writes() == 0


def test_a_withdrawal_after_all_the_work_was_done_is_seen_and_undone_by_the_switch(
    seeded: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    """Nothing is owed any more (row removed, cards archived, last write-back out), so the
    request is not re-read by id; the poll still sees it changed, and reports it."""
    with agency_for(tmp_path, seeded) as agency:
        before = comparable(agency)
        run(agency, TODAY)
        run(agency, EFFECTIVE)
        assert set(ledger_states(agency).values()) <= {"applied", "skipped"}
        sf = agency.emulators["salesforce"]
        withdraw(agency)
        with sf.lock:  # a person's edit moves the record's stamp, as Salesforce does
            stamp = f"{agency.clock.advance(seconds=1):%Y-%m-%dT%H:%M:%S}.000+0000"
            sf.records["Takedown_Request__c"][RID]["SystemModstamp"] = stamp
        reported = run(agency, EFFECTIVE)
        assert [f.code for f in reported.plan.findings] == ["withdrawn_after_action"]
        agency.config = dataclasses.replace(agency.config, undo=UndoConfig(automatic=True))
        result = run(agency, EFFECTIVE)
        assert result.exit_code == 0, result.outcomes
        assert comparable(agency) == before
