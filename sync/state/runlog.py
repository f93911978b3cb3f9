"""The run log: `runs.jsonl` in the state directory, what the operations lead reads each morning.

One JSON line per effect the run acted on (or skipped, or left waiting on another effect) and
one line per run with its counts, appended and flushed as they happen so a crash loses nothing
already done. The schema is documented in docs/operations/reading-a-run.md#the-run-log.

A run keeps the file open from its first line to `close()`: one unbuffered write per line is
what makes a line survive a crash of the process, and reopening the file for each of a big
run's thousands of lines cost more than writing them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync.config.redaction import redact_value
from sync.core.domain import Effect, OutcomeStatus
from sync.state.private_files import open_private, write_all

RUNLOG_NAME = "runs.jsonl"
# Every `outcome` an effect line may carry: each OutcomeStatus, plus "waiting" (a write-back held
# back by an effect it reports on). `effect()` refuses anything else.
# "on_hold": owed, but its request was withdrawn (sync.core.withdrawal).
OUTCOMES: tuple[str, ...] = (*(str(s) for s in OutcomeStatus), "waiting", "on_hold")


@dataclass
class RunLog:
    path: Path
    _fd: int | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> RunLog:
        return cls(state_dir / RUNLOG_NAME)

    def effect(
        self,
        run_id: str,
        effect: Effect,
        outcome: str,
        *,
        error: str = "",
        attempts: int = 1,
        retries: int = 0,
        at: str,
    ) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"not a run log outcome: {outcome!r} (expected one of {OUTCOMES})")
        self._append(
            {
                "type": "effect",
                "run_id": run_id,
                "at": at,
                "key": effect.key,
                "kind": str(effect.kind),
                "request_id": effect.request_id,
                "request": effect.request.name,
                "client": effect.request.client_name,
                "target": effect.target,
                "outcome": outcome,
                "error": error,
                "attempts": attempts,
                "retries": retries,
            }
        )

    def finding(
        self, run_id: str, request_id: str, code: str, message: str, at: str, label: str = ""
    ) -> None:
        self._append(
            {
                "type": "finding",
                "run_id": run_id,
                "at": at,
                "request_id": request_id,
                "request": label,
                "code": code,
                "message": message,
            }
        )

    def run(self, record: dict[str, Any]) -> None:
        self._append({"type": "run", **record}, sync=True)

    def open(self) -> None:
        """Open for appending, on a fresh line: a line a crash tore (no newline at the end)
        would otherwise swallow this run's first line, and readers skip a torn line."""
        if self._fd is not None:
            return
        fd = open_private(self.path, os.O_RDWR | os.O_APPEND)
        try:
            end = os.lseek(fd, 0, os.SEEK_END)
            if end and os.pread(fd, 1, end - 1) != b"\n":
                write_all(fd, b"\n")
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _append(self, obj: dict[str, Any], *, sync: bool = False) -> None:
        if self._fd is None:
            self.open()
        assert self._fd is not None
        # The run log is kept and read by people: an upstream error quoting a credential is
        # hidden by the run's one redactor before the line is written.
        line = json.dumps(redact_value(obj), sort_keys=True, ensure_ascii=False)
        write_all(self._fd, (line + "\n").encode())
        if sync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def read(self) -> Iterator[dict[str, Any]]:
        """Every line, oldest first; a torn last line (a crash mid-write) is passed over."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue

    def runs(self) -> list[dict[str, Any]]:
        return [r for r in self.read() if r.get("type") == "run"]

    def effects_of(self, run_id: str) -> list[dict[str, Any]]:
        return [r for r in self.read() if r.get("type") == "effect" and r.get("run_id") == run_id]
