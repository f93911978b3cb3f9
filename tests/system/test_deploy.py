"""The recipes in deploy/, exercised as far as this machine allows.

- cron: the real line from deploy/cron/offboarding-sync runs under /bin/sh with cron's bare
  environment and a secrets file; the variables arrive with their exact values, the output goes
  to the log (so cron mails nothing), and a missing secrets file is what cron mails.
- systemd: `systemd-analyze verify` and `systemd-analyze security --offline` on the units.
- the example deployment: config/example.toml and deploy/secrets.env.example filled in as
  docs/operations/deployment.md says, then `check` through the cron line against the
  sandbox's emulators.
- the container: the Dockerfile and compose file agree on the mounts; the image itself is built
  only where a Docker engine answers (not on this project's machines).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from sync.cli.serve import cron_trigger
from sync.sandbox.agency import SANDBOX_SECRETS
from tests.support.fixtures.common import REPO

DEPLOY = REPO / "deploy"
CRON_FILE = DEPLOY / "cron" / "offboarding-sync"
UNITS = DEPLOY / "systemd"
BINARY = "/opt/offboarding-sync/venv/bin/offboarding-sync"
# A password as people choose them: what a plain `. file`, `env $(cat file)` or an unquoted
# docker env file would mangle.
TRICKY = 'pa$$ w#rd;`x` "q" $HOME'


def cron_file() -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """(environment lines, [(schedule, user, command)]) of an /etc/cron.d file."""
    env: dict[str, str] = {}
    jobs: list[tuple[str, str, str]] = []
    for line in CRON_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if re.match(r"^[A-Z_]+=", line):
            name, _, value = line.partition("=")
            env[name] = value
            continue
        fields = line.split(None, 6)
        jobs.append((" ".join(fields[:5]), fields[5], fields[6]))
    return env, jobs


def run_cron_line(
    tmp_path: Path, secrets: Path | None, program: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The job's command, with the install paths pointed into `tmp_path`, run the way cron
    runs it: `/bin/sh -c`, with only cron's own variables and the file's."""
    env_lines, jobs = cron_file()
    (_schedule, _user, command) = jobs[0]
    log = tmp_path / "log" / "sync.log"
    log.parent.mkdir(exist_ok=True)
    command = command.replace(
        "/etc/offboarding-sync/secrets.env", str(secrets or tmp_path / "missing.env")
    )
    command = command.replace(BINARY, program)
    command = command.replace("/var/log/offboarding-sync/sync.log", str(log))
    assert BINARY not in command
    assert "/etc/offboarding-sync" not in command
    assert "/var/log" not in command
    env = {"HOME": str(tmp_path), "LOGNAME": "offboarding-sync", **env_lines}
    env["PATH"] = f"{Path(sys.executable).parent}:{env_lines['PATH']}"
    done = subprocess.run(
        [env_lines["SHELL"], "-c", command],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done, log


def write_secrets(path: Path, values: dict[str, str]) -> Path:
    """KEY='value' lines, as deploy/secrets.env.example asks."""
    path.write_text("".join(f"{k}='{v}'\n" for k, v in values.items()), encoding="utf-8")
    return path


FAKE = """#!/bin/sh
# Prints which variables arrived, and a hash of each value, never a value.
for name in SF_USERNAME SF_PASSWORD SF_SECURITY_TOKEN TRELLO_API_KEY TRELLO_TOKEN \\
            OFFBOARDING_SYNC_CONFIG GOOGLE_APPLICATION_CREDENTIALS; do
    eval "value=\\${$name-}"
    if [ -n "${value}" ]; then
        printf '%s %s\\n' "$name" "$(printf '%s' "$value" | sha256sum | cut -c1-16)"
    fi
done
"""


def _h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def test_the_cron_line_exports_the_secrets_under_bin_sh_and_logs_instead_of_mailing(
    tmp_path: Path,
) -> None:
    fake = tmp_path / "fake-sync"
    fake.write_text(FAKE, encoding="utf-8")
    fake.chmod(0o755)
    values = {
        "SF_USERNAME": "sync@agency.example",
        "SF_PASSWORD": TRICKY,
        "SF_SECURITY_TOKEN": "tok#en",
        "TRELLO_API_KEY": "k",
        "TRELLO_TOKEN": "t",
    }
    secrets = write_secrets(tmp_path / "secrets.env", values)
    done, log = run_cron_line(tmp_path, secrets, str(fake))
    assert done.returncode == 0, done.stderr
    assert done.stdout == done.stderr == ""  # nothing for cron to mail
    arrived = dict(line.split(" ", 1) for line in log.read_text().splitlines())
    for name, value in values.items():
        assert arrived.get(name) == _h(value), name
    env_lines, _jobs = cron_file()
    assert arrived["OFFBOARDING_SYNC_CONFIG"] == _h("/etc/offboarding-sync/config.toml")
    assert arrived["GOOGLE_APPLICATION_CREDENTIALS"] == _h(
        env_lines["GOOGLE_APPLICATION_CREDENTIALS"]
    )
    assert TRICKY not in log.read_text()


def test_the_old_readme_line_started_the_sync_with_no_secrets(tmp_path: Path) -> None:
    """Why the cron file says `set -a`: dash's `.` alone does not export plain KEY=value."""
    fake = tmp_path / "fake-sync"
    fake.write_text(FAKE, encoding="utf-8")
    fake.chmod(0o755)
    secrets = write_secrets(tmp_path / "secrets.env", {"SF_PASSWORD": "x"})
    done = subprocess.run(
        ["/bin/sh", "-c", f". {secrets} && {fake}"],
        env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "SF_PASSWORD" not in done.stdout


def test_a_missing_secrets_file_is_what_cron_mails(tmp_path: Path) -> None:
    done, log = run_cron_line(tmp_path, None, "/bin/true")
    assert done.returncode != 0
    assert "missing.env" in done.stderr  # printed to cron, which mails it to MAILTO
    assert not log.exists()


def test_one_cron_line_runs_every_day_and_nothing_collides() -> None:
    env, jobs = cron_file()
    assert env["SHELL"] == "/bin/sh"
    assert env["MAILTO"]  # set on purpose: only what the line itself prints is mailed
    assert len(jobs) == 1, "one line: a second one collides with it on the lock (exit 4)"
    schedule, user, command = jobs[0]
    assert user == "offboarding-sync"
    assert ">>/var/log/offboarding-sync/sync.log 2>&1" in command
    assert "%" not in command  # cron turns % into a newline
    trigger = cron_trigger(schedule, "UTC")
    start = datetime(2026, 11, 23, tzinfo=ZoneInfo("UTC"))  # a Monday
    fires: list[datetime] = []
    t = trigger.get_next_fire_time(None, start)  # type: ignore[attr-defined]
    while t < start + timedelta(days=7):
        fires.append(t)
        t = trigger.get_next_fire_time(t, t + timedelta(seconds=1))  # type: ignore[attr-defined]
    assert {f.weekday() for f in fires} == set(range(7))  # reminders can go out every day
    assert max(b - a for a, b in itertools.pairwise(fires)) == timedelta(minutes=15)


# ----- systemd ---------------------------------------------------------------------------


def _units_with_real_binary(tmp_path: Path) -> list[Path]:
    """The units as shipped, with ExecStart pointed at this venv's console script (verify
    refuses a command that does not exist)."""
    program = shutil.which("offboarding-sync", path=str(Path(sys.executable).parent))
    assert program, "the console script of this venv"
    out = []
    for unit in sorted(UNITS.glob("*.service")) + sorted(UNITS.glob("*.timer")):
        target = tmp_path / unit.name
        target.write_text(unit.read_text(encoding="utf-8").replace(BINARY, program))
        out.append(target)
    return out


def _systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed here; the units are not verified")
    return tool


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    tool = _systemd_analyze()
    units = _units_with_real_binary(tmp_path)
    done = subprocess.run(
        [tool, "verify", *map(str, units)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.strip() == "", done.stderr


@pytest.mark.parametrize("unit", ["offboarding-sync.service", "offboarding-sync-serve.service"])
def test_the_services_are_hardened(tmp_path: Path, unit: str) -> None:
    tool = _systemd_analyze()
    _units_with_real_binary(tmp_path)
    done = subprocess.run(
        [tool, "security", "--offline=yes", str(tmp_path / unit)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert found, done.stdout[-2000:] + done.stderr
    # 0 is fully locked down, 10 is a plain root service; "OK" ends at 2.9 in its scale.
    assert float(found.group(1)) <= 2.0, done.stdout


def test_the_units_run_as_a_service_user_with_its_own_directories() -> None:
    for name in ("offboarding-sync.service", "offboarding-sync-serve.service"):
        text = (UNITS / name).read_text(encoding="utf-8")
        for line in (
            "User=offboarding-sync",
            "StateDirectory=offboarding-sync",
            "ConfigurationDirectory=offboarding-sync",
            "EnvironmentFile=/etc/offboarding-sync/secrets.env",
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
        ):
            assert f"\n{line}\n" in text, (name, line)
    serve = (UNITS / "offboarding-sync-serve.service").read_text(encoding="utf-8")
    assert "\n[Install]\nWantedBy=multi-user.target\n" in serve  # `systemctl enable` works
    assert "Conflicts=offboarding-sync.timer" in serve
    timer = (UNITS / "offboarding-sync.timer").read_text(encoding="utf-8")
    assert len(re.findall(r"(?m)^OnCalendar=", timer)) == 1
    sysusers = (UNITS / "offboarding-sync.sysusers").read_text(encoding="utf-8")
    assert re.search(r"(?m)^u offboarding-sync ", sysusers)


# ----- the example deployment, checked against the sandbox --------------------------------

SANDBOX_IDS = {
    "REPLACE-WITH-DS-TRACKER-SPREADSHEET-ID": "sandbox-ds-tracker",
    "REPLACE-WITH-ARI-TRACKER-SPREADSHEET-ID": "sandbox-ari-tracker",
    "REPLACE-WITH-PLANNER-SPREADSHEET-ID": "sandbox-planner",
    "REPLACE-WITH-MONTHLY-SPREADSHEET-ID": "sandbox-monthly",
    "REPLACE-WITH-OFFBOARDING-SPREADSHEET-ID": "sandbox-offboarding",
    "REPLACE-WITH-TDA-BOARD-ID": "5f00000000000000000000a1",
    "REPLACE-WITH-DESIGN-BOARD-ID": "5f00000000000000000000b2",
}


def test_the_example_deployment_passes_check_against_the_sandbox(tmp_path: Path) -> None:
    """Follow docs/operations/deployment.md: copy config/example.toml to
    /etc/offboarding-sync/config.toml, fill in the ids; fill deploy/secrets.env.example in;
    then the cron line runs `check` (pointed at the sandbox's emulators, which accept the
    sandbox's credentials)."""
    etc = tmp_path / "etc"
    etc.mkdir()
    text = (REPO / "config" / "example.toml").read_text(encoding="utf-8")
    for placeholder, value in SANDBOX_IDS.items():
        text = text.replace(placeholder, value)
    # cron has no StateDirectory=: the deployment page's steps uncomment state_dir.
    line = '# state_dir = "/var/lib/offboarding-sync"'
    assert line in text
    text = text.replace(line, f'state_dir = "{tmp_path}/var/lib/offboarding-sync"')
    assert not re.search(r"(?m)^[^#]*REPLACE-WITH", text)
    config = etc / "config.toml"
    config.write_text(text, encoding="utf-8")
    example = (DEPLOY / "secrets.env.example").read_text(encoding="utf-8")
    real = {
        "SF_USERNAME": SANDBOX_SECRETS["SANDBOX_SF_USERNAME"],
        "SF_PASSWORD": SANDBOX_SECRETS["SANDBOX_SF_PASSWORD"],
        "SF_SECURITY_TOKEN": SANDBOX_SECRETS["SANDBOX_SF_SECURITY_TOKEN"],
        "TRELLO_API_KEY": SANDBOX_SECRETS["SANDBOX_TRELLO_API_KEY"],
        "TRELLO_TOKEN": SANDBOX_SECRETS["SANDBOX_TRELLO_TOKEN"],
    }
    lines = []
    for line in example.splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}='{real[name]}'" if name in real else line)
    secrets = etc / "secrets.env"
    secrets.write_text("\n".join(lines) + "\n", encoding="utf-8")
    wrapper = tmp_path / "offboarding-sync"
    wrapper.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -m sync check --sandbox --sandbox-dir '
        f'"{tmp_path / "box"}" --config "{config}"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    done, log = run_cron_line(tmp_path, secrets, str(wrapper))
    out = log.read_text(encoding="utf-8")
    assert done.returncode == 0, out
    assert f"config: {config}: valid" in out
    assert out.rstrip().endswith("all good"), out
    for system in ("salesforce", "sheets", "trello", "email"):
        assert re.search(rf"(?m)^{system}: ok", out), out


# ----- the container ------------------------------------------------------------------------


def test_the_image_runs_as_a_user_and_bakes_no_deployment_in() -> None:
    docker = (DEPLOY / "docker" / "Dockerfile").read_text(encoding="utf-8")
    final = docker.split("\nFROM ")[-1]  # the image that ships, not the build stage
    user = re.findall(r"(?m)^USER (\S+)", final)
    assert user
    assert user[-1].split(":")[0] not in ("0", "root")
    copies = re.findall(r"(?m)^COPY (.*)$", final)
    assert copies == ["--from=build /wheels /wheels"]  # the final image gets the wheels only
    built = re.findall(r"(?m)^COPY (.*)$", docker.split("\nFROM ")[0])
    assert not any("config.toml" in c or ".json" in c or ".env" in c for c in built)
    env = dict(
        re.findall(
            r"(STATE_DIRECTORY|OFFBOARDING_SYNC_CONFIG|GOOGLE_APPLICATION_CREDENTIALS)=(\S+)", final
        )
    )
    compose = yaml.safe_load((DEPLOY / "docker" / "compose.yaml").read_text(encoding="utf-8"))
    svc = compose["services"]["sync"]
    assert svc["user"].split(":")[0] == user[-1].split(":")[0]
    mounts = {v.split(":")[1]: v for v in svc["volumes"]}
    assert mounts["/config"].endswith(":ro")
    assert env["OFFBOARDING_SYNC_CONFIG"].startswith("/config/")
    assert env["STATE_DIRECTORY"] in mounts
    secret = svc["secrets"][0]
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == f"/run/secrets/{secret}"
    assert svc["env_file"] == ["./secrets.env"]
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    for pattern in ("config/config.toml", "**/*.env", "**/*service_account*.json", ".sandbox"):
        assert pattern in ignored


def test_the_image_builds_where_a_docker_engine_answers(tmp_path: Path) -> None:
    tool = shutil.which("docker")
    if tool is None or subprocess.run([tool, "info"], capture_output=True, check=False).returncode:
        pytest.skip("no Docker engine here: the image is not built (see deployment.md#container)")
    done = subprocess.run(
        [tool, "build", "-f", str(DEPLOY / "docker" / "Dockerfile"), "-t",
         "offboarding-sync:test", str(REPO)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    who = subprocess.run(
        [tool, "run", "--rm", "--entrypoint", "id", "offboarding-sync:test", "-u"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert who.stdout.strip() == "10001"
