"""A lost, emptied, old or foreign ledger stops the run before any write (issue #25, item 1).

Salesforce's sync status is the witness: the sync writes it on every request it acted on, once
what it reports is done. Before the fix, each of these runs did everything again (16 messages,
Simpli.fi's notices included) with exit code 0."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from datetime import date
from pathlib import Path

from sync.core.domain import EffectKind
from sync.exitcodes import ExitCode
from tests.support.fixtures.sandbox import SEEDED_ON, Agency

LATER = date(2026, 12, 31)  # every effective date has passed: rows removed, cards archived


def _cutover_long_ago(agency: Agency) -> None:
    """A configured cut-over (the first-run valve is off) that adopts none of the requests."""
    g = dataclasses.replace(agency.config.golive, approved_before="2000-01-01", sandbox=False)
    agency.config = dataclasses.replace(agency.config, golive=g)


def _ledger(agency: Agency) -> Path:
    return agency.config.state_path / "ledger.sqlite3"


def _first_run(agency: Agency) -> int:
    _cutover_long_ago(agency)
    first = agency.run(SEEDED_ON)
    assert first.fatal == ""
    assert any(e.kind is EffectKind.SIMPLIFI_NOTICE for e in first.plan.due)
    return len(agency.outbox())


def _assert_stopped_before_any_write(agency: Agency, sent: int, writes: int, **kw: object) -> str:
    result = agency.run(SEEDED_ON, **kw)  # type: ignore[arg-type]
    assert result.exit_code == ExitCode.FATAL
    assert result.fatal.startswith("stopped before any write: ")
    assert len(agency.outbox()) == sent, "messages were sent again"
    assert agency.http_writes() == writes, "a service was written to"
    assert result.outcomes == {}
    return result.fatal


def test_a_deleted_ledger_stops_the_run_and_names_the_recovery(agency: Agency) -> None:
    sent = _first_run(agency)
    writes = agency.http_writes()
    _ledger(agency).unlink()
    fatal = _assert_stopped_before_any_write(agency, sent, writes)
    assert f"the ledger {_ledger(agency)} does not know" in fatal
    assert "shows 'Synced" in fatal
    assert "Restore the newest copy of the ledger" in fatal
    assert "`python -m sync adopt --only TR-" in fatal
    # --allow-backlog is exactly the re-send: it does not lift this stop.
    _assert_stopped_before_any_write(agency, sent, writes, allow_backlog=True)


def test_a_ledger_truncated_to_zero_bytes_stops_the_run(agency: Agency) -> None:
    sent = _first_run(agency)
    writes = agency.http_writes()
    _ledger(agency).write_bytes(b"")
    assert "does not know" in _assert_stopped_before_any_write(agency, sent, writes)


def test_a_ledger_restored_from_an_older_copy_stops_the_run(agency: Agency, tmp_path: Path) -> None:
    _first_run(agency)
    backup = tmp_path / "ledger.backup"
    shutil.copy(_ledger(agency), backup)
    done = agency.run(LATER)  # rows removed, cards archived, "Offboarded" written back
    assert done.fatal == ""
    assert any(e.kind is EffectKind.TRACKER_REMOVE for e in done.plan.due)
    sent, writes = len(agency.outbox()), agency.http_writes()
    shutil.copy(backup, _ledger(agency))
    result = agency.run(LATER)
    assert result.fatal.startswith("stopped before any write: ")
    assert "shows 'Offboarded', the ledger: still owes tracker_remove/" in result.fatal
    assert (len(agency.outbox()), agency.http_writes()) == (sent, writes)


def test_another_orgs_ledger_is_refused(agency: Agency) -> None:
    sent = _first_run(agency)
    writes = agency.http_writes()
    db = sqlite3.connect(_ledger(agency))
    (org,) = db.execute("SELECT org_id FROM ledger_identity").fetchone()
    assert org == "00D5g000004Agcy"  # the emulated org's id, from the session id
    db.execute("UPDATE ledger_identity SET org_id = '00D000000000042'")
    db.commit()
    db.close()
    fatal = _assert_stopped_before_any_write(agency, sent, writes, allow_backlog=True)
    assert "belongs to another deployment: Salesforce org 00D000000000042" in fatal
    assert "(this config logs in to 00D5g000004Agcy)" in fatal


def test_the_ledgers_own_runs_are_never_stopped(agency: Agency) -> None:
    sent = _first_run(agency)
    again = agency.run(SEEDED_ON)
    assert again.fatal == ""
    assert len(agency.outbox()) == sent
