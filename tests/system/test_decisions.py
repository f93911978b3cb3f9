"""Issue 15: wrong decisions found by independent testing, each reproduced end to end against
the sandbox agency (real connectors, emulators), then pinned.

Each test names its defect. Helpers come from `tests.support.reliability`.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.emulators.scenarios.scenario import account_id, request_id, takedown
from sync.core import planner
from sync.state.ledger import Ledger
from tests.support.fixtures.sandbox import AUTH_PATHS, Agency
from tests.support.reliability import TODAY, agency_for, cli_on, ledger_states, runlog, scenario


@dataclass
class Cli:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        """stdout (what was done) and stderr (problems, findings), as one text."""
        return self.out + "\n" + self.err


def sync_cli(agency: Agency, *argv: str, today: Any = TODAY) -> Cli:
    out, err = io.StringIO(), io.StringIO()
    with cli_on(agency) as main, redirect_stdout(out), redirect_stderr(err):
        when = [] if argv and argv[0] in ("log", "status") else ["--as-of", today.isoformat()]
        code = main([*when, *argv])
    return Cli(code, out.getvalue(), err.getvalue())


def flat(text: str) -> str:
    return " ".join(text.split())


def key(n: int, kind: str, target: str) -> str:
    return f"{request_id(n)}/{kind}/{target}"


def alerts(agency: Agency) -> list[str]:
    """Messages to the operations lead (the alerts): subject and body."""
    ops = set(agency.config.email.ops_lead_to)
    return [f"{d.message['Subject']}\n{d.body}" for d in agency.outbox() if ops & set(d.rcpt_tos)]


# ----- defect 3: one bad value, or one bug, must not stop every run nor be logged as clean ------
@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-inf", "sNaN", "1e999999999", "12 USD"])
def test_a_non_finite_or_unparseable_credit_is_bad_input_for_that_request_only(
    tmp_path: Path, sandbox_env: None, amount: str
) -> None:
    seeded = scenario(
        tmp_path / "s",
        [
            takedown(1, 1, "Cancellation", Credit_Amount__c=amount),
            takedown(2, 2, "Contract Pause"),
        ],
    )
    with agency_for(tmp_path / "a", seeded) as agency:
        done = sync_cli(agency)
        assert "Traceback" not in done.err
        states = ledger_states(agency)
        assert states[key(2, "planner_add", "planner")] == "applied"  # the other one went on
        assert not any(k.startswith(request_id(1)) for k in states)  # nothing done for it
        finding = next(r for r in runlog(agency) if r.get("request_id") == request_id(1))
        assert finding["code"] == "credit_amount"
        assert "credit amount" in finding["message"]
        assert amount in finding["message"]
        assert runlog(agency)[-1]["error"] == ""


def test_a_bug_planning_one_request_makes_that_request_a_finding_and_the_others_go_on(
    tmp_path: Path, sandbox_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = planner.effects_for

    def broken(req: Any, *args: Any, **kw: Any) -> Any:
        if req.id == request_id(1):
            raise ZeroDivisionError("a planted bug")
        return real(req, *args, **kw)

    monkeypatch.setattr(planner, "effects_for", broken)
    seeded = scenario(
        tmp_path / "s", [takedown(1, 1, "Cancellation"), takedown(2, 2, "Contract Pause")]
    )
    with agency_for(tmp_path / "a", seeded) as agency:
        done = sync_cli(agency)
        assert "Traceback" not in done.err
        assert ledger_states(agency)[key(2, "planner_add", "planner")] == "applied"
        line = next(r for r in runlog(agency) if r.get("code") == "internal_error")
        assert line["request_id"] == request_id(1)
        assert "ZeroDivisionError: a planted bug" in line["message"]
        assert "ZeroDivisionError: a planted bug" in done.err
        assert any("ZeroDivisionError: a planted bug" in a for a in alerts(agency))


def test_a_crash_of_the_whole_run_is_a_failed_run_line_exit_3_and_an_alert(
    tmp_path: Path, sandbox_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_a: Any, **_kw: Any) -> Any:
        raise KeyError("planted")

    # A bug at the run level, after the poll and the plan, before any write.
    monkeypatch.setattr(Ledger, "remember_requests", broken)
    seeded = scenario(tmp_path / "s", [takedown(1, 1, "Cancellation")])
    with agency_for(tmp_path / "a", seeded) as agency:
        done = sync_cli(agency)
        assert done.code == 3, done.err
        assert "Traceback" not in done.err
        assert "KeyError" in done.err
        line = runlog(agency)[-1]
        assert line["type"] == "run"
        assert line["exit_code"] == 3
        assert "KeyError" in line["error"]
        shown = sync_cli(agency, "log")
        assert "FAILED (exit 3): internal error: KeyError" in shown.out.splitlines()[2]
        assert any("KeyError" in a for a in alerts(agency)), "the operations lead is alerted"


# ----- defects 2 and 7: withdrawn after the sync acted, then approved again ---------------------
def set_status(agency: Agency, n: int, status: str) -> None:
    sf = agency.emulators["salesforce"]
    with sf.lock:
        sf.records["Takedown_Request__c"][request_id(n)]["Status__c"] = status


def new_round(agency: Agency, n: int, day: date) -> None:
    """Resubmitted by Amy and approved again by the whole chain on `day`."""
    sf = agency.emulators["salesforce"]
    for i, (status, who) in enumerate(
        (
            ("Started", "Amy Retention"),
            ("Approved", "Jeremy Bliesner"),
            ("Approved", "Dustin Hunter"),
        )
    ):
        sf.add_approval(request_id(n), status, who, at=f"{day.isoformat()}T10:0{i}:00.000+0000")


def sf_writes(agency: Agency) -> int:
    return sum(
        1
        for c in agency.emulators["salesforce"].calls
        if c.method not in ("GET", "HEAD") and not AUTH_PATHS.search(c.path)
    )


def sf_record(agency: Agency, obj: str, rid: str) -> dict[str, Any]:
    rec = agency.emulators["salesforce"].record(rid)
    assert rec is not None
    return rec


def test_a_withdrawal_says_so_in_salesforce_once_and_leaves_the_account_status_reported(
    tmp_path: Path, sandbox_env: None
) -> None:
    """Defect 7: after a withdrawal the request no longer says 'Synced - offboarding
    scheduled': the write-back fields say it was withdrawn after the sync acted, what was done
    and that nothing was undone; the account status is reported, not changed; exactly once."""
    seeded = scenario(tmp_path / "s", [takedown(1, 1, "Cancellation")])
    with agency_for(tmp_path / "a", seeded) as agency:
        assert sync_cli(agency).code == 0
        rec = sf_record(agency, "Takedown_Request__c", request_id(1))
        assert rec["Sync_Status__c"] == "Synced - offboarding scheduled"
        set_status(agency, 1, "Draft")
        day2 = TODAY + timedelta(days=2)
        dry = sync_cli(agency, "--dry-run", today=day2)
        assert "on hold" in dry.out
        assert "to put on hold" in dry.out
        done = sync_cli(agency, today=day2)
        rec = sf_record(agency, "Takedown_Request__c", request_id(1))
        assert rec["Sync_Status__c"] == "Withdrawn after sync acted", done.both
        message = flat(rec["Sync_Message__c"])
        assert "nothing was undone" in message.lower()
        assert "Simpli.fi notified" in message
        assert "account status" in message.lower()
        account = sf_record(agency, "Account", account_id(1))
        assert account["TDA_Status__c"] == "Cancelled"  # reported, not silently changed
        assert "'Cancelled'" in message
        withdrawn_keys = [
            k for k in ledger_states(agency) if "/salesforce_writeback/withdrawn" in k
        ]
        assert len(withdrawn_keys) == 1
        assert ledger_states(agency)[withdrawn_keys[0]] == "applied"
        assert "withdrawn after the sync acted" in flat(done.both).lower(), done.both
        # Exactly once: later runs write nothing more to Salesforce.
        writes = sf_writes(agency)
        sync_cli(agency, today=day2 + timedelta(days=1))
        assert sf_writes(agency) == writes


def test_a_request_approved_again_with_a_new_round_resumes_what_was_owed(
    tmp_path: Path, sandbox_env: None
) -> None:
    """Defect 2: approved, acted on, set back to Draft on day 2, approved again with a new
    approval round on day 4: the held steps resume and happen on the effective date."""
    seeded = scenario(tmp_path / "s", [takedown(1, 1, "Cancellation")])
    with agency_for(tmp_path / "a", seeded) as agency:
        assert sync_cli(agency).code == 0
        set_status(agency, 1, "Draft")
        sync_cli(agency, today=TODAY + timedelta(days=2))
        remove = key(1, "tracker_remove", "ds_tracker")
        assert ledger_states(agency)[remove] == "on_hold"
        status = sync_cli(agency, "status").out
        assert "on hold" in status
        day4 = TODAY + timedelta(days=4)
        set_status(agency, 1, "Approved")
        new_round(agency, 1, day4)
        done = sync_cli(agency, today=day4)
        assert "approved again" in flat(done.both).lower()
        assert ledger_states(agency)[remove] == "planned"
        rec = sf_record(agency, "Takedown_Request__c", request_id(1))
        assert rec["Sync_Status__c"] == "Synced - offboarding scheduled"
        assert "approved again" in rec["Sync_Message__c"].lower()
        status = sync_cli(agency, "status", today=day4).out
        assert "No open requests" not in status
        assert "tracker_remove/ds_tracker: owed from" in status
        # On the effective date the row goes, the cards are archived, Salesforce says so.
        done = sync_cli(agency, today=TODAY + timedelta(days=10))
        states = ledger_states(agency)
        for k in (
            remove,
            key(1, "trello_archive", "tda"),
            key(1, "salesforce_writeback", "offboarded"),
        ):
            assert states[k] == "applied", (k, done.out)
        rec = sf_record(agency, "Takedown_Request__c", request_id(1))
        assert rec["Sync_Status__c"] == "Offboarded"


def test_a_request_set_back_to_approved_without_a_new_round_is_for_a_person(
    tmp_path: Path, sandbox_env: None
) -> None:
    """Defect 2: status flipped back by hand, no new approval round: nothing resumes, and a
    person is told (in the summary and in `status`), never silence."""
    seeded = scenario(tmp_path / "s", [takedown(1, 1, "Cancellation")])
    with agency_for(tmp_path / "a", seeded) as agency:
        assert sync_cli(agency).code == 0
        set_status(agency, 1, "Draft")
        sync_cli(agency, today=TODAY + timedelta(days=2))
        set_status(agency, 1, "Approved")
        day4 = TODAY + timedelta(days=4)
        done = sync_cli(agency, today=day4)
        assert "no new approval round" in flat(done.both)
        assert ledger_states(agency)[key(1, "tracker_remove", "ds_tracker")] == "on_hold"
        status = flat(sync_cli(agency, "status", today=day4).out)
        assert "no new approval round" in status
        sync_cli(agency, today=TODAY + timedelta(days=10))
        assert ledger_states(agency)[key(1, "tracker_remove", "ds_tracker")] == "on_hold"


# ----- defect 5: an empty cancellation reason is decided once, not failed every run -------------
def test_an_empty_reason_sends_the_notices_with_none_given_and_says_so_once(
    tmp_path: Path, sandbox_env: None
) -> None:
    seeded = scenario(tmp_path / "s", [takedown(1, 1, "Cancellation", Reason__c="  ")])
    with agency_for(tmp_path / "a", seeded) as agency:
        done = sync_cli(agency)
        assert done.code == 0, done.out
        states = ledger_states(agency)
        for k in ("simplifi_notice/simplifi", "manager_digest/tda_manager"):
            assert states[f"{request_id(1)}/{k}"] == "applied"
        assert states[key(1, "salesforce_writeback", "approval")] == "applied"
        simplifi = set(agency.config.email.simplifi_to)
        [notice] = [d for d in agency.outbox() if simplifi & set(d.rcpt_tos)]
        assert "effective" in notice.body
        assert "for (none given)." in flat(notice.body)
        assert "no cancellation reason" in flat(done.both)
        # Decided once: the next run neither fails nor repeats the note.
        again = sync_cli(agency)
        assert again.code == 0
        assert "no cancellation reason" not in flat(again.both)


# ----- defect 6: messages that say what is true -------------------------------------------------
@pytest.mark.parametrize(
    ("rtype", "says"),
    [
        ("Cancellation", "its offboarding steps run now"),
        ("Contract Pause", "the pause is recorded now"),
        ("Contract Change", "the contract change is recorded now"),
    ],
)
def test_the_late_approval_note_says_what_runs_for_each_type(
    tmp_path: Path, sandbox_env: None, rtype: str, says: str
) -> None:
    extra = {"New_Package_Or_Budget__c": "OTT"} if rtype == "Contract Change" else {}
    seeded = scenario(
        tmp_path / "s", [takedown(1, 1, rtype, Effective_Date__c="{today-3}", **extra)]
    )
    with agency_for(tmp_path / "a", seeded) as agency:
        out = flat(sync_cli(agency).both)
        assert "had already passed when the request was first seen" in out
        assert says in out
        if rtype != "Cancellation":
            assert "offboarding" not in out.split("Notes:")[1].split("Skipped")[0]


def test_an_account_with_an_empty_name_is_told_to_name_the_account(
    tmp_path: Path, sandbox_env: None
) -> None:
    def nameless(data: dict[str, Any]) -> None:
        for acc in data["salesforce"]["records"]["Account"]:
            if acc["Id"] == account_id(1):
                acc["Name"] = ""

    seeded = scenario(tmp_path / "s", [takedown(1, 1, "Cancellation")], edit=nameless)
    with agency_for(tmp_path / "a", seeded) as agency:
        out = flat(sync_cli(agency).both)
        assert f"account {account_id(1)} has no name" in out
        told = [flat(a) for a in alerts(agency) if "has no name" in a]
        assert told, "the operations lead is alerted"
        assert not any("Set the account on the request" in a for a in told)
        assert any("Give the account a name in Salesforce" in a for a in told)


def test_a_skipped_trello_archive_is_listed_as_skipped_with_why_not_as_done(
    tmp_path: Path, sandbox_env: None
) -> None:
    def no_cards(data: dict[str, Any]) -> None:
        for board in data["trello"]["boards"]:
            board["cards"] = []

    seeded = scenario(
        tmp_path / "s",
        [takedown(1, 1, "Cancellation", Effective_Date__c="{today}")],
        edit=no_cards,
    )
    with agency_for(tmp_path / "a", seeded) as agency:
        out = sync_cli(agency).out
        done = out.split("Done:", 1)[1].split("Skipped:", 1)[0]
        assert "Trello" not in done, out
        skipped = flat(out.split("Skipped:", 1)[1])
        assert "Trello cards archived on the Targeted Digital Advertising board" not in skipped
        assert "no card for Blue Ridge RV Center on board" in skipped
        # The same truth in Salesforce: the write-back does not claim the archives either.
        rec = sf_record(agency, "Takedown_Request__c", request_id(1))
        message = flat(rec["Sync_Message__c"])
        assert rec["Sync_Status__c"] == "Offboarded"
        assert "removed from the DS tracker (copy kept)" in message
        assert "Trello cards archived" not in message.split("Skipped")[0], message
        assert "Skipped (nothing to do): Trello archive on the Targeted Digital" in message


# ----- defect 8: the copy of a removed row keeps what people wrote -------------------------------
def test_a_removed_rows_copy_keeps_formulas_and_the_syncs_own_values_stay_text(
    tmp_path: Path, sandbox_env: None
) -> None:
    link = '=HYPERLINK("https://crm.example/001A00000000001AAA","CRM link")'

    def with_formulas(data: dict[str, Any]) -> None:
        rows = data["google"]["spreadsheets"]["sandbox-ds-tracker"]["sheets"]["Clients"]
        rows[0] += ["CRM", "Note"]
        row = next(r for r in rows if account_id(1) in r)
        row += [""] * (len(rows[0]) - 2 - len(row)) + [{"formula": link}, "=not a formula"]

    seeded = scenario(
        tmp_path / "s",
        [takedown(1, 1, "Cancellation", Effective_Date__c="{today}")],
        edit=with_formulas,
    )
    with agency_for(tmp_path / "a", seeded) as agency:
        done = sync_cli(agency)
        assert done.code == 0, done.out
        assert ledger_states(agency)[key(1, "tracker_remove", "ds_tracker")] == "applied"
        book = agency.emulators["google"].snapshot()["spreadsheets"]["sandbox-ds-tracker"]
        removed = book["sheets"]["Removed clients"]
        header, copy = removed[0], removed[1]
        cell = dict(zip(header, copy, strict=False))
        assert cell["CRM"] == {"formula": link}  # the target is kept, not just "CRM link"
        assert cell["Note"] == "=not a formula"  # text a person typed stays text
        assert cell["Status"] == "Cancelled"  # what the sync wrote stays literal text
        assert not any(account_id(1) in str(r) for r in book["sheets"]["Clients"])


# ----- defect 9 in the sandbox, where names are allowed: a namesake still cannot pass -----------
def test_in_the_sandbox_a_second_user_with_an_approvers_name_blocks_the_gate(
    tmp_path: Path, sandbox_env: None
) -> None:
    def namesake(data: dict[str, Any]) -> None:
        data["salesforce"]["users"].append(
            {"username": "dh2@agency.sandbox", "password": "x", "user_id": "005000000000XXX",
             "name": "Dustin  HUNTER"}
        )  # fmt: skip

    seeded = scenario(tmp_path / "s", [takedown(1, 1, "Cancellation")], edit=namesake)
    with agency_for(tmp_path / "a", seeded) as agency:
        done = sync_cli(agency)
        assert not any(k.startswith(request_id(1)) for k in ledger_states(agency))
        assert agency.outbox() == [] or all(
            set(d.rcpt_tos) <= set(agency.config.email.ops_lead_to) for d in agency.outbox()
        )
        assert "2 Salesforce users are named 'Dustin Hunter'" in flat(done.both)
