"""The run lock: a second run is refused at once; a lock left by a dead process is taken over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sync.errors import LockHeldError
from sync.state.lock import RunLock


def test_second_lock_is_refused_while_the_first_is_held(tmp_path: Path) -> None:
    with RunLock(tmp_path):
        other = RunLock(tmp_path)
        with pytest.raises(LockHeldError, match=f"pid {os.getpid()}"):
            other.acquire()
    # Released: now it can be taken.
    with RunLock(tmp_path) as again:
        assert again.took_over_from is None


def test_lock_held_by_another_process_is_refused(tmp_path: Path) -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from sync.state.lock import RunLock;"
            f"l = RunLock(Path({str(tmp_path)!r})); l.acquire(); print('held', flush=True);"
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "held"
            with pytest.raises(LockHeldError, match=f"pid {holder.pid}"):
                RunLock(tmp_path).acquire()
        finally:
            holder.kill()


def test_lock_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os; from pathlib import Path; from sync.state.lock import RunLock;"
            f"RunLock(Path({str(tmp_path)!r})).acquire(); os._exit(9)",
        ],
    )
    assert holder.wait() == 9
    # The file still names the dead holder, who never released it.
    assert json.loads((tmp_path / "run.lock").read_text())["pid"] == holder.pid
    with RunLock(tmp_path) as lock:
        assert lock.took_over_from == holder.pid
