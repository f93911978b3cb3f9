"""Every command that changes the emulated services keeps its changes in the sandbox folder,
and a command that opened the sandbox read-only is refused a change loudly (issue 24, defect 1).
"""

from __future__ import annotations

import io
import logging
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from connectors.emulators.store import StateStore
from sync.cli import app as cli
from sync.clock import ManualClock
from sync.sandbox.agency import open_sandbox, saved_state

REQUEST = "TR-00001"  # Blue Ridge RV Center: a DS cancellation, effective in 10 days
ACCOUNT = "001A00000000001AAA"
SEEDED = date(2026, 11, 25)  # the first command's --as-of seeds the sandbox's dates
AFTER = (SEEDED + timedelta(days=15)).isoformat()


def sandbox(box: Path, *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main(["--sandbox", "--sandbox-dir", str(box), *args])
    finally:  # cli.main points the root logger at stderr; give pytest its own back
        root.handlers[:] = handlers
        root.setLevel(level)
    return code, out.getvalue() + err.getvalue()


def _account_status(box: Path) -> str:
    accounts = saved_state(box)["salesforce"].records["Account"]
    return str(next(a for a in accounts.values() if a["Id"] == ACCOUNT)["TDA_Status__c"])


def _request(box: Path) -> dict[str, object]:
    recs = saved_state(box)["salesforce"].records["Takedown_Request__c"]
    return next(r for r in recs.values() if r["Name"] == REQUEST)


def test_undo_in_the_sandbox_keeps_what_it_restored(tmp_path: Path, sandbox_env: None) -> None:
    box = tmp_path / "box"
    code, text = sandbox(box, "--as-of", SEEDED.isoformat())
    assert code in (0, 1), text
    code, text = sandbox(box, "--as-of", AFTER)
    assert code in (0, 1), text
    assert _account_status(box) == "Cancelled"
    assert sandbox(box, "--as-of", AFTER, "sandbox", "withdraw", REQUEST)[0] == 0
    code, text = sandbox(box, "undo", REQUEST, "--as-of", AFTER, "--reason", "client saved")
    assert code == 0, text
    # What `undo` said it did is in the sandbox folder, not only in a process that has ended.
    assert _account_status(box) == "Active"
    assert _request(box)["Sync_Status__c"] == "Undone"
    # And a second `undo` has nothing left to do (the first one's work was kept).
    code, text = sandbox(box, "undo", REQUEST, "--as-of", AFTER, "--reason", "again")
    assert code == 2
    assert "already undone" in text


def test_a_read_only_sandbox_refuses_a_change_and_keeps_nothing_of_it(
    tmp_path: Path, sandbox_env: None
) -> None:
    box = tmp_path / "box"
    with open_sandbox(box, clock=ManualClock(datetime(2026, 11, 25, 15, tzinfo=UTC)).clock()):
        pass  # seeded
    with open_sandbox(box, writable=False) as ro:
        trello = ro.emulators["trello"]
        assert isinstance(trello.persistence, StateStore)
        card = next(c for c in _cards(trello) if not c.get("closed"))
        resp = requests.put(
            f"{trello.base_url}/1/cards/{card['id']}",
            params={"key": "sandbox-trello-key", "token": "sandbox-trello-token"},
            json={"closed": True},
            timeout=10,
        )
        # Refused in Trello's own way, and not kept in memory as if it had been done.
        assert resp.status_code >= 400
        assert "read-only" in resp.text
        assert not next(c for c in _cards(trello) if c["id"] == card["id"]).get("closed")
    saved = _cards(saved_state(box)["trello"])
    assert not next(c for c in saved if c["id"] == card["id"]).get("closed")


def _cards(trello: Any) -> list[dict[str, Any]]:
    return [c for b in trello.snapshot()["boards"] for c in b["cards"]]
