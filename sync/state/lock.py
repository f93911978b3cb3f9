"""The run lock: a cron run and `serve` (or two cron runs) never act at once.

`fcntl.flock` on a file in the state directory: the kernel releases it when the holder dies, so a
lock left by a crashed process is taken over at once; the file keeps the last holder's pid and
start time so the newcomer can say it took over.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from types import TracebackType
from typing import IO

from sync.clock import wall_now
from sync.errors import LockHeldError
from sync.state.faults import classify
from sync.state.private_files import open_private

LOCK_NAME = "run.lock"


class RunLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_NAME
        self._fh: IO[str] | None = None
        self.took_over_from: int | None = None

    def acquire(self) -> None:
        try:
            fd = open_private(self.path, os.O_RDWR)
        except OSError as exc:  # a read-only or full state folder: named, not a traceback
            raise classify(exc, ledger=None) or exc from None
        fh = os.fdopen(fd, "r+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fh)
            fh.close()
            pid = holder.get("pid", "?")
            since = holder.get("since", "?")
            raise LockHeldError(
                f"another run holds the lock (pid {pid}, since {since}); this run did nothing. "
                f"Lock file: {self.path}"
            ) from None
        previous = _read(fh)
        prev_pid = previous.get("pid")
        if isinstance(prev_pid, int) and prev_pid != os.getpid() and not previous.get("released"):
            self.took_over_from = prev_pid
        fh.seek(0)
        fh.truncate()
        # The real time, not a run's clock: a person judges a stale lock by it (sync/clock.py).
        fh.write(json.dumps({"pid": os.getpid(), "since": wall_now().isoformat()}))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is None:
            return
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(json.dumps({"pid": os.getpid(), "released": True}))
        self._fh.flush()
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read(fh: IO[str]) -> dict[str, object]:
    fh.seek(0)
    try:
        data = json.loads(fh.read() or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
