"""The state folder cannot be turned against the sync (issue #25, item 5).

Before the fix a link planted there was followed: the run log appended to (and chmodded) what
it pointed at, the lock overwrote it, the ledger chmodded it; missing parents were made with
the umask's mode (0777 under umask 000); `init --output` wrote its config with the umask's."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sync.cli.app import main
from sync.cli.init import init_command, sandbox_sheet_ids
from sync.errors import LocalEnvironmentError
from sync.exitcodes import ExitCode
from sync.state.ledger import Ledger
from sync.state.lock import RunLock
from sync.state.runlog import RunLog
from tests.support.fixtures.sandbox import SEEDED_ON, Agency


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    return victim


@pytest.mark.parametrize("name", ["runs.jsonl", "run.lock", "ledger.sqlite3"])
def test_a_link_planted_in_the_state_folder_is_refused_never_followed(
    tmp_path: Path, name: str
) -> None:
    victim = _victim(tmp_path)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / name).symlink_to(victim)
    open_it = {
        "runs.jsonl": lambda: RunLog.in_state_dir(state).run({"run_id": "x"}),
        "run.lock": lambda: RunLock(state).acquire(),
        "ledger.sqlite3": lambda: Ledger(state / name),
    }[name]
    with pytest.raises(LocalEnvironmentError, match="a link in the state folder"):
        open_it()
    assert victim.read_text() == "precious\n"
    assert _mode(victim) == 0o644


def test_a_link_where_sqlite_puts_its_journal_is_refused(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "ledger.sqlite3-journal").symlink_to(victim)
    with pytest.raises(LocalEnvironmentError, match=r"ledger\.sqlite3-journal"):
        Ledger(state / "ledger.sqlite3")
    assert victim.read_text() == "precious\n"


def test_a_run_with_a_planted_run_log_link_stops_before_any_write(
    agency: Agency, tmp_path: Path
) -> None:
    victim = _victim(tmp_path)
    state = agency.config.state_path
    state.mkdir(parents=True, exist_ok=True)
    (state / "runs.jsonl").symlink_to(victim)
    with pytest.raises(LocalEnvironmentError, match="a link in the state folder"):
        agency.run(SEEDED_ON)
    assert agency.http_writes() == 0
    assert agency.outbox() == []
    assert victim.read_text() == "precious\n"


def test_missing_parents_of_the_state_folder_are_made_0700_whatever_the_umask(
    tmp_path: Path,
) -> None:
    deep = tmp_path / "srv" / "sync" / "state"
    with _umask(0):
        Ledger(deep / "ledger.sqlite3").close()
    for folder in (tmp_path / "srv", tmp_path / "srv" / "sync", deep):
        assert oct(_mode(folder)) == oct(0o700), folder


def test_an_existing_parent_keeps_its_owners_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    with _umask(0):
        Ledger(shared / "state" / "ledger.sqlite3").close()
    assert oct(_mode(shared)) == oct(0o755)
    assert oct(_mode(shared / "state")) == oct(0o700)


def test_init_writes_its_config_0600_whatever_the_umask(agency: Agency, tmp_path: Path) -> None:
    cfg = agency.config
    folder = tmp_path / "mine"
    folder.mkdir()
    folder.chmod(0o755)
    path = folder / "config.toml"
    with _umask(0):
        init_command(
            cfg,
            agency.routes,
            output=path,
            sheets=sandbox_sheet_ids(cfg),
            force=False,
            out=io.StringIO(),
        )
    assert oct(_mode(path)) == oct(0o600)
    assert oct(_mode(folder)) == oct(0o755)  # the user's folder is left as they made it
    assert "[salesforce]" in path.read_text()
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_the_cli_names_a_planted_link_with_its_own_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = _victim(tmp_path)
    box = tmp_path / "box"
    assert main(["--sandbox", "--sandbox-dir", str(box), "--dry-run"]) == 0
    (box / "state").mkdir(exist_ok=True)
    (box / "state" / "run.lock").symlink_to(victim)
    capsys.readouterr()
    assert main(["--sandbox", "--sandbox-dir", str(box)]) == ExitCode.ENVIRONMENT
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: a link in the state folder: {box / 'state' / 'run.lock'}: the sync never "
        "follows links in its state folder (it would write through them); remove the link "
        "and find out who planted it"
    ]
    assert victim.read_text() == "precious\n"
