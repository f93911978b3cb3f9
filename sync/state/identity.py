"""Which org and config a ledger belongs to: one row, claimed by the first run that writes.

Why: a ledger copied from another deployment (production's state folder restored on staging,
two configs sharing one `state_dir`) would tell the sync that another org's requests were
done, or that this org's were not. The first run that passes the go-live checks records the
Salesforce org id and the configured object; every later run compares before its first write
and stops on a mismatch. A ledger written before this table existed claims the identity of
its first run after the upgrade (there is nothing else to compare with).

The org id comes from the login, with no extra call: Salesforce's session ids start with the
15-character org id (`00D...!...`); see `connectors.salesforce.connector.org_id_of_session`.

Schema step "25a-identity": the one table below, nothing else changes (a store that migrates
by steps adds it as one step).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

IDENTITY_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    org_id TEXT NOT NULL,
    object TEXT NOT NULL,
    created_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Identity:
    org_id: str
    object: str


def read_identity(db: sqlite3.Connection) -> Identity | None:
    """The claimed identity; None for a ledger that has none yet (or predates the table)."""
    has = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger_identity'"
    ).fetchone()
    if has is None:
        return None
    row = db.execute("SELECT org_id, object FROM ledger_identity WHERE id = 1").fetchone()
    return Identity(str(row[0]), str(row[1])) if row else None


def claim_identity(db: sqlite3.Connection, identity: Identity, at: str) -> None:
    """Record the identity unless one is recorded (the first claim stays); `at` is when."""
    db.execute(IDENTITY_SCHEMA)
    db.execute(
        "INSERT INTO ledger_identity (id, org_id, object, created_at) VALUES (1, ?, ?, ?)"
        " ON CONFLICT(id) DO NOTHING",
        (identity.org_id, identity.object, at),
    )


def mismatch(recorded: Identity | None, current: Identity, ledger_path: str) -> str:
    """Why this ledger is not this deployment's, or "" when it is (or cannot be told: an org
    id nobody knows, a ledger with no identity yet)."""
    if recorded is None:
        return ""
    wrong = []
    if current.org_id and recorded.org_id and current.org_id != recorded.org_id:
        wrong.append(f"Salesforce org {recorded.org_id} (this config logs in to {current.org_id})")
    if recorded.object != current.object:
        wrong.append(f"object {recorded.object} (this config reads {current.object})")
    if not wrong:
        return ""
    return (
        f"the ledger {ledger_path} belongs to another deployment: "
        + " and ".join(wrong)
        + ". Nothing was done. Point `state_dir` at this org's own state folder (a new, empty "
        "one for a new org: the first run then asks for `adopt`); never share a ledger "
        "between orgs"
    )
