"""Alerts handed to the mail server, recorded like every other message: "sending", then "sent".

Why: an alert used to be recorded as sent only after the server took it, so a kill between
the two sent it again on the next run: the ops lead got each problem twice. Now the alert's
Message-ID and problems are committed as "sending" before the send and "sent" after (one
step with the alerts table), and an alert left "sending" is never sent again by itself:
`status` shows it and `resolve alert-... --sent` / `--resend` settles it, as for an email of
an effect (or `email.unconfirmed_policy = "resend"` sends it again, with the same Message-ID).

Schema step "25a-alert-sends": the one table below, nothing else changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sync.config.redaction import redact
from sync.state.ledger import Ledger

ALERT_SENDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_sends (
    message_id TEXT PRIMARY KEY,
    problems TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at TEXT NOT NULL,
    settled_at TEXT
)
"""
SENDING, SENT = "sending", "sent"


@dataclass(frozen=True)
class AlertSend:
    """One alert message: its key (`alert-<digest>`, what `resolve` takes) and its problems
    (problem key -> the text alerted)."""

    key: str
    problems: dict[str, str]
    state: str
    started_at: str


class AlertSends:
    def __init__(self, ledger: Ledger) -> None:
        self._db = ledger._db
        self._now = ledger._now  # the run's clock, as every ledger stamp

    def _has_table(self) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alert_sends'"
        ).fetchone()
        return row is not None

    def get(self, key: str) -> AlertSend | None:
        if not self._has_table():
            return None
        row = self._db.execute(
            "SELECT message_id, problems, state, started_at FROM alert_sends WHERE message_id = ?",
            (key,),
        ).fetchone()
        return _send(row) if row else None

    def unconfirmed(self) -> list[AlertSend]:
        """Alerts a run stopped while sending: they may or may not have gone out."""
        if not self._has_table():
            return []
        rows = self._db.execute(
            "SELECT message_id, problems, state, started_at FROM alert_sends"
            " WHERE state = 'sending' ORDER BY started_at"
        ).fetchall()
        return [_send(r) for r in rows]

    def sending(self, key: str, problems: dict[str, str]) -> None:
        """Committed before the send (the caller is outside any transaction)."""
        self._db.execute(ALERT_SENDS_SCHEMA)
        self._db.execute(
            "INSERT INTO alert_sends (message_id, problems, state, started_at)"
            " VALUES (?, ?, 'sending', ?) ON CONFLICT(message_id) DO UPDATE SET"
            " state = 'sending', problems = excluded.problems, settled_at = NULL",
            (
                key,
                json.dumps({k: redact(v) for k, v in problems.items()}, sort_keys=True),
                self._now(),
            ),
        )

    def settle(self, key: str) -> None:
        self._db.execute(
            "UPDATE alert_sends SET state = 'sent', settled_at = ? WHERE message_id = ?",
            (self._now(), key),
        )

    def resolve(self, ledger: Ledger, key: str, *, sent: bool) -> AlertSend | None:
        """A person checked an unconfirmed alert: it went out (recorded as alerted) or must be
        sent again (on the next run, with the same Message-ID). None: no such alert."""
        alert = self.get(key.strip("<>").split("@", 1)[0])
        if alert is None or alert.state != SENDING:
            return None
        with ledger.transaction():
            if sent:
                for problem, text in alert.problems.items():
                    ledger.alert_sent(problem, text)
                self.settle(alert.key)
            else:
                self.forget(alert.key)
        return alert

    def forget(self, key: str) -> None:
        """Not sent after all (refused before the hand-over, or a person asked to resend)."""
        if self._has_table():
            self._db.execute("DELETE FROM alert_sends WHERE message_id = ?", (key,))


def _send(row: tuple[object, ...]) -> AlertSend:
    return AlertSend(str(row[0]), json.loads(str(row[1])), str(row[2]), str(row[3]))
