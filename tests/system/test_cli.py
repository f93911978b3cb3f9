"""The command line as people use it: help, usage errors, the sandbox views, `resolve`."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import re
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from sync.cli.app import main
from sync.cli.parser import build_parser
from sync.core.domain import EffectKind, EffectState
from sync.state.ledger import Ledger
from tests.support.fixtures.common import REPO
from tests.support.fixtures.sandbox import Agency
from tests.support.reliability import cli_on


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


@pytest.mark.slow  # four CLI processes
def test_sandbox_dry_run_json_then_run_then_nothing(tmp_path: Path) -> None:
    # Every effect due at once: a sandbox seeded as of 2026-11-25, run years past its
    # effective dates, so the backlog is allowed.
    where = ["--sandbox", "--sandbox-dir", str(tmp_path / "box")]
    assert cli(*where, "--as-of", "2026-11-25", "sandbox", "show").returncode == 0
    box = [*where, "--as-of", "2099-01-01", "--allow-backlog"]
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
    planned = {e["request_id"] for e in effects if e["kind"] == "simplifi_notice"}
    assert planned  # the bundled agency has cancellations: the check below cannot pass as 0 == 0
    assert len(notices) == len(planned)


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


# ----- every option does something and says what (issue 16 item 7) ------------------------------
def _parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    found = {"python -m sync": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found |= {f"python -m sync {n}": p for n, p in action.choices.items()}
    return found


def test_every_option_of_every_command_has_help_text() -> None:
    parsers = _parsers()
    assert {"run", "serve", "log", "status", "check", "resolve", "sandbox"} <= {
        n.split()[-1] for n in parsers
    }
    missing = [
        f"{name} {'/'.join(a.option_strings) or a.dest}"
        for name, p in parsers.items()
        for a in p._actions
        if not isinstance(a, argparse._SubParsersAction)
        and (not a.help or a.help == argparse.SUPPRESS)
    ]
    assert missing == []


def test_help_texts_name_what_people_look_for() -> None:
    run_help = cli("run", "--help").stdout
    for option in ("--dry-run", "--json", "--only", "--as-of"):
        assert option in run_help
    assert "change nothing anywhere" in " ".join(run_help.split())
    sandbox_help = " ".join(cli("sandbox", "--help").stdout.split())
    assert "reset: delete it" in sandbox_help
    for command in ("serve", "log", "status", "check", "resolve", "sandbox"):
        assert "--as-of" not in cli(command, "--help").stdout, command
    assert "Message-ID" in cli("resolve", "--help").stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--as-of", "2026-12-01"],
        ["--as-of", "2026-12-01", "serve"],
        ["--as-of", "2026-12-01", "status"],
        ["log", "--as-of", "2026-12-01"],
        ["check", "--as-of", "2026-12-01"],
        ["--only", "TR-00001", "status"],
        ["--dry-run", "log"],
        ["resolve", "KEY", "--sent", "--as-of", "2026-12-01"],
        ["--scenario", "x.json"],
        ["log", "--limit", "0"],
        ["sandbox", "reset", "--scenario", "x.json"],
    ],
)
def test_an_option_that_would_mean_nothing_is_a_usage_error(argv: list[str]) -> None:
    done = cli(*argv)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "usage: python -m sync" in done.stderr  # refused as usage, before any config
    assert "Traceback" not in done.stderr


def test_sandbox_show_honours_config(tmp_path: Path) -> None:
    done = cli(
        "sandbox", "show", "--sandbox-dir", str(tmp_path / "box"), "--config",
        str(tmp_path / "no-such.toml"),
    )  # fmt: skip
    assert done.returncode == 2, done.stdout
    assert "no-such.toml: config file not found" in done.stderr


# ----- one clear line, never a traceback (issue 16 item 4) ---------------------------------------
def _sandbox_config_copy(tmp_path: Path, text_change: Callable[[str], str]) -> Path:
    text = (REPO / "config" / "sandbox.toml").read_text(encoding="utf-8")
    changed = text_change(text)
    assert changed != text
    path = tmp_path / "config.toml"
    path.write_text(changed, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [[], ["serve"], ["--sandbox"]])
def test_an_unknown_timezone_is_one_line_naming_the_key(tmp_path: Path, command: list[str]) -> None:
    path = _sandbox_config_copy(
        tmp_path, lambda t: re.sub(r"(?m)^timezone = .*$", 'timezone = "Europe/Atlantis"', t)
    )
    box = ["--sandbox-dir", str(tmp_path / "box")] if "--sandbox" in command else []
    done = cli(*command, "--config", str(path), *box)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "key 'schedule.timezone'" in lines[0]
    assert "unknown time zone 'Europe/Atlantis'" in lines[0]


def test_a_config_file_with_a_latin1_byte_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = (REPO / "config" / "sandbox.toml").read_text(encoding="utf-8")
    path.write_bytes(b"# Caf\xe9 de la gare\n" + text.encode("utf-8"))
    done = cli("--config", str(path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"configuration error: {path}: not UTF-8 text: byte 0xe9 on line 1 (save the file as UTF-8)"
    ]


@pytest.mark.slow  # CLI processes
def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path: Path) -> None:
    box = ["--sandbox", "--sandbox-dir", str(tmp_path / "box")]
    assert cli(*box).returncode == 0
    for argv in (["status"], ["sandbox", "show"], ["log"]):
        with subprocess.Popen(
            [sys.executable, "-m", "sync", *box, *argv] if argv[0] != "sandbox"
            else [sys.executable, "-m", "sync", *argv, "--sandbox-dir", str(tmp_path / "box")],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ) as proc:  # fmt: skip
            assert proc.stdout is not None
            assert proc.stderr is not None
            proc.stdout.close()  # `| head -0`: the reader is gone before the first line
            err = proc.stderr.read().decode()
            code = proc.wait(timeout=60)
        assert "Traceback" not in err, (argv, err)
        assert "BrokenPipeError" not in err, (argv, err)
        assert code == 141, (argv, code, err)


# ----- missing credentials: one rule for every system (issue 16 item 5) -------------------------
def _without(agency: Agency, system: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Take one system's credential away; return the variable or file the message must name."""
    cfg = agency.config
    if system == "salesforce":
        monkeypatch.delenv(cfg.salesforce.password_env)
        return cfg.salesforce.password_env
    if system == "trello":
        monkeypatch.delenv(cfg.trello.token_env)
        return cfg.trello.token_env
    if system == "google":
        missing = str(agency.directory / "no-such-key.json")
        agency.config = dataclasses.replace(
            cfg, sheets=dataclasses.replace(cfg.sheets, service_account_file=missing)
        )
        return missing
    monkeypatch.delenv("OPS16_SMTP_USER", raising=False)
    agency.config = dataclasses.replace(
        cfg, email=dataclasses.replace(cfg.email, username_env="OPS16_SMTP_USER")
    )
    return "OPS16_SMTP_USER"


