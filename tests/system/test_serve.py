"""`python -m sync serve` as a real process against the sandbox, on a one-second schedule:
runs happen, a concurrent cron run is refused by the lock, SIGTERM ends it cleanly."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fixtures.common import REPO, SANDBOX_CONFIG

pytestmark = pytest.mark.slow  # a real `serve` process on a schedule

RUN_LINE = re.compile(r"^Run \S+ as of ")


def fast_config(tmp_path: Path) -> Path:
    """The sandbox config on a one-second schedule (six cron fields: seconds first); the
    email templates are the packaged ones, whatever folder the config is in."""
    text = SANDBOX_CONFIG.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^cron = .*$", 'cron = "* * * * * *"', text)
    path = tmp_path / "fast.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Lines:
    """Reads a pipe on a thread so the test can wait for a line with a timeout."""

    def __init__(self, stream: object) -> None:
        self.q: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.q.put(line)

    def wait_for(self, pattern: re.Pattern[str], count: int, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        while sum(bool(pattern.search(s)) for s in self.seen) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern.pattern}: {self.seen}")
            try:
                self.seen.append(self.q.get(timeout=left))
            except queue.Empty:
                continue
        return self.seen


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Lines, Lines, Path]]:
    box = tmp_path / "box"
    cmd = [
        sys.executable,
        "-m",
        "sync",
        "serve",
        "--sandbox",
        "--sandbox-dir",
        str(box),
        "--config",
        str(fast_config(tmp_path)),
    ]
    # Under libfaketime (the calendar-moved check) the server keeps the real monotonic clock:
    # a faked one makes APScheduler's timed waits block for the whole shift. We move the
    # calendar, not durations; without libfaketime the variable means nothing.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    with subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        out, err = Lines(proc.stdout), Lines(proc.stderr)
        try:
            yield proc, out, err, box
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


def test_serve_runs_on_schedule_refuses_a_cron_run_and_stops_on_sigterm(
    serving: tuple[subprocess.Popen[str], Lines, Lines, Path],
) -> None:
    proc, out, err, box = serving
    out.wait_for(RUN_LINE, 2, timeout=60)  # two scheduled runs happened

    cron = subprocess.run(
        [sys.executable, "-m", "sync", "--sandbox", "--sandbox-dir", str(box)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cron.returncode == 4, cron.stderr
    assert "another run holds the lock" in cron.stderr
    assert f"pid {proc.pid}" in cron.stderr
    assert "Traceback" not in cron.stderr

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    err.wait_for(re.compile(r"stopped"), 1, timeout=10)
    lock = json.loads((box / "state" / "run.lock").read_text())
    assert lock.get("released") is True
    # The first run applied; later ones found nothing new: nothing was done twice.
    runs = [json.loads(x) for x in (box / "state" / "runs.jsonl").read_text().splitlines()]
    counts = [r["counts"]["applied"] for r in runs if r["type"] == "run"]
    assert counts[0] > 0
    assert all(c == 0 for c in counts[1:])
    # Several runs (and a refused cron run) in one day: one morning summary.
    mails = [p.read_text() for p in (box / "outbox").glob("*.eml")]
    assert sum("Good morning" in m for m in mails) == 1
