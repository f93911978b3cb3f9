"""`python -m sync sandbox show`: the sandbox's sheets, boards and outbox as readable tables,
so a new user can see what a run changed without opening JSON."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, TextIO

from sync.ops.render import table
from sync.sandbox.agency import Sandbox

MAX_CELL = 40


def _cell(value: Any) -> str:
    text = value.get("formula", "") if isinstance(value, dict) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def show(box: Sandbox, out: TextIO) -> None:
    out.write(f"Sandbox in {box.directory}\n")
    sheets = box.emulators["google"].snapshot()["spreadsheets"]
    for sid, book in sheets.items():
        for tab, rows in book["sheets"].items():
            grid = rows["rows"] if isinstance(rows, dict) else rows
            out.write(
                f"\n== {book['title']} / {tab}  (spreadsheet {sid}, {max(len(grid) - 1, 0)} rows)\n"
            )
            if not grid:
                out.write("(empty)\n")
                continue
            width = max(len(r) for r in grid)
            padded = [[_cell(c) for c in r] + [""] * (width - len(r)) for r in grid]
            out.write(table(padded[1:], padded[0]) + "\n")
    boards = box.emulators["trello"].snapshot()["boards"]
    for board in boards:
        out.write(f"\n== Trello: {board['name']} ({len(board['cards'])} cards)\n")
        rows = []
        for card in board["cards"]:
            comments = card.get("comments", [])
            last = comments[-1]["text"] if comments and isinstance(comments[-1], dict) else ""
            rows.append(
                ["archived" if card.get("closed") else "open", _cell(card["name"]), _cell(last)]
            )
        out.write(table(rows, ["state", "card", "last comment"]) + "\n")
    outbox = sorted(Path(box.directory / "outbox").glob("*.eml"))
    out.write(f"\n== Outbox ({len(outbox)} messages in {box.directory / 'outbox'})\n")
    rows = []
    for path in outbox:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        rows.append(
            [str(msg.get("Date", ""))[:25], _cell(msg.get("To", "")), _cell(msg.get("Subject", ""))]
        )
    if rows:
        out.write(table(rows, ["date", "to", "subject"]) + "\n")
    requests = box.emulators["salesforce"].snapshot()["records"].get("Takedown_Request__c", [])
    out.write(f"\n== Salesforce: Takedown Requests ({len(requests)})\n")
    rows = [
        [
            r.get("Name", ""),
            str(r.get("Request_Type__c", "")),
            str(r.get("Status__c", "")),
            str(r.get("Effective_Date__c") or ""),
            _cell(r.get("Sync_Status__c") or ""),
        ]
        for r in requests
    ]
    out.write(table(rows, ["request", "type", "status", "effective", "sync status"]) + "\n")
