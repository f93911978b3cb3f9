"""The command line as people use it: help, usage errors, the sandbox views, `resolve`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sync.cli import main
from sync.domain import EffectKind, EffectState
from sync.ledger import Ledger
from tests.fixtures.common import REPO


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help_lists_commands_and_exit_codes() -> None:
    done = cli("--help")
    assert done.returncode == 0
    for word in ("serve", "status", "check", "--dry-run", "--as-of", "exit codes"):
        assert word in done.stdout


def test_json_without_dry_run_is_a_usage_error() -> None:
    done = cli("--json")
    assert done.returncode == 2
    assert "--json goes with --dry-run" in done.stderr


def test_no_config_says_what_to_do(tmp_path: Path) -> None:
    done = cli(cwd=tmp_path)
    assert done.returncode == 2
    assert "no config file at config/config.toml" in done.stderr
    assert "python -m sync --sandbox" in done.stderr
    assert "Traceback" not in done.stderr


def test_sandbox_dry_run_json_then_run_then_nothing(tmp_path: Path) -> None:
    box = ["--sandbox", "--sandbox-dir", str(tmp_path / "box"), "--as-of", "2099-01-01"]
    plan = cli(*box, "--dry-run", "--json")
    assert plan.returncode == 0, plan.stderr
    effects = json.loads(plan.stdout)
    assert {"key", "kind", "request_id", "target", "not_before"} <= set(effects[0])
    assert not (tmp_path / "box" / "state").exists()  # the dry run wrote no state
    assert cli(*box).returncode == 0
    assert json.loads(cli(*box, "--dry-run", "--json").stdout) == []
    notices = [
        p
        for p in (tmp_path / "box" / "outbox").glob("*.eml")
        if "Please be advised" in p.read_text()
    ]
    assert len(notices) == len({e["request_id"] for e in effects if e["kind"] == "simplifi_notice"})


def test_sandbox_show_prints_sheets_boards_and_outbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = ["--sandbox", "--sandbox-dir", str(tmp_path / "box")]
    assert main([*box]) == 0
    capsys.readouterr()
    assert main([*box, "sandbox", "show"]) == 0
    out = capsys.readouterr().out
    assert "== DS TDA Client Tracker / Clients" in out
    assert "== Trello: Targeted Digital Advertising" in out
    assert "Cancellation notice: " in out
    assert "== Salesforce: Takedown Requests" in out


def test_resolve_settles_an_unconfirmed_send(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = ["--sandbox", "--sandbox-dir", str(tmp_path / "box")]
    assert main([*box]) == 0
    ledger = Ledger(tmp_path / "box" / "state" / "ledger.sqlite3")
    key = next(r.key for r in ledger.rows() if r.kind == EffectKind.SIMPLIFI_NOTICE)
    # As a crash mid-send would leave it:
    ledger._db.execute("UPDATE effects SET state = 'sending' WHERE key = ?", (key,))
    ledger.close()
    capsys.readouterr()
    assert main([*box, "status"]) == 0
    assert f"python -m sync resolve {key} --sent" in " ".join(capsys.readouterr().out.split())
    assert main([*box, "resolve", key, "--sent"]) == 0
    assert "recorded as sent" in capsys.readouterr().out
    ledger = Ledger(tmp_path / "box" / "state" / "ledger.sqlite3")
    row = ledger.get(key)
    ledger.close()
    assert row is not None
    assert row.state is EffectState.APPLIED
    assert main([*box, "resolve", key, "--sent"]) == 2  # not unconfirmed any more
