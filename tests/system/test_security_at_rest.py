"""Security at rest and on the wire: what the sync keeps on disk is readable by its owner only,
whatever the umask, and an SMTP password never goes out in clear unless a person said so.

- The state directory (ledger, run log, lock) and the sandbox folder (emulator state, the Google
  key, the outbox) are 0700 and their files 0600, even under umask 000, and a looser mode left by
  an earlier version is tightened.
- `email.security = "none"` with a login is refused by the config check (exit 2, one line naming
  the key) and by the email connector, unless `email.allow_cleartext_login = true`.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.email.connector import EmailConnector
from sync.config.loading import load
from sync.config.model import Config
from sync.errors import ConfigError
from tests.support.fixtures.common import REPO

EXAMPLE = REPO / "config" / "example.toml"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sync_cli(*args: str, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
    )


def test_state_and_sandbox_files_are_private_under_a_permissive_umask(tmp_path: Path) -> None:
    box = tmp_path / "box"
    # An earlier version left these world-readable: they are tightened, not only new files.
    (box / "state").mkdir(parents=True)
    (box / "state").chmod(0o755)
    (box / "state" / "runs.jsonl").write_text("")
    (box / "state" / "runs.jsonl").chmod(0o644)
    done = sync_cli("--sandbox", "--sandbox-dir", str(box), "--as-of", "2099-01-01", umask=0)
    assert done.returncode in (0, 1), done.stderr
    assert "applied" in done.stdout
    state = box / "state"
    expected = {
        state: 0o700,
        state / "ledger.sqlite3": 0o600,
        state / "runs.jsonl": 0o600,
        state / "run.lock": 0o600,
        box: 0o700,
        box / "google-service-account.json": 0o600,
        box / "emulators": 0o700,
        box / "outbox": 0o700,
    }
    for name in ("salesforce", "google", "trello"):
        expected[box / "emulators" / f"{name}.json"] = 0o600
        expected[box / "emulators" / f"{name}.lock"] = 0o600
    messages = sorted((box / "outbox").glob("*.eml"))
    assert messages
    expected.update(dict.fromkeys(messages, 0o600))
    found = {str(p.relative_to(tmp_path)): oct(mode(p)) for p in expected}
    assert found == {str(p.relative_to(tmp_path)): oct(m) for p, m in expected.items()}
    # Nothing else in the folder is readable by others either.
    # (But the metrics textfile: counts only, made readable on purpose for node_exporter.)
    loose = [
        str(p.relative_to(tmp_path))
        for p in box.rglob("*")
        if mode(p) & (stat.S_IRWXG | 0o7) and p.name != "metrics.prom"
    ]
    assert loose == []


def _cleartext_config(tmp_path: Path, *, allow: bool) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    old = 'security = "starttls"'
    assert old in text
    new = 'security = "none"' + ("\nallow_cleartext_login = true" if allow else "")
    path = tmp_path / "config.toml"
    state = f'state_dir = "{tmp_path / "state"}"\n'
    path.write_text(state + text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_login_over_an_unencrypted_connection_is_refused_by_the_config_check(
    tmp_path: Path,
) -> None:
    path = _cleartext_config(tmp_path, allow=False)
    for command in (["check"], []):
        done = sync_cli("--config", str(path), *command)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "email.security" in lines[0]
        assert "password in clear" in lines[0]
        assert "allow_cleartext_login" in lines[0]
        assert str(path) in lines[0]


def test_allow_cleartext_login_lets_a_local_relay_take_the_login(tmp_path: Path) -> None:
    cfg = load(_cleartext_config(tmp_path, allow=True))
    assert cfg.email.security == "none"
    assert cfg.email.allow_cleartext_login is True
    assert cfg.email.username_env == "SMTP_USERNAME"


def test_the_email_connector_refuses_it_too_when_config_is_built_in_code(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_USERNAME", "bot")
    monkeypatch.setenv("SMTP_PASSWORD", "pw")
    email = dataclasses.replace(
        config.email, security="none", username_env="SMTP_USERNAME", password_env="SMTP_PASSWORD"
    )
    with pytest.raises(ConfigError, match="password in clear"):
        EmailConnector(dataclasses.replace(config, email=email))
    # No login, or leave given: accepted.
    EmailConnector(dataclasses.replace(config, email=dataclasses.replace(email, username_env="")))
    allowed = dataclasses.replace(email, allow_cleartext_login=True)
    EmailConnector(dataclasses.replace(config, email=allowed)).close()
