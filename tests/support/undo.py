"""Helpers of the undo tests (tests/system/test_undo.py, tests/reliability/test_crash.py): one
cancellation that offboards everything, a withdrawal as a person does it in Salesforce, and the
world "as before the sync first acted" minus what an undo is meant to leave behind."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from connectors.emulators.scenarios.scenario import request_id, takedown
from sync.engine.request import UndoAsk
from sync.engine.result import RunResult
from tests.support.fixtures.sandbox import Agency
from tests.support.reliability import TODAY, run, world

EFFECTIVE = TODAY + timedelta(days=3)
RID = request_id(1)
TRACKED = ("Planner", "Offboarding")  # the tabs whose rows are marked, not restored


def cancellation() -> list[dict[str, Any]]:
    """A cancellation of client 0 (a card on each board), leaving the platform, effective in
    three days: approval-time effects today, the row removal and archives on EFFECTIVE."""
    return [
        takedown(
            1,
            0,
            "Cancellation",
            Effective_Date__c="{today+3}",
            Leaving_Platform__c=True,
            Reason__c="switching service to SEM",
        )
    ]


def withdraw(agency: Agency, status: str = "Withdrawn") -> None:
    sf = agency.emulators["salesforce"]
    with sf.lock:
        sf.records["Takedown_Request__c"][RID]["Status__c"] = status


def undo(agency: Agency, today: date, **kw: Any) -> RunResult:
    return run(agency, today, only="TR-00001", undo=UndoAsk(**kw))


def comparable(agency: Agency) -> dict[str, Any]:
    """The world minus what an undo leaves on purpose: the request record itself (its status
    and sync fields say "withdrawn, undone"), the Planner/Offboarding rows (marked), the Trello
    comments, and a "removed" tab the sync created that holds only its header again."""
    state = copy.deepcopy(world(agency))
    state["salesforce"].pop("Takedown_Request__c", None)
    for sid in ("sandbox-planner", "sandbox-offboarding"):
        state["google"].pop(sid, None)
    for book in state["google"].values():
        removed = book["sheets"].get("Removed clients")
        if removed is not None and len(removed) <= 1:
            book["sheets"].pop("Removed clients")
    for board in state["trello"]:
        for card in board["cards"]:
            card.pop("comments", None)
    return state


def marked_rows(agency: Agency) -> list[list[str]]:
    """Planner and Offboarding rows of the request: every one must be marked withdrawn."""
    google = agency.emulators["google"]
    rows = google.rows("sandbox-planner", "Cancellations & Pauses")[1:]
    rows += google.rows("sandbox-offboarding", "Offboarding")[1:]
    return [r for r in rows if any(RID in c for c in r)]