@pytest.mark.parametrize("system", ["salesforce", "google", "trello", "smtp"])
def test_a_missing_credential_is_a_configuration_error_before_any_io(
    agency: Agency, monkeypatch: pytest.MonkeyPatch, system: str
) -> None:
    named = _without(agency, system, monkeypatch)
    out, err = io.StringIO(), io.StringIO()
    with cli_on(agency) as sync_main, redirect_stdout(out), redirect_stderr(err):
        code = sync_main(["--as-of", "2026-11-25"])
    assert code == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1, err.getvalue()
    assert lines[0].startswith("configuration error: ")
    assert named in lines[0]
    assert out.getvalue() == ""
    for name in ("salesforce", "google", "trello"):
        assert agency.emulators[name].calls == [], name  # no I/O at all
    assert agency.outbox() == []  # no alert either
    assert not (agency.config.state_path / "runs.jsonl").exists()  # no run was logged


def test_each_problem_is_said_once_when_stdout_and_stderr_are_one_stream(
    agency: Agency,
) -> None:
    agency.emulators["google"].set_cell("sandbox-planner", "Cancellations & Pauses", "C1", "Kind")
    both = io.StringIO()
    with cli_on(agency) as sync_main, redirect_stdout(both), redirect_stderr(both):
        code = sync_main(["--as-of", "2026-11-25"])
    assert code == 1
    text = " ".join(both.getvalue().split())
    runlog = [
        json.loads(line)
        for line in (agency.config.state_path / "runs.jsonl").read_text().splitlines()
    ]
    findings = [r["message"] for r in runlog if r["type"] == "finding"]
    failures = [r["error"] for r in runlog if r.get("outcome") == "failed"]
    assert findings
    assert failures
    for message in findings:
        assert text.count(" ".join(message.split())) == 1, message
    # Failed effects share their reason (one header for the whole tab): one line per effect.
    for message in set(failures):
        assert text.count(" ".join(message.split())) == failures.count(message), message


def test_sandbox_withdraw_then_undo_dry_run_undo_and_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The walk-through of docs/operations/undo.md, in-process: commands and exit codes."""
    box = ["--sandbox", "--sandbox-dir", str(tmp_path / "box"), "--as-of", "2026-11-25"]
    assert main([*box]) == 0
    assert main([*box, "undo", "TR-00001"]) == 2  # still approved: refused, nothing done
    assert "--force --reason" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main([*box, "undo", "TR-00001", "--force"])
    assert usage.value.code == 2
    capsys.readouterr()
    assert main(["--sandbox-dir", str(tmp_path / "box"), "sandbox", "withdraw", "TR-00001"]) == 0
    assert main([*box]) == 0
    # The summary wraps long lines: compare words, not line breaks.
    assert "python -m sync undo TR-00001" in " ".join(capsys.readouterr().err.split())
    assert main([*box, "undo", "TR-00001", "--dry-run"]) == 0
    plan = capsys.readouterr().out
    assert "dry run: nothing was changed anywhere" in plan
    assert "Simpli.fi told to disregard the notice" in plan
    assert main([*box, "undo", "TR-00001"]) == 0
    assert "6 applied, 0 failed" in capsys.readouterr().out
    assert main([*box[:-2], "status"]) == 0
    status = capsys.readouterr().out
    assert "Undone (1):" in status
    assert "TR-00001 (Blue Ridge RV Center): undone" in status
    outbox = [p.read_text() for p in (tmp_path / "box" / "outbox").glob("*.eml")]
    assert sum("Please disregard our notice of" in m for m in outbox) == 1
