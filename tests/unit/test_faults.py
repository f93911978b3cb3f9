"""The machine's own faults are named as such, in one line with the fix."""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import sys
from pathlib import Path

from sync.errors import LocalEnvironmentError
from sync.state.faults import classify


def test_sqlites_full_disk_names_the_state_folder(tmp_path: Path) -> None:
    fault = classify(
        sqlite3.OperationalError("database or disk is full"), ledger=tmp_path / "ledger.sqlite3"
    )
    assert isinstance(fault, LocalEnvironmentError)
    assert str(fault).startswith(f"disk full: {tmp_path}: free space")


def test_an_oserror_names_its_own_file() -> None:
    exc = OSError(errno.ENOSPC, "No space left on device", "/state/runs.jsonl")
    assert str(classify(exc, ledger=Path("/state/ledger.sqlite3"))).startswith(
        "disk full: /state/runs.jsonl:"
    )
    ro = OSError(errno.EROFS, "Read-only file system", "/state/run.lock")
    assert "state folder read-only: /state/run.lock" in str(classify(ro, ledger=Path("/s/l")))


def test_a_damaged_ledger_says_restore_or_start_again(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not a database, it was overwritten" * 100)
    try:
        sqlite3.connect(path).execute("SELECT * FROM effects")
    except sqlite3.DatabaseError as exc:
        fault = classify(exc, ledger=path)
    assert fault is not None
    assert fault.cause == "ledger damaged"
    assert "Restore the ledger from a backup" in str(fault)


def test_a_ledger_locked_by_another_process_names_its_pid(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE t (a)").connection.commit()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"d = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "d.execute('BEGIN EXCLUSIVE')\nprint('held', flush=True)\nsys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        try:
            sqlite3.connect(path, timeout=0.05).execute("INSERT INTO t VALUES (1)")
        except sqlite3.OperationalError as exc:
            fault = classify(exc, ledger=path)
        assert fault is not None
        assert str(fault).startswith(f"ledger locked by pid {holder.pid}: {path}:")
    finally:
        holder.communicate("")


def test_a_bug_stays_a_bug() -> None:
    assert classify(ValueError("oops"), ledger=Path("/l")) is None
    assert classify(sqlite3.OperationalError("no such column: x"), ledger=Path("/l")) is None


def test_a_sockets_permission_error_is_not_the_state_folders() -> None:
    assert classify(PermissionError(errno.EPERM, "Operation not permitted"), ledger=None) is None
    exc = PermissionError(errno.EACCES, "Permission denied", "/state/run.lock")
    assert str(classify(exc, ledger=None)).startswith("state folder not writable: /state/run.lock")
