"""The adoption table and the shadow reports: going live, as the ledger's file remembers it.

Requests people handled before the cut-over (adopted, never acted on by the sync unless a person
releases one), whether a real run passed the safety valve yet, and the day's shadow report.
Kept apart from the effects table (`sync.state.ledger`) so going live later starts from a clean
slate of effects; it shares the ledger's file, connection and clock.
"""

from __future__ import annotations

from collections.abc import Iterable

from sync.config.redaction import redact
from sync.core.records import AdoptedRow
from sync.state.ledger import Ledger


class AdoptionLedger:
    """The adopted requests and the shadow reports, in the ledger's file: kept apart from the
    effects table so going live later starts from a clean slate of effects."""

    def __init__(self, ledger: Ledger) -> None:
        self._db = ledger.connection
        self._now = ledger.stamp

    def _has(self, table: str) -> bool:
        """A read-only open of a ledger from before this table existed: nothing adopted."""
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        return row is not None

    def adopted(self) -> dict[str, AdoptedRow]:
        if not self._has("adopted"):
            return {}
        rows = self._db.execute(
            "SELECT request_id, label, status, approved_on, cutover, adopted_at, state,"
            " seen_status, seen_approved_on, note FROM adopted"
        ).fetchall()
        return {str(r[0]): AdoptedRow(*(str(v) for v in r)) for r in rows}

    def adopt(self, rows: Iterable[tuple[str, str, str, str]], cutover: str) -> int:
        """(request id, label, status, approved on): insert the new ones; return how many.
        A request already adopted or released keeps its row."""
        now = self._now()
        added = 0
        for rid, label, status, approved_on in rows:
            cur = self._db.execute(
                "INSERT INTO adopted (request_id, label, status, approved_on, cutover,"
                " adopted_at, seen_status, seen_approved_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(request_id) DO NOTHING",
                (rid, label, status, approved_on, cutover, now, status, approved_on),
            )
            added += cur.rowcount
        return added

    def saw_change(self, request_id: str, status: str, approved_on: str, note: str) -> None:
        self._db.execute(
            "UPDATE adopted SET seen_status = ?, seen_approved_on = ?, note = ?"
            " WHERE request_id = ?",
            (status, approved_on, note, request_id),
        )

    def release(self, request_id: str) -> bool:
        cur = self._db.execute(
            "UPDATE adopted SET state = 'released', note = ? WHERE request_id = ?"
            " AND state = 'adopted'",
            (f"released by a person on {self._now()[:10]}", request_id),
        )
        return cur.rowcount == 1

    def is_fresh(self) -> bool:
        """Nothing was ever done, adopted or decided here: a first run."""
        for table in ("effects", "adopted"):
            if self._has(table) and self._db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
                return False
        row = self._db.execute(
            "SELECT 1 FROM meta WHERE name IN ('cutover', 'first_run')"
        ).fetchone()
        return row is None

    def mark_started(self, when: str) -> None:
        """A real run passed the safety valve here: later runs are not first runs, even if
        this one found nothing to do (an org with no history)."""
        self._db.execute(
            "INSERT INTO meta (name, value) VALUES ('first_run', ?) ON CONFLICT(name) DO NOTHING",
            (when,),
        )

    def shadow_report_sent(self, day: str) -> bool:
        if not self._has("shadow_reports"):
            return False
        row = self._db.execute("SELECT 1 FROM shadow_reports WHERE day = ?", (day,)).fetchone()
        return row is not None

    def record_shadow_report(self, day: str, summary: str) -> None:
        self._db.execute(
            "INSERT INTO shadow_reports (day, sent_at, summary) VALUES (?, ?, ?)"
            " ON CONFLICT(day) DO NOTHING",
            (day, self._now(), redact(summary)),
        )
