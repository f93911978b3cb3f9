"""The exactly-once ledger: one SQLite file in the state directory.

Each effect key has a state (planned, sending, applied, skipped, failed, needs_person, on_hold), its
attempts, last error and timestamps. An effect recorded as applied or skipped is final and is
never planned again. Effects a connector checks by key at write time (sheets, boards,
Salesforce) are committed together once their connector's batch is confirmed: if a crash loses
that commit, the next run finds them already done in the target. Uncheckable effects (email)
are committed one message at a time: every effect a message carries is marked "sending" in one
transaction *before* the send (with the message's Message-ID), and all of them "applied" in one
transaction right after, so a crash can neither lose nor double them silently, and one
`resolve` settles the whole message.

It also keeps the poller's watermark, the findings that wait for a person, a short snapshot of
each request (for `python -m sync status`) and which problems were already alerted. The
adoption table and the shadow reports share the file (`sync.state.adoption`).

Why one module of about 590 lines: the effects, their before-images, the request snapshots,
findings, alerts, undo records and the watermark are written in the same transactions (an
outcome and its image in one step, a batch committed once), so they share one connection and
one transaction discipline; the class is many short methods, one statement each, over one
schema.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sync.clock import SYSTEM as SYSTEM_CLOCK
from sync.clock import Clock
from sync.config.redaction import redact
from sync.core.domain import (
    FINAL_STATES,
    Effect,
    EffectState,
    Finding,
    Outcome,
    OutcomeStatus,
    TakedownRequest,
)
from sync.core.records import EffectRow, UndoRecord
from sync.state.private_files import ensure_private_file, refuse_link

SCHEMA = """
CREATE TABLE IF NOT EXISTS effects (
    key TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    not_before TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    applied_at TEXT,
    run_id TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS effects_request ON effects(request_id);
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    request_id TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (request_id, code)
);
CREATE TABLE IF NOT EXISTS alerts (
    problem TEXT PRIMARY KEY,
    message TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    alerted_at TEXT,
    resolved_at TEXT
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS adopted (
    request_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    status TEXT NOT NULL,
    approved_on TEXT NOT NULL,
    cutover TEXT NOT NULL,
    adopted_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'adopted',
    seen_status TEXT NOT NULL,
    seen_approved_on TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS shadow_reports (
    day TEXT PRIMARY KEY,
    sent_at TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS before_images (
    key TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    image TEXT NOT NULL,
    taken_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS before_images_request ON before_images(request_id);
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT NOT NULL,
    address TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (key, address)
);
CREATE TABLE IF NOT EXISTS undos (
    request_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    reason TEXT NOT NULL,
    forced INTEGER NOT NULL,
    requested_at TEXT NOT NULL,
    run_id TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (request_id, generation)
);
"""

_STATE_OF: Mapping[OutcomeStatus, EffectState] = {
    OutcomeStatus.APPLIED: EffectState.APPLIED,
    OutcomeStatus.ALREADY_DONE: EffectState.APPLIED,
    OutcomeStatus.SKIPPED: EffectState.SKIPPED,
    OutcomeStatus.FAILED: EffectState.FAILED,
    OutcomeStatus.NEEDS_PERSON: EffectState.NEEDS_PERSON,
    OutcomeStatus.UNCONFIRMED: EffectState.SENDING,
}


class Ledger:
    # How long a step waits for another process's lock on the file before it fails (and the
    # run stops, naming the holder: sync.state.faults). Every run holds the run lock, so only a
    # program outside it (a sqlite3 shell, a backup) can hold the ledger this long.
    busy_timeout = 30.0

    def __init__(self, path: Path, *, clock: Clock = SYSTEM_CLOCK) -> None:
        # 0600 before SQLite opens it: SQLite gives its journal the database file's mode. SQLite
        # opens both by name: a link at either is refused first (sync.private_files).
        ensure_private_file(path)
        refuse_link(path.with_name(path.name + "-journal"))
        self.path = path
        self.clock = clock
        self._db = sqlite3.connect(path, isolation_level=None, timeout=self.busy_timeout)
        # The default rollback journal, not WAL: a read-only open of a WAL database creates
        # -shm/-wal files, and a dry run must leave the state directory untouched.
        self._db.execute("PRAGMA journal_mode=DELETE")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(effects)")}
        if "message_id" not in columns:  # a ledger written before messages were recorded
            self._db.execute("ALTER TABLE effects ADD COLUMN message_id TEXT NOT NULL DEFAULT ''")

    @classmethod
    def open_readonly(cls, path: Path, *, clock: Clock = SYSTEM_CLOCK) -> Ledger | None:
        """For dry runs and reports: never creates the file. None if there is no ledger yet."""
        if not path.exists():
            return None
        obj = cls.__new__(cls)
        obj.path = path
        obj.clock = clock
        obj._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=cls.busy_timeout)
        return obj

    def close(self) -> None:
        self._db.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The open SQLite connection, for the tables that share this file and its transactions
        (the adoption table, `sync.state.adoption`)."""
        return self._db

    def stamp(self) -> str:
        """Now, to the second, from the run's clock: how every row here records when."""
        return self._now()

    def _now(self) -> str:
        """When a row changes, to the second, from the run's clock."""
        return self.clock.now().isoformat(timespec="seconds")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic step; inside another one it simply joins it (all or nothing together)."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        """Undo the open step, if SQLite has not already: on a full disk (and some other
        errors) it rolls back by itself, and a ROLLBACK then would raise "cannot rollback - no
        transaction is active" in place of the error that says what happened."""
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    # ----- effects -----------------------------------------------------------------------
    def states(self, request_ids: Iterable[str] | None = None) -> dict[str, EffectState]:
        if request_ids is None:
            rows = self._db.execute("SELECT key, state FROM effects").fetchall()
        else:
            ids = list(request_ids)
            rows = []
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows += self._db.execute(
                    f"SELECT key, state FROM effects WHERE request_id IN ({marks})", chunk
                ).fetchall()
        return {k: EffectState(s) for k, s in rows}

    def get(self, key: str) -> EffectRow | None:
        row = self._db.execute(
            "SELECT key, request_id, kind, target, state, attempts, last_error, not_before,"
            " updated_at, applied_at FROM effects WHERE key = ?",
            (key,),
        ).fetchone()
        return _row(row) if row else None

    def rows(self, request_id: str | None = None) -> list[EffectRow]:
        sql = (
            "SELECT key, request_id, kind, target, state, attempts, last_error, not_before,"
            " updated_at, applied_at FROM effects"
        )
        if request_id is None:
            return [_row(r) for r in self._db.execute(sql + " ORDER BY request_id, created_at")]
        return [
            _row(r)
            for r in self._db.execute(
                sql + " WHERE request_id = ? ORDER BY created_at", (request_id,)
            )
        ]

    def record_planned(self, effects: Iterable[Effect], run_id: str) -> None:
        """Remember owed effects (due or waiting) so later runs keep polling their requests."""
        now = self._now()
        with self.transaction():
            self._db.executemany(
                "INSERT INTO effects (key, request_id, kind, target, state, not_before,"
                " created_at, updated_at, run_id) VALUES (?, ?, ?, ?, 'planned', ?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET not_before = excluded.not_before"
                " WHERE effects.state NOT IN ('applied', 'skipped')",
                [
                    (
                        e.key,
                        e.request_id,
                        str(e.kind),
                        e.target,
                        e.not_before.isoformat(),
                        now,
                        now,
                        run_id,
                    )
                    for e in effects
                ],
            )

    def mark_sending(self, effects: Iterable[Effect], message_id: str, run_id: str) -> None:
        """Every effect one message carries, marked "sending" together: all or none."""
        now = self._now()
        with self.transaction():
            for effect in effects:
                cur = self._db.execute(
                    "UPDATE effects SET state = 'sending', attempts = attempts + 1,"
                    " updated_at = ?, run_id = ?, message_id = ?"
                    " WHERE key = ? AND state NOT IN ('applied', 'skipped')",
                    (now, run_id, message_id, effect.key),
                )
                if cur.rowcount != 1:
                    # Applied already (or never planned): sending again would double it.
                    raise RuntimeError(
                        f"effect {effect.key} is not open; refusing to send it again"
                    )

    def message_of(self, key: str) -> str:
        """The Message-ID an email effect was (last) handed over in; "" if none."""
        row = self._db.execute("SELECT message_id FROM effects WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else ""

    def record_outcome(self, outcome: Outcome, run_id: str) -> EffectState:
        """Store a connector's outcome. A final state is never downgraded."""
        state = _STATE_OF[outcome.status]
        now = self._now()
        applied_at = now if state in FINAL_STATES else None
        error = "" if state in FINAL_STATES else redact(outcome.message)
        # An effect already counted as an attempt when it was marked "sending".
        self._db.execute(
            "UPDATE effects SET state = ?, last_error = ?, updated_at = ?, run_id = ?,"
            " applied_at = COALESCE(?, applied_at),"
            " attempts = attempts + CASE WHEN state = 'sending' THEN 0 ELSE 1 END"
            " WHERE key = ? AND state NOT IN ('applied', 'skipped')",
            (str(state), error, now, run_id, applied_at, outcome.key),
        )
        return state

    def record_deliveries(self, key: str, addresses: Iterable[str], run_id: str) -> None:
        """The relay accepted `key`'s message for these addresses (with the outcome, in its
        transaction): no later run sends it to them again."""
        now = self._now()
        self._db.executemany(
            "INSERT OR IGNORE INTO deliveries (key, address, delivered_at, run_id)"
            " VALUES (?, ?, ?, ?)",
            [(key, a, now, run_id) for a in addresses],
        )

    def delivered_to(self, key: str) -> frozenset[str]:
        """The addresses `key`'s message was delivered to by earlier runs."""
        if not self._has_table("deliveries"):  # a read-only ledger from before the table
            return frozenset()
        rows = self._db.execute("SELECT address FROM deliveries WHERE key = ?", (key,))
        return frozenset(str(r[0]) for r in rows)

    def _has_table(self, name: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def skip(self, effect: Effect, reason: str, run_id: str) -> None:
        now = self._now()
        self._db.execute(
            "INSERT INTO effects (key, request_id, kind, target, state, last_error, not_before,"
            " created_at, updated_at, applied_at, run_id)"
            " VALUES (?, ?, ?, ?, 'skipped', ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET state = 'skipped', last_error = excluded.last_error,"
            " updated_at = excluded.updated_at, applied_at = excluded.applied_at,"
            " run_id = excluded.run_id WHERE effects.state NOT IN ('applied', 'skipped')",
            (
                effect.key,
                effect.request_id,
                str(effect.kind),
                effect.target,
                redact(reason),
                effect.not_before.isoformat(),
                now,
                now,
                now,
                run_id,
            ),
        )

    def hold(self, effect: Effect, reason: str, run_id: str) -> None:
        """Put an owed effect on hold (its request was withdrawn); never a final one."""
        self._db.execute(
            "UPDATE effects SET state = 'on_hold', last_error = ?, updated_at = ?, run_id = ?"
            " WHERE key = ? AND state NOT IN ('applied', 'skipped', 'sending')",
            (redact(reason), self._now(), run_id, effect.key),
        )

    def resume(self, keys: Iterable[str], run_id: str) -> None:
        """Effects on hold are owed again (their request was approved again)."""
        now = self._now()
        self._db.executemany(
            "UPDATE effects SET state = 'planned', last_error = '', updated_at = ?, run_id = ?"
            " WHERE key = ? AND state = 'on_hold'",
            [(now, run_id, k) for k in keys],
        )

    def unconfirmed_message(self, key_or_message_id: str) -> list[str]:
        """The keys of the unconfirmed message that `key_or_message_id` names: an effect key
        (any effect the message carried) or the message's Message-ID (with or without <>)."""
        row = self._db.execute(
            "SELECT message_id FROM effects WHERE key = ? AND state = 'sending'",
            (key_or_message_id,),
        ).fetchone()
        if row is not None and not row[0]:
            return [key_or_message_id]  # marked before messages were recorded: on its own
        mid = str(row[0]) if row is not None else "<" + key_or_message_id.strip("<>") + ">"
        rows = self._db.execute(
            "SELECT key FROM effects WHERE message_id = ? AND state = 'sending' ORDER BY key",
            (mid,),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def resolve_sending(self, key_or_message_id: str, *, sent: bool) -> list[str]:
        """A person checked an unconfirmed message: it went out (applied) or must be resent.
        Settles every effect of that message at once; returns their keys (none: nothing to do)."""
        keys = self.unconfirmed_message(key_or_message_id)
        state = "applied" if sent else "planned"
        now = self._now()
        with self.transaction():
            for key in keys:
                self._db.execute(
                    "UPDATE effects SET state = ?, updated_at = ?,"
                    " last_error = CASE WHEN ? = 'applied' THEN ''"
                    " ELSE 'resend requested by a person' END,"
                    " applied_at = CASE WHEN ? = 'applied' THEN ? ELSE applied_at END"
                    " WHERE key = ? AND state = 'sending'",
                    (state, now, state, state, now, key),
                )
        return keys

    def acted_on(self, request_ids: Iterable[str]) -> set[str]:
        """Those of `request_ids` the sync ever planned or did anything for."""
        ids = list(request_ids)
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT DISTINCT request_id FROM effects WHERE request_id IN ({marks})", chunk
            ).fetchall()
            found |= {str(r[0]) for r in rows}
        return found

    def open_request_ids(self) -> list[str]:
        """Requests that still owe something or wait for a person: the poller re-reads them."""
        rows = self._db.execute(
            "SELECT DISTINCT request_id FROM effects WHERE state NOT IN ('applied', 'skipped')"
            " UNION SELECT request_id FROM findings"
            " UNION SELECT request_id FROM undos WHERE finished_at IS NULL ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    # ----- before-images and undos -------------------------------------------------------
    def save_before(self, key: str, request_id: str, image: Mapping[str, object]) -> None:
        """Keep what an effect replaced. What is already recorded wins: a retry or a re-run
        after a landed write would otherwise record the sync's own values as "before"."""
        row = self._db.execute("SELECT image FROM before_images WHERE key = ?", (key,)).fetchone()
        old = json.loads(row[0]) if row else {}
        merged = {**dict(image), **old}
        if row and merged == old:
            return
        self._db.execute(
            "INSERT INTO before_images (key, request_id, image, taken_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET image = excluded.image",
            (key, request_id, json.dumps(merged, sort_keys=True), self._now()),
        )

    def save_befores(self, images: Sequence[tuple[str, str, Mapping[str, object]]]) -> None:
        """Several effects' before-images (key, request id, image) in one step: one write (a
        spreadsheet's batchUpdate) replaces them all. Durable once the step commits; inside a
        batch, the engine asks for a `checkpoint` before the write they describe."""
        with self.transaction():
            for key, request_id, image in images:
                self.save_before(key, request_id, image)

    def checkpoint(self) -> None:
        """Commit what the open transaction recorded so far, and go on in a new one. The
        engine calls it when something must be on disk before an outside write (a
        before-image) while it holds a batch open; outside a transaction there is nothing to
        do (every step commits on its own)."""
        if self._db.in_transaction:
            self._db.execute("COMMIT")
            self._db.execute("BEGIN IMMEDIATE")

    def before_images(self, request_id: str) -> dict[str, dict[str, object]]:
        rows = self._db.execute(
            "SELECT key, image FROM before_images WHERE request_id = ?", (request_id,)
        ).fetchall()
        return {str(k): json.loads(v) for k, v in rows}

    def request_undo(
        self, request_id: str, generation: int, *, reason: str, forced: bool, run_id: str
    ) -> bool:
        """Record that this generation is to be undone; False if it already was asked for."""
        cur = self._db.execute(
            "INSERT INTO undos (request_id, generation, reason, forced, requested_at, run_id)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(request_id, generation) DO NOTHING",
            (request_id, generation, reason, int(forced), self._now(), run_id),
        )
        return cur.rowcount == 1

    def finish_undo(self, request_id: str, generation: int) -> None:
        self._db.execute(
            "UPDATE undos SET finished_at = ? WHERE request_id = ? AND generation = ?"
            " AND finished_at IS NULL",
            (self._now(), request_id, generation),
        )

    def undos(self, request_ids: Iterable[str] | None = None) -> dict[str, list[UndoRecord]]:
        """Every undo of each request, oldest generation first."""
        rows = self._db.execute(
            "SELECT request_id, generation, reason, forced, requested_at, finished_at FROM undos"
            " ORDER BY request_id, generation"
        ).fetchall()
        wanted = set(request_ids) if request_ids is not None else None
        out: dict[str, list[UndoRecord]] = {}
        for r in rows:
            if wanted is None or r[0] in wanted:
                out.setdefault(str(r[0]), []).append(
                    UndoRecord(str(r[0]), int(r[1]), str(r[2]), bool(r[3]), str(r[4]), r[5])
                )
        return out

    # ----- requests and findings --------------------------------------------------------
    def remember_requests(self, requests: Iterable[TakedownRequest]) -> None:
        now = self._now()
        with self.transaction():
            self._db.executemany(
                "INSERT INTO requests (request_id, label, type, status, effective_date, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(request_id) DO UPDATE SET"
                " label = excluded.label, type = excluded.type, status = excluded.status,"
                " effective_date = excluded.effective_date, last_seen = excluded.last_seen",
                [
                    (
                        r.id,
                        r.label,
                        str(r.type or r.raw_type),
                        r.status,
                        r.effective_date.isoformat() if r.effective_date else r.raw_effective_date,
                        now,
                    )
                    for r in requests
                ],
            )

    def request_labels(self) -> dict[str, dict[str, str]]:
        rows = self._db.execute(
            "SELECT request_id, label, type, status, effective_date, last_seen FROM requests"
        ).fetchall()
        return {
            r[0]: {
                "label": r[1],
                "type": r[2],
                "status": r[3],
                "effective_date": r[4],
                "last_seen": r[5],
            }
            for r in rows
        }

    def replace_findings(self, seen_ids: Iterable[str], findings: Iterable[Finding]) -> None:
        """The current findings of the requests this run looked at; fixed ones disappear."""
        now = self._now()
        ids = list(seen_ids)
        with self.transaction():
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                self._db.execute(f"DELETE FROM findings WHERE request_id IN ({marks})", chunk)
            for f in findings:
                if not f.needs_person:
                    continue
                self._db.execute(
                    "INSERT INTO findings (request_id, code, message, label, first_seen, last_seen)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(request_id, code) DO UPDATE SET"
                    " message = excluded.message, last_seen = excluded.last_seen",
                    (f.request_id, f.code, redact(f.message), f.label, now, now),
                )

    def findings(self) -> list[Finding]:
        rows = self._db.execute(
            "SELECT request_id, code, message, label FROM findings ORDER BY request_id, code"
        ).fetchall()
        return [Finding(r[0], r[1], r[2], True, r[3]) for r in rows]

    # ----- alerts ------------------------------------------------------------------------
    def open_alerts(self) -> dict[str, str]:
        rows = self._db.execute(
            "SELECT problem, message FROM alerts"
            " WHERE resolved_at IS NULL AND alerted_at IS NOT NULL"
        )
        return dict(rows.fetchall())

    def last_alerted(self, problems: Iterable[str]) -> dict[str, str]:
        """When each of `problems` was last alerted, for those alerted before: a problem that
        is new again (resolved since) is a new occurrence with a new alert."""
        out: dict[str, str] = {}
        for problem in problems:
            row = self._db.execute(
                "SELECT alerted_at FROM alerts WHERE problem = ? AND alerted_at IS NOT NULL",
                (problem,),
            ).fetchone()
            if row is not None:
                out[problem] = str(row[0])
        return out

    def alert_sent(self, problem: str, message: str) -> None:
        # Microseconds: the time marks the occurrence, and one may follow another quickly.
        now = self.clock.now().isoformat(timespec="microseconds")
        self._db.execute(
            "INSERT INTO alerts (problem, message, first_seen, alerted_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(problem) DO UPDATE SET message = excluded.message,"
            " alerted_at = excluded.alerted_at, resolved_at = NULL",
            (problem, redact(message), now, now),
        )

    def alert_resolved(self, problem: str) -> None:
        self._db.execute(
            "UPDATE alerts SET resolved_at = ? WHERE problem = ? AND resolved_at IS NULL",
            (self._now(), problem),
        )

    # ----- meta --------------------------------------------------------------------------
    def get_meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def meta_items(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._db.execute("SELECT name, value FROM meta")}

    def delete_meta(self, name: str) -> None:
        self._db.execute("DELETE FROM meta WHERE name = ?", (name,))

    def get_datetime(self, name: str) -> datetime | None:
        value = self.get_meta(name)
        return datetime.fromisoformat(value) if value else None

    def set_datetime(self, name: str, value: datetime) -> None:
        self.set_meta(name, value.isoformat())


def _row(r: tuple[object, ...]) -> EffectRow:
    return EffectRow(
        key=str(r[0]),
        request_id=str(r[1]),
        kind=str(r[2]),
        target=str(r[3]),
        state=EffectState(str(r[4])),
        attempts=int(r[5]),  # type: ignore[call-overload]
        last_error=str(r[6]),
        not_before=str(r[7]),
        updated_at=str(r[8]),
        applied_at=str(r[9]) if r[9] is not None else None,
    )
