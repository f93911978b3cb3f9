"""What the sync acted on, per request: the snapshot `sync.core.changes` compares the poll with.

Kept in the ledger's file (its own table, as the adopted requests are), written by a real run
only. A request gets its row the first time the run applied anything for it, with the values its
writes and messages carried; the row moves to the request's new values only once every
correction of them is final (`advance`), so a correction that failed is planned again. An undo
that finished forgets the row: a request approved again after it starts a new offboarding.

A ledger from before this table (or a read-only open of one) has no snapshot: nothing is
compared until a real run records one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date

from sync.core.changes import Acted
from sync.core.domain import TakedownRequest
from sync.state.ledger import Ledger

SCHEMA = """
CREATE TABLE IF NOT EXISTS acted (
    request_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    account_id TEXT NOT NULL,
    client_name TEXT NOT NULL,
    type TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    reason TEXT NOT NULL,
    names TEXT NOT NULL,
    duplicate_of TEXT NOT NULL DEFAULT '',
    first_acted TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""
_COLUMNS = "request_id, name, account_id, client_name, type, effective_date, reason, names"


class ActedLog:
    """The `acted` table of one ledger (its connection: one transaction with the ledger)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._db = ledger._db

    def ensure(self) -> None:
        """Create the table (a writable ledger only; a read-only one just reads nothing)."""
        self._db.executescript(SCHEMA)

    def _has_table(self) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'acted'"
        ).fetchone()
        return row is not None

    def all(self) -> dict[str, Acted]:
        if not self._has_table():
            return {}
        rows = self._db.execute(f"SELECT {_COLUMNS}, duplicate_of FROM acted").fetchall()
        return {str(r[0]): _acted(r) for r in rows}

    def record(
        self, requests: Iterable[TakedownRequest], duplicates: Mapping[str, str] = {}
    ) -> None:
        """First act: the request's values now. Later: only a name not seen before is added
        (an account renamed), so the cards titled with the old name still match."""
        now = self._ledger._now()
        with self._ledger.transaction():
            known = self.all()
            for r in requests:
                was = known.get(r.id)
                if was is None:
                    self._db.execute(
                        f"INSERT INTO acted ({_COLUMNS}, duplicate_of, first_acted, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            r.id,
                            r.name,
                            r.account_id,
                            r.client_name,
                            str(r.type or r.raw_type),
                            r.effective_date.isoformat() if r.effective_date else "",
                            r.reason,
                            json.dumps([r.client_name] if r.client_name.strip() else []),
                            duplicates.get(r.id, ""),
                            now,
                            now,
                        ),
                    )
                elif r.client_name.strip() and r.client_name not in was.names:
                    self._db.execute(
                        "UPDATE acted SET names = ?, updated_at = ? WHERE request_id = ?",
                        (json.dumps([*was.names, r.client_name]), now, r.id),
                    )

    def advance(self, req: TakedownRequest) -> None:
        """Every correction of the request's new values is final: they are what it acted on."""
        self._db.execute(
            "UPDATE acted SET effective_date = ?, type = ?, reason = ?, name = ?, updated_at = ?"
            " WHERE request_id = ?",
            (
                req.effective_date.isoformat() if req.effective_date else "",
                str(req.type or req.raw_type),
                req.reason,
                req.name,
                self._ledger._now(),
                req.id,
            ),
        )

    def forget(self, request_ids: Iterable[str]) -> None:
        """An undo finished: a later approval is a new offboarding."""
        self._db.executemany(
            "DELETE FROM acted WHERE request_id = ?", [(rid,) for rid in request_ids]
        )

    def names_by_account(self) -> dict[str, tuple[str, ...]]:
        """Every client name seen for each account (15-character id), oldest first."""
        out: dict[str, list[str]] = {}
        for a in self.all().values():
            names = out.setdefault(a.account_id[:15], [])
            names.extend(n for n in a.names if n not in names)
        return {k: tuple(v) for k, v in out.items()}


def _acted(r: tuple[object, ...]) -> Acted:
    day = str(r[5])
    return Acted(
        request_id=str(r[0]),
        name=str(r[1]),
        account_id=str(r[2]),
        client_name=str(r[3]),
        type=str(r[4]),
        effective_date=date.fromisoformat(day) if day else None,
        reason=str(r[6]),
        names=tuple(json.loads(str(r[7]))),
        duplicate_of=str(r[8]),
    )
