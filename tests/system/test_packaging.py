"""What the package ships, and defaults that survive a config being copied anywhere.

The built wheel is installed into a fresh venv outside the repository and run from a folder that
is not the repository: the sandbox config, the scenario and the email templates must come from
the installed package, not from a checkout that happens to be the working directory.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from connectors.email.connector import EmailConnector
from connectors.email.templates import PLACEHOLDERS, Template
from sync.config import defaults
from sync.config.loading import load
from sync.errors import ConfigError
from tests.support.fixtures.common import REPO

pytestmark = pytest.mark.slow  # builds and installs a wheel

SHIPPED = ["sandbox.toml", "example.toml"] + [
    f"templates/{name}.txt" for name in PLACEHOLDERS if "." not in name
]
# Long, unlikely values: every secret read is hidden from all later log lines in this process.
SMTP_ENV = {"SMTP_USERNAME": "packaging-test-smtp-user", "SMTP_PASSWORD": "packaging-test-pw-9f3"}


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_files_are_the_config_folder_itself(name: str) -> None:
    """One copy: `sync/config/defaults/` links to `config/`, where people read and edit them."""
    shipped = Path(str(defaults.packaged(name)))
    assert shipped.resolve() == (REPO / "config" / name).resolve()


def test_every_template_the_sync_uses_is_shipped() -> None:
    on_disk = {p.name for p in Path(str(defaults.packaged("templates"))).iterdir()}
    assert {f"{n}.txt" for n in PLACEHOLDERS if "." not in n} <= on_disk


def _copied_example(tmp_path: Path) -> Path:
    """config/example.toml copied as an operator does, to an /etc-like folder of its own."""
    etc = tmp_path / "etc" / "offboarding-sync"
    etc.mkdir(parents=True)
    path = etc / "config.toml"
    shutil.copy(REPO / "config" / "example.toml", path)
    return path


def test_a_copied_config_finds_the_packaged_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "var" / "lib" / "offboarding-sync"))
    for k, v in SMTP_ENV.items():
        monkeypatch.setenv(k, v)
    cfg = load(_copied_example(tmp_path))
    EmailConnector(cfg).close()  # before: "cannot read email template" (exit 2)


def test_own_templates_replace_the_shipped_ones_file_by_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "templates"
    own.mkdir()
    (own / "alert.txt").write_text("Subject: ALERT ${subject}\n\n${body}\n", encoding="utf-8")
    loaded = Template.load_all(own, ("alert", "reminder"))
    assert loaded["alert"].render({"subject": "x", "body": "y", "problem_key": "k"}) == (
        "ALERT x",
        "y\n",
    )
    shipped = Template.load(None, "reminder")
    # Not in the folder: the shipped one.
    assert loaded["reminder"].subject.template == shipped.subject.template
    assert loaded["reminder"].body.template == shipped.body.template


def test_a_templates_dir_that_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"email\.templates_dir.*templates folder not found"):
        Template.load_all(tmp_path / "nope", ("alert",))


def test_state_dir_defaults_to_state_directory_not_beside_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copied_example(tmp_path)
    state = tmp_path / "var" / "lib" / "offboarding-sync"
    monkeypatch.setenv("STATE_DIRECTORY", f"{state}:/var/lib/other")
    cfg = load(path)
    assert cfg.state_path == state  # before: <config folder>/../state, i.e. /etc/state


def test_without_state_dir_or_state_directory_the_message_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    with pytest.raises(ConfigError) as info:
        load(_copied_example(tmp_path))
    text = str(info.value)
    assert "key 'state_dir'" in text
    assert "StateDirectory=" in text
    assert 'state_dir = "/var/lib/offboarding-sync"' in text


def test_a_state_dir_in_the_config_wins_over_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copied_example(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(f'state_dir = "{tmp_path}/mine"\n' + text, encoding="utf-8")
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "systemd"))
    assert load(path).state_path == tmp_path / "mine"


def test_the_old_second_schedule_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    text = (REPO / "config" / "sandbox.toml").read_text(encoding="utf-8")
    path.write_text(text.replace("[schedule]\n", '[schedule]\nreminders_cron = "0 8 * * *"\n'))
    with pytest.raises(ConfigError, match=r"schedule\.reminders_cron.*evaluated on every run"):
        load(path)


# ----- the wheel, installed into a fresh venv ----------------------------------------------


def _setuptools_builds_wheels() -> bool:
    return importlib.util.find_spec("setuptools.command.bdist_wheel") is not None


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the fresh venv's python, the wheel). The project is built from a clean copy of its
    sources (no stale `build/`), with this venv's setuptools (no download), and installed
    without dependencies; the dependencies come from this venv's site-packages through a
    `.pth` line, which adds the folder but not its editable install of this project (a path
    line does not run that folder's own .pth files). So the code and data that run are the
    wheel's, and the test takes seconds instead of a minute of dependency downloads."""
    if not _setuptools_builds_wheels():
        pytest.skip(
            "this venv's setuptools cannot build wheels offline (needs >= 70.1, which "
            "`pip install -e '.[dev]'` installs); not testing the wheel"
        )
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    shutil.copytree(
        REPO,
        src,
        ignore=_ignored,
    )
    dist = root / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(dist), str(src)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheel = next(dist.glob("offboarding_sync-*.whl"))
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "_test_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    return python, wheel


def _ignored(folder: str, names: list[str]) -> set[str]:
    """What the wheel build's copy of the checkout leaves out: caches, and a state folder at the
    top (a local run's), not the `sync/state` package."""
    skip = shutil.ignore_patterns(
        ".git", ".venv", ".sandbox", "build", "dist", "*.egg-info", "__pycache__", "*_cache",
        "cassettes",
    )(folder, names)  # fmt: skip
    if Path(folder) == REPO and "state" in names:
        skip.add("state")
    return set(skip)


def test_the_wheel_carries_the_configs_templates_and_scenario(
    installed: tuple[Path, Path],
) -> None:
    names = set(zipfile.ZipFile(installed[1]).namelist())
    for name in SHIPPED:
        assert f"sync/config/defaults/{name}" in names
    assert "connectors/emulators/scenarios/agency.json" in names
    assert not any(n.startswith("tests/") for n in names)


def test_the_installed_wheel_runs_the_sandbox_outside_the_repository(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    python, _wheel = installed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "STATE_DIRECTORY")}
    where = subprocess.run(
        [str(python), "-c", "import sync.config.defaults as d; print(d.__file__)"],
        cwd=elsewhere, capture_output=True, text=True, env=env, check=True,
    ).stdout  # fmt: skip
    assert str(python.parent.parent) in where, where  # the wheel's code, not the checkout's
    box = tmp_path / "box"
    done = subprocess.run(
        [str(python), "-m", "sync", "--sandbox", "--sandbox-dir", str(box)],
        cwd=elsewhere, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    # Before: "configuration error: ...config/sandbox.toml: config file not found" (exit 2).
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 failed" in done.stdout
    assert "applied" in done.stdout.splitlines()[0]
    assert list((box / "outbox").glob("*.eml"))  # the packaged templates rendered real mail
    assert not (elsewhere / "state").exists()
