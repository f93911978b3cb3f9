"""Requests change after the sync acted (issue 24), through the whole engine and every real
connector: a step a person already did, two requests for one client, edits of the date, the
account and the type, a deleted request, a renamed account, a card a person archived, and an
unconfirmed message's alert.

Each test ran red before its fix. What the sync does for each kind of change is on the
Decisions page (docs/design/decisions.md#when-a-request-changes-after-the-sync-acted).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.emulators.scenarios.scenario import account_id, request_id, takedown
from sync.core.changes import ACCOUNT_CHANGED, BECAME_PAUSE, DATE_MOVED, DUPLICATE
from sync.core.domain import CheckState, OutcomeStatus, System
from sync.engine.request import RunRequest, UndoAsk
from sync.engine.run import run_once
from sync.engine.wiring import build
from sync.ops.alerts import after_run
from tests.support.fixtures.sandbox import Agency
from tests.support.reliability import TODAY, agency_for, ledger_states, run, scenario

DS, TAB = "sandbox-ds-tracker", "Clients"
CLIENT = 4  # Prairie Trail Outfitters, DS: a card on each board
ACCOUNT = account_id(CLIENT)
RID, RID2 = request_id(1), request_id(2)
EFFECTIVE = TODAY + timedelta(days=10)
AFTER = EFFECTIVE + timedelta(days=1)
OPS_LEAD = "digital-ops-lead@agency.example"


def cancellation(n: int = 1, client: int = CLIENT, **fields: Any) -> dict[str, Any]:
    return takedown(n, client, "Cancellation", **{"Effective_Date__c": "{today+10}", **fields})


@pytest.fixture
def make(tmp_path: Path, sandbox_env: None) -> Any:
    """An agency seeded with the given requests (each approved yesterday by the full chain)."""
    opened: list[Any] = []

    def start(*requests: dict[str, Any]) -> Agency:
        data = scenario(tmp_path / f"s{len(opened)}", list(requests))
        ctx = agency_for(tmp_path / f"a{len(opened)}", data)
        opened.append(ctx)
        return ctx.__enter__()

    yield start
    for ctx in opened:
        ctx.__exit__(None, None, None)


def edit(agency: Agency, rid: str, **fields: Any) -> None:
    """What a person does in Salesforce: the record changes, and so does its SystemModstamp."""
    sf = agency.emulators["salesforce"]
    with sf.lock:
        rec = sf.records["Takedown_Request__c"][rid]
        stamp = agency.clock.advance(seconds=1).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        rec.update(fields, SystemModstamp=stamp)


def tracker(agency: Agency, account: str = ACCOUNT) -> dict[str, str] | None:
    rows = agency.emulators["google"].rows(DS, TAB)
    header = rows[0]
    for r in rows[1:]:
        row = dict(zip(header, r + [""] * (len(header) - len(r)), strict=False))
        if row.get("Salesforce Account ID") == account:
            return row
    return None


def notices(agency: Agency) -> list[str]:
    return [m.body for m in agency.outbox() if "Please be advised" in m.body]


def account_status(agency: Agency, account: str = ACCOUNT) -> str:
    return str(agency.emulators["salesforce"].records["Account"][account]["TDA_Status__c"])


def codes(result: Any) -> list[str]:
    return [f.code for f in result.plan.findings]


# ----- 4. a step a person already did ----------------------------------------------------------
def test_a_tracker_row_a_person_removed_is_done_by_a_person_and_the_request_finishes(
    make: Any,
) -> None:
    agency = make(cancellation())
    assert run(agency).exit_code == 0
    google = agency.emulators["google"]
    row = [r[1] for r in google.rows(DS, TAB)].index(ACCOUNT) + 1
    google.delete_row(DS, TAB, row)  # a person got there first
    preview = run(agency, AFTER, dry_run=True, verify=True)
    remove = f"{RID}/tracker_remove/ds_tracker"
    assert preview.checks[remove].state is CheckState.DONE
    result = run(agency, AFTER)
    outcome = result.outcomes[remove]
    # The same judgement as the dry run's read-back: done, by a person, with the evidence.
    assert outcome.status is OutcomeStatus.SKIPPED
    assert "by a person" in outcome.message
    assert ACCOUNT in outcome.message
    assert result.exit_code == 0
    record = agency.emulators["salesforce"].records["Takedown_Request__c"][RID]
    assert record["Sync_Status__c"] == "Offboarded"
    assert "by a person" in record["Sync_Message__c"]
    assert run(agency, AFTER + timedelta(days=1)).outcomes == {}


# ----- 2. two requests for one client -------------------------------------------------------------
def test_two_requests_for_one_client_offboard_it_once_and_a_person_hears_once(make: Any) -> None:
    second = cancellation(2, Effective_Date__c="{today+12}", Reason__c="moving to an agency")
    agency = make(cancellation(), second)
    first = run(agency)
    assert len(notices(agency)) == 1
    offboarding = agency.emulators["google"].rows("sandbox-offboarding", "Offboarding")
    assert sum(ACCOUNT in r for r in offboarding) == 1
    dup = [f for f in first.plan.findings if f.code == DUPLICATE]
    assert [f.request_id for f in dup] == [RID2]
    assert "2026-12-07 here, 2026-12-05 there" in dup[0].message
    assert "TR-00001" in dup[0].message
    # Both requests' own steps still happen: each has its Planner row and its write-back.
    planner = agency.emulators["google"].rows("sandbox-planner", "Cancellations & Pauses")
    assert {RID, RID2} <= {c for r in planner for c in r}
    later = run(agency, TODAY + timedelta(days=13))
    assert DUPLICATE not in codes(later)  # reported once
    assert later.exit_code == 0, later.outcomes
    assert tracker(agency) is None  # removed once, by the first request
    cards = [
        c
        for b in agency.emulators["trello"].snapshot()["boards"]
        for c in b["cards"]
        if c.get("closed")
    ]
    assert cards
    trello = agency.emulators["trello"]
    for card in cards:
        comments = [
            a for a in trello.snapshot().get("actions", []) if a.get("idCard") == card["id"]
        ]
        assert len([a for a in comments if "Archived by" in str(a)]) <= 1
    reminders = [m for m in agency.outbox() if "reminder" in str(m.message["Subject"]).lower()]
    subjects = [str(m.message["Subject"]) for m in reminders]
    assert len(subjects) == len(set(subjects))
    states = ledger_states(agency)
    assert states[f"{RID2}/tracker_remove/ds_tracker"] == "skipped"
    assert states[f"{RID2}/simplifi_notice/simplifi"] == "skipped"


def test_a_second_request_filed_after_the_first_was_acted_on_is_not_a_second_offboarding(
    make: Any,
) -> None:
    agency = make(cancellation())
    assert run(agency).exit_code == 0
    sf = agency.emulators["salesforce"]
    with sf.lock:
        sf.add_record("Takedown_Request__c", cancellation(2, Effective_Date__c="2026-12-05"))
        sf.approvals[RID2] = [dict(s) for s in sf.approvals[RID]]
    again = run(agency, TODAY + timedelta(days=1))
    assert len(notices(agency)) == 1
    assert DUPLICATE in codes(again)
    assert run(agency, AFTER).exit_code == 0


# ----- 3. edits after the sync acted ---------------------------------------------------------
def test_a_moved_date_corrects_the_tracker_and_tells_simplifi_once(make: Any) -> None:
    agency = make(cancellation())
    assert run(agency).exit_code == 0
    assert tracker(agency)["Cancel Date"] == "2026-12-05"  # type: ignore[index]
    edit(agency, RID, Effective_Date__c="2026-12-19")
    moved = run(agency, TODAY + timedelta(days=1))
    assert moved.exit_code == 0, moved.outcomes
    assert tracker(agency)["Cancel Date"] == "2026-12-19"  # type: ignore[index]
    told = notices(agency)
    assert len(told) == 2
    assert "December 19, 2026" in told[1]
    notes = [f for f in moved.plan.findings if f.code == DATE_MOVED]
    assert len(notes) == 1
    assert "TR-00001" in notes[0].label
    assert "Prairie Trail Outfitters" in notes[0].label
    quiet = run(agency, TODAY + timedelta(days=2))
    assert DATE_MOVED not in codes(quiet)
    assert len(notices(agency)) == 2
    # The removal follows the new date, not the old one.
    run(agency, AFTER)
    assert tracker(agency) is not None
    assert run(agency, date_after(2026, 12, 19)).exit_code == 0
    assert tracker(agency) is None


def date_after(y: int, m: int, d: int) -> date:
    return date(y, m, d) + timedelta(days=1)


def test_undo_after_a_date_correction_reverses_once_to_the_row_before_the_sync(
    make: Any,
) -> None:
    agency = make(cancellation())
    before = tracker(agency)
    assert run(agency).exit_code == 0
    edit(agency, RID, Effective_Date__c="2026-12-19")
    assert run(agency, TODAY + timedelta(days=1)).exit_code == 0
    assert len(notices(agency)) == 2  # the notice and its correction
    edit(agency, RID, Status__c="Withdrawn")
    undone = run(agency, TODAY + timedelta(days=2), only="TR-00001", undo=UndoAsk())
    assert undone.exit_code == 0, undone.outcomes
    # One reversal per tracker and partner: the row as it was before the sync's first write,
    # and one "please disregard", whatever the number of notices.
    assert tracker(agency) == before
    subjects = [str(m.message["Subject"]) for m in agency.outbox()]
    assert len([s for s in subjects if s.startswith("Please disregard")]) == 1


def test_a_corrected_account_is_never_a_silent_switch(make: Any) -> None:
    agency = make(cancellation())
    assert run(agency).exit_code == 0
    other = account_id(7)  # Summit... a DS client with a card
    edit(agency, RID, Account__c=other)
    result = run(agency, AFTER)
    found = [f for f in result.plan.findings if f.code == ACCOUNT_CHANGED]
    assert len(found) == 1
    assert "python -m sync undo TR-00001" in found[0].message
    assert tracker(agency, other) is not None  # the new account is not offboarded silently
    assert tracker(agency) is not None  # nor the old one further
    assert len(notices(agency)) == 1


def test_a_cancellation_turned_pause_is_not_offboarded_and_owes_no_cancellation_step(
    make: Any,
) -> None:
    agency = make(cancellation())
    assert run(agency).exit_code == 0
    edit(agency, RID, Request_Type__c="Contract Pause")
    result = run(agency, TODAY + timedelta(days=1))
    assert BECAME_PAUSE in codes(result)
    row = tracker(agency)
    assert row is not None
    assert row["Status"] != "Cancelled"
    assert row["Pause Date"] == "2026-12-05"
    assert account_status(agency) == "Paused"
    after = run(agency, AFTER)
    assert tracker(agency) is not None  # a pause never removes the row
    states = ledger_states(agency)
    owed = [k for k, s in states.items() if s not in ("applied", "skipped", "on_hold")]
    assert owed == [], owed
    assert after.exit_code == 0


def test_a_pause_turned_back_into_a_cancellation_offboards_on_its_day(make: Any) -> None:
    agency = make(cancellation())
    assert run(agency).exit_code == 0
    edit(agency, RID, Request_Type__c="Contract Pause")
    assert run(agency, TODAY + timedelta(days=1)).exit_code == 0
    edit(agency, RID, Request_Type__c="Cancellation")
    back = run(agency, TODAY + timedelta(days=2))
    assert back.exit_code == 0, back.outcomes
    assert tracker(agency)["Status"] == "Cancelled"  # type: ignore[index]
    assert account_status(agency) == "Cancelled"
    assert len(notices(agency)) == 1  # told once already; a pause never retracted it
    done = run(agency, AFTER)
    assert done.exit_code == 0, done.outcomes
    assert tracker(agency) is None
    states = ledger_states(agency)
    assert states[f"{RID}/tracker_remove/ds_tracker:cancellation"] == "applied"
    assert states[f"{RID}/trello_archive/tda:cancellation"] == "applied"


def test_a_deleted_request_is_reported_by_name_and_client(make: Any) -> None:
    agency = make(cancellation())
    assert run(agency).exit_code == 0
    sf = agency.emulators["salesforce"]
    with sf.lock:
        del sf.records["Takedown_Request__c"][RID]
    result = run(agency, TODAY + timedelta(days=1))
    gone = [f for f in result.plan.findings if f.request_id == RID]
    assert gone
    assert all("TR-00001" in f.label and "Prairie Trail" in f.label for f in gone)
    assert any("no longer in Salesforce" in f.message for f in gone)


# ----- 5. smaller ---------------------------------------------------------------------------------
def test_a_renamed_accounts_cards_are_still_archived(make: Any) -> None:
    client = 2  # Coastal Marine & Motorsports: both cards matched by title only
    agency = make(cancellation(client=client))
    assert run(agency).exit_code == 0
    sf = agency.emulators["salesforce"]
    with sf.lock:
        sf.records["Account"][account_id(client)]["Name"] = "Coastal Marine Group"
    edit(agency, RID)
    result = run(agency, AFTER)
    archives = {k: o for k, o in result.outcomes.items() if "/trello_archive/" in k}
    assert archives
    assert all(o.status is OutcomeStatus.APPLIED for o in archives.values()), archives


def test_a_card_a_person_archived_gets_no_archived_by_the_sync_comment(make: Any) -> None:
    agency = make(cancellation())
    assert run(agency).exit_code == 0
    trello = agency.emulators["trello"]
    card = next(
        c
        for b in trello.snapshot()["boards"]
        for c in b["cards"]
        if not c.get("closed") and "Prairie Trail" in c["name"]
    )
    key, token = "sandbox-trello-key", "sandbox-trello-token"
    resp = requests.put(
        f"{trello.base_url}/1/cards/{card['id']}",
        params={"key": key, "token": token},
        json={"closed": True},
        timeout=10,
    )
    assert resp.ok
    run(agency, AFTER)
    comments = requests.get(
        f"{trello.base_url}/1/cards/{card['id']}/actions",
        params={"key": key, "token": token, "filter": "commentCard"},
        timeout=10,
    ).json()
    assert not [a for a in comments if "Archived by the offboarding sync" in a["data"]["text"]]


def test_an_unconfirmed_message_is_alerted_once_with_the_resolve_command(make: Any) -> None:
    agency = make(cancellation())
    agency.emulators["smtp"].drop_next()  # the Simpli.fi notice: handed over, never confirmed

    def run_and_alert(day: Any) -> list[str]:
        clock = agency.clock.clock()
        wired = build(agency.config, agency.routes, clock=clock)
        try:
            request = RunRequest(today=day, clock=clock)
            result = run_once(
                agency.config, request, source=wired.source, connectors=wired.connectors
            )
            return after_run(agency.config, result, wired.connectors[System.EMAIL], clock)
        finally:
            wired.close()

    first = run_and_alert(TODAY)
    assert first
    alerts = [m for m in agency.outbox() if m.rcpt_tos == (OPS_LEAD,)]
    assert len(alerts) == 1
    assert f"python -m sync resolve {RID}/simplifi_notice/simplifi --sent" in alerts[0].body
    assert run_and_alert(TODAY + timedelta(days=1)) == []  # the same problem: not again
    assert len([m for m in agency.outbox() if m.rcpt_tos == (OPS_LEAD,)]) == 1
