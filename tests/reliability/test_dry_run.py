"""A dry run writes nothing: the emulators receive no write request (logins and token grants
aside, which change no data), no email goes out, and the state directory is byte-for-byte as it
was, in the engine and through `python -m sync --sandbox --dry-run`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from sync.cli import app as cli
from sync.sandbox import agency as sandbox
from tests.support.fixtures.sandbox import AUTH_PATHS
from tests.support.reliability import TODAY, agency_for, core_requests, run, scenario, world

FAR = date(2099, 1, 1)


def files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def writes(emulators: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (name, c.method, c.path)
        for name in ("salesforce", "google", "trello")
        for c in emulators[name].calls
        if c.method not in ("GET", "HEAD") and not AUTH_PATHS.search(c.path)
    ]


def test_a_dry_run_writes_nothing_anywhere_and_leaves_the_state_directory_as_it_was(
    tmp_path: Path, sandbox_env: None
) -> None:
    seeded = scenario(tmp_path / "s", core_requests())
    with agency_for(tmp_path / "a", seeded) as agency:
        # A real run the day before: a ledger, a run log and a lock file exist.
        assert run(agency, TODAY - timedelta(days=1)).exit_code == 0
        before_files = files(agency.config.state_path)
        before_world, mails = world(agency), len(agency.outbox())
        for name in ("salesforce", "google", "trello"):
            agency.emulators[name].reset_counts()

        result = run(agency, TODAY, dry_run=True)
        # There was something to do today in every system.
        assert {str(e.kind) for e in result.plan.due} >= {
            "tracker_remove",
            "trello_archive",
            "reminder",
            "salesforce_writeback",
        }
        assert writes(agency.emulators) == []
        assert len(agency.outbox()) == mails
        assert world(agency) == before_world
        assert files(agency.config.state_path) == before_files

        # And the real run that follows does what the dry run showed.
        real = run(agency, TODAY)
        assert {e.key for e in real.plan.due} == {e.key for e in result.plan.due}


@contextmanager
def captured_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """The emulators each `--sandbox` command starts, so their request counts can be read."""
    started: list[dict[str, Any]] = []
    real = sandbox._running

    @contextmanager
    def spy(
        emulators: dict[str, Any], directory: Path
    ) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
        with real(emulators, directory) as (running, routes):
            started.append(running)
            yield running, routes

    monkeypatch.setattr(sandbox, "_running", spy)
    yield started


def sync_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_the_sandbox_cli_dry_run_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = tmp_path / "box"
    common = ["--sandbox", "--sandbox-dir", str(box)]
    with captured_sandbox(monkeypatch) as started:
        code, _out, err = sync_cli(*common)  # a real run first, as of the real today
        assert code == 0, err
        state = files(box / "state")
        outbox = files(box / "outbox")
        saved = files(box / sandbox.STATE_DIR)

        code, out, err = sync_cli(*common, "--dry-run", "--as-of", FAR.isoformat())
        assert code == 0, err
        assert "dry run: nothing was changed anywhere" in out
        assert "due now" in out  # the removals and archives of every cancellation, at least
        dry = started[-1]
        assert writes(dry) == []
        assert dry["smtp"].messages == []
        assert files(box / "state") == state
        assert files(box / "outbox") == outbox
        # A dry run opens the sandbox read-only: the emulators' files are not even rewritten.
        assert files(box / sandbox.STATE_DIR) == saved
