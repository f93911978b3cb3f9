"""The sync's own machine failing is named as such (issue #25, item 8): one line with the
cause, the path and the fix, exit code 5, never "internal error" or a traceback; and nothing
is lost or doubled once it is fixed.

Before the fix: a full disk read "internal error: ..." (or "cannot rollback - no transaction is
active"), a ledger locked mid-run failed every email with a traceback, a damaged ledger and an
unreadable scenario were "internal error", all with exit code 3 and an alert advising to
report a bug."""

from __future__ import annotations

import errno
import logging
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sync.cli.app import main
from sync.core.domain import Effect, Outcome, System
from sync.exitcodes import ExitCode
from sync.ops.alerts import problems_of
from sync.state import private_files
from sync.state.ledger import Ledger
from tests.support.fixtures.sandbox import SEEDED_ON, Agency


def _ledger_path(agency: Agency) -> Path:
    return agency.config.state_path / "ledger.sqlite3"


def _message_ids(agency: Agency) -> Counter[str]:
    return Counter(str(m.message["Message-ID"]) for m in agency.outbox())


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


def test_a_full_disk_mid_run_is_named_and_the_rerun_does_the_rest_once(
    agency: Agency, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite's own "disk full" (SQLITE_FULL): once the run's first effect is recorded, the
    ledger may grow by no more page, so the disk fills part-way through its writes."""
    real_init = Ledger.__init__
    opened: list[Ledger] = []

    def remembered(self: Ledger, path: Path, **kw: Any) -> None:
        real_init(self, path, **kw)
        opened.append(self)

    def fill_the_disk(_effect: Effect, _outcome: Outcome) -> None:
        for ledger in opened:
            (pages,) = ledger._db.execute("PRAGMA page_count").fetchone()
            ledger._db.execute(f"PRAGMA max_page_count = {pages}")

    monkeypatch.setattr(Ledger, "__init__", remembered)
    caplog.set_level(logging.INFO)
    result = agency.run(SEEDED_ON, on_effect=fill_the_disk)
    assert agency.http_writes() > 0  # it filled up part-way, after writes landed
    assert result.exit_code == ExitCode.ENVIRONMENT
    state = agency.config.state_path
    assert result.fatal.startswith(f"disk full: {state}: free space on that disk")
    assert "rollback" not in result.fatal
    assert problems_of(result)["run:fatal"].code == "environment"
    _no_traceback(caplog)
    monkeypatch.setattr(Ledger, "__init__", real_init)  # space freed: a new ledger connection
    again = agency.run(SEEDED_ON)
    assert again.fatal == ""
    assert again.exit_code in (0, 1)
    sent = _message_ids(agency)
    assert sent
    assert [mid for mid, n in sent.items() if n > 1] == []  # nothing sent twice


def test_a_ledger_locked_mid_run_stops_the_run_naming_the_holder(
    agency: Agency, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(Ledger, "busy_timeout", 0.2)
    path = _ledger_path(agency)
    holder: list[subprocess.Popen[str]] = []

    def lock_after_the_first_email(effect: Effect, _outcome: Outcome) -> None:
        if holder or effect.system is not System.EMAIL:
            return
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys\n"
                f"d = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
                "d.execute('BEGIN EXCLUSIVE')\nprint('held', flush=True)\nsys.stdin.read()\n",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        holder.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline() == "held\n"

    caplog.set_level(logging.INFO)
    try:
        result = agency.run(SEEDED_ON, on_effect=lock_after_the_first_email)
    finally:
        for proc in holder:
            proc.communicate("")
    assert holder, "the run sent no email"
    assert result.exit_code == ExitCode.ENVIRONMENT
    assert result.fatal.startswith(f"ledger locked by pid {holder[0].pid}: {path}: ")
    failed = [k for k, o in result.outcomes.items() if o.status == "failed"]
    assert failed == []  # not one email failed one by one: the run stopped
    assert len(agency.outbox()) == 1
    _no_traceback(caplog)
    again = agency.run(SEEDED_ON)
    assert again.fatal == ""
    assert [mid for mid, n in _message_ids(agency).items() if n > 1] == []


def test_a_damaged_ledger_says_restore_or_start_again_on_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = ["--sandbox", "--sandbox-dir", str(tmp_path / "box")]
    assert main([*box, "--dry-run"]) == 0
    ledger = tmp_path / "box" / "state" / "ledger.sqlite3"
    ledger.parent.mkdir(exist_ok=True)
    ledger.write_bytes(b"\x00garbage, not SQLite" * 512)
    capsys.readouterr()
    assert main(box) == ExitCode.ENVIRONMENT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"error: ledger damaged: {ledger}: SQLite says ")
    assert "Restore the ledger from a backup" in err[0]
    assert main([*box, "status"]) == ExitCode.ENVIRONMENT
    assert "ledger damaged" in capsys.readouterr().err


def test_a_read_only_state_folder_is_named(agency: Agency, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests run as root, whom a folder's mode does not stop: the file system's answer
    (EROFS) is given by the one `os.open` the state files go through."""
    state = str(agency.config.state_path)
    real_open = private_files.os.open

    def read_only(path: Any, flags: int, *args: Any) -> int:
        if str(path).startswith(state) and flags & (private_files.os.O_WRONLY | 2):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return int(real_open(path, flags, *args))

    monkeypatch.setattr(private_files.os, "open", read_only)
    with pytest.raises(Exception, match=r"^state folder read-only: ") as caught:
        agency.run(SEEDED_ON)
    assert type(caught.value).__name__ == "LocalEnvironmentError"
    assert agency.http_writes() == 0


def test_an_unreadable_scenario_is_a_usage_error_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "scenario.json"
    bad.write_text("{not json", encoding="utf-8")
    box = ["--sandbox", "--sandbox-dir", str(tmp_path / "box")]
    assert main([*box, "--scenario", str(bad), "--dry-run"]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"configuration error: --scenario {bad}: not a scenario (")
    missing = tmp_path / "nope.json"
    assert main([*box, "--scenario", str(missing), "--dry-run"]) == ExitCode.USAGE
    assert f"--scenario {missing}: No such file or directory" in capsys.readouterr().err


def test_the_transaction_keeps_sqlites_own_error(tmp_path: Path) -> None:
    """SQLite ends a transaction by itself on a full disk; a ROLLBACK then must not replace
    the error that says what happened."""
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    (pages,) = ledger._db.execute("PRAGMA page_count").fetchone()
    ledger._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError, match="full"), ledger.transaction():
        ledger.set_meta("x", "y" * 100_000)
    ledger.close()
