"""Recorded HTTP (vcrpy) for the connector tests, as a pytest plugin: one cassette per test.

After PRAW's test suite: `cassettes/<connector>/<TestClass>.<test>.json`, scrubbed of secrets by
tests/fixtures/cassettes.py; a cassette test that plays back nothing fails. Three ways a cassette
test runs (`CassetteRun.mode`):

- replay: the cassette exists (or CI is set: record mode "none", a missing cassette fails). No
  emulator is started, every socket connect fails, `time.sleep` is a no-op, and every recorded
  request must be played back.
- emulators: record from the local emulators (the default when a cassette is missing, and with
  `--record-mode=rewrite --record-from=emulators`).
- real: `--record-mode=rewrite`: record against the real services with real credentials from the
  environment (names below); refuses to start without them.

A test asks for `cassette_run` (its mode, routes, config and retry policy) and `cassette` (the
active vcrpy cassette); its own fixture starts an emulator only when the mode is "emulators".
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import time
from collections.abc import Generator, Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from vcr.cassette import Cassette

from connectors.retry import RetryPolicy
from sync.config.loading import load
from sync.config.model import Config
from sync.sandbox.agency import SANDBOX_SECRETS
from tests.support.fixtures.cassettes import EMULATOR, REAL_SERVICE, Scrubber, make_vcr
from tests.support.fixtures.common import REPO, SANDBOX_CONFIG
from tests.support.fixtures.salesforce import SF_USER
from tests.support.fixtures.trello import TRELLO_KEY, TRELLO_TOKEN

CASSETTES = REPO / "cassettes"
CONNECTORS = ("salesforce", "sheets", "trello")
RECORD_MODES = ("once", "new_episodes", "none", "all", "rewrite")
# Hosts a test may be routed through in replay (`replay_via_routes`): nothing listens there, and
# nothing is sent anyway; only the recorded LOGICAL URLs matter.
DEAD_ROUTES = {
    "salesforce.com": "http://127.0.0.1:9",
    "force.com": "http://127.0.0.1:9",
    "googleapis.com": "http://127.0.0.1:9",
    "trello.com": "http://127.0.0.1:9",
}

# ----- the environment of a real recording (names; values never live in the repo) ------------
_SANDBOX = load(SANDBOX_CONFIG, sandbox=True)
SF_ENV = {
    _SANDBOX.salesforce.username_env: "<USERNAME>",
    _SANDBOX.salesforce.password_env: "<PASSWORD>",
    _SANDBOX.salesforce.security_token_env: "<SECURITY_TOKEN>",
}
SF_DOMAIN_ENV = "SANDBOX_SF_DOMAIN"  # optional: "test" for a sandbox org, or a My Domain prefix
TRELLO_ENV = {
    _SANDBOX.trello.api_key_env: "<TRELLO_KEY>",
    _SANDBOX.trello.token_env: "<TRELLO_TOKEN>",
}
GOOGLE_KEY_ENV = "SANDBOX_GOOGLE_SERVICE_ACCOUNT_FILE"
# Real ids of the sandbox sheets and boards; recorded under config/sandbox.toml's ids.
SHEET_ID_ENV = {name: f"SANDBOX_SHEETS_{name.upper()}_ID" for name in ("ds_tracker", "planner")}
BOARD_ID_ENV = {"tda": "SANDBOX_TRELLO_BOARD_TDA_ID"}
FAKE_CREDENTIALS = {
    *SANDBOX_SECRETS.values(),
    SF_USER["username"],
    SF_USER["password"],
    SF_USER["security_token"],
    TRELLO_KEY,
    TRELLO_TOKEN,
}
REAL_ENV = {
    "salesforce": [*SF_ENV],
    "sheets": [GOOGLE_KEY_ENV, *SHEET_ID_ENV.values()],
    "trello": [*TRELLO_ENV, *BOARD_ID_ENV.values()],
}


def known_secrets() -> set[str]:
    """The values a cassette must never hold: the test credentials and any real ones exported."""
    values = set(FAKE_CREDENTIALS)
    for name in [*SF_ENV, *TRELLO_ENV]:
        values.add(os.environ.get(name, ""))
    key_file = os.environ.get(GOOGLE_KEY_ENV)
    if key_file and Path(key_file).is_file():
        info = json.loads(Path(key_file).read_text(encoding="utf-8"))
        values |= {str(info.get("private_key_id", "")), str(info.get("private_key", ""))}
    return {v for v in values if v}


# ----- modes -----------------------------------------------------------------------------------
class Mode(StrEnum):
    REPLAY = "replay"
    EMULATORS = "emulators"
    REAL = "real"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def record_mode(config: pytest.Config) -> str:
    if in_ci():
        return "none"
    return str(config.getoption("--record-mode") or "once")


def record_from(config: pytest.Config) -> Mode:
    chosen = config.getoption("--record-from")
    if chosen:
        return Mode(chosen)
    return Mode.REAL if record_mode(config) == "rewrite" else Mode.EMULATORS


def cassette_path(connector: str, cls: str, test: str) -> Path:
    return CASSETTES / connector / f"{cls}.{test}.json"


def connector_of(module_name: str) -> str | None:
    m = re.fullmatch(r"(?:.*\.)?test_cassettes_(\w+)", module_name)
    return m.group(1) if m and m.group(1) in CONNECTORS else None


def missing_real_credentials(connector: str) -> list[str]:
    """What stops a recording against the real `connector`: unset or test-only values."""
    problems = []
    for name in REAL_ENV[connector]:
        value = os.environ.get(name, "")
        if not value:
            problems.append(f"{name} is not set")
        elif value in FAKE_CREDENTIALS:
            problems.append(f"{name} holds a test value, not a real credential")
    key_file = os.environ.get(GOOGLE_KEY_ENV, "")
    if connector == "sheets" and key_file:
        path = Path(key_file)
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            problems.append(f"{GOOGLE_KEY_ENV}: {path} is not a readable JSON key file")
        else:
            if info.get("type") != "service_account" or "sandbox-project" in str(
                info.get("client_email", "")
            ):
                problems.append(f"{GOOGLE_KEY_ENV}: {path} is not a real service-account key")
    return problems


@dataclasses.dataclass
class CassetteRun:
    """One cassette test: where its cassette is, how it runs, what it must keep secret."""

    connector: str
    path: Path
    mode: Mode
    record_mode: str  # vcrpy's
    scrubber: Scrubber
    via_routes: bool = False  # replay through the emulator routing adapter (dead routes)
    cassette: Cassette | None = None

    @property
    def recording(self) -> bool:
        return self.mode is not Mode.REPLAY

    def routes(self, emulator_routes: Mapping[str, str] | None) -> dict[str, str] | None:
        """Routes for the connector: the emulators', none against real hosts, dead in replay."""
        if self.mode is Mode.EMULATORS:
            return dict(emulator_routes or {})
        if self.mode is Mode.REPLAY and self.via_routes:
            return dict(DEAD_ROUTES)
        return None

    def retry(self) -> RetryPolicy:
        sleep = time.sleep if self.mode is Mode.REAL else (lambda _s: None)
        return RetryPolicy(max_attempts=3, max_wait_seconds=30, sleep=sleep)

    def configure(self, cfg: Config) -> Config:
        """Against the real services: their ids, recorded under the sandbox config's ids."""
        if self.mode is not Mode.REAL:
            return cfg
        if self.connector == "salesforce" and os.environ.get(SF_DOMAIN_ENV):
            sf = dataclasses.replace(cfg.salesforce, domain=os.environ[SF_DOMAIN_ENV])
            cfg = dataclasses.replace(cfg, salesforce=sf)
        if self.connector == "sheets":
            sheets = cfg.sheets
            for name, env in SHEET_ID_ENV.items():
                sheet = getattr(sheets, name)
                self.scrubber.know(sheet.spreadsheet_id, os.environ[env], restore=True)
                real = dataclasses.replace(sheet, spreadsheet_id=os.environ[env])
                sheets = dataclasses.replace(sheets, **{name: real})
            cfg = dataclasses.replace(cfg, sheets=sheets)
        if self.connector == "trello":
            boards = dict(cfg.trello.boards)
            for name, env in BOARD_ID_ENV.items():
                self.scrubber.know(boards[name], os.environ[env], restore=True)
                boards[name] = os.environ[env]
            cfg = dataclasses.replace(cfg, trello=dataclasses.replace(cfg.trello, boards=boards))
        return cfg

    def know_service_account(self, key_file: Path) -> None:
        info = json.loads(key_file.read_text(encoding="utf-8"))
        self.scrubber.know("<PRIVATE_KEY_ID>", str(info.get("private_key_id", "")))
        self.scrubber.know("<CLIENT_EMAIL>", str(info.get("client_email", "")))
        self.scrubber.know("<PRIVATE_KEY>", str(info.get("private_key", "")))


# ----- pytest plugin ---------------------------------------------------------------------------
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cassettes", "recorded HTTP (vcrpy)")
    group.addoption(
        "--record-mode",
        choices=RECORD_MODES,
        default=None,
        help="once (default: record a missing cassette), none (replay only; forced when CI is "
        "set), new_episodes, all, or rewrite (delete and record again, against the REAL "
        "services unless --record-from=emulators)",
    )
    group.addoption(
        "--record-from",
        choices=[Mode.EMULATORS.value, Mode.REAL.value],
        default=None,
        help="where recordings come from (default: real for rewrite, emulators otherwise)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "replay_via_routes: in replay, send through the emulator routing adapter"
    )
    if in_ci() and config.getoption("--record-mode") not in (None, "none"):
        raise pytest.UsageError("CI only replays cassettes: drop --record-mode or unset CI")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Recording against the real services refuses to start without real credentials."""
    if record_mode(config) == "none" or record_from(config) is not Mode.REAL:
        return
    selected = {
        connector
        for item in items
        if isinstance(item, pytest.Function)
        and (connector := connector_of(item.module.__name__)) is not None
    }
    problems = [f"{c}: {p}" for c in sorted(selected) for p in missing_real_credentials(c)]
    if problems:
        raise pytest.UsageError(
            "recording against the real services needs real credentials "
            "(see docs/development/cassettes.md):\n  " + "\n  ".join(problems)
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


class NetworkBlockedError(RuntimeError):
    """Replay reached for the network (not an OSError, so no client library swallows it)."""


@pytest.fixture
def cassette_run(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> CassetteRun:
    connector = connector_of(request.module.__name__)
    if connector is None or request.cls is None:
        pytest.fail(
            "cassette tests live in a class of tests/connectors/test_cassettes_<connector>.py"
        )
    path = cassette_path(connector, request.cls.__name__, request.function.__name__)
    wanted = record_mode(request.config)
    if wanted == "none" and not path.is_file():
        pytest.fail(
            f"cassette {path.relative_to(REPO)} is missing and CI only replays; record it "
            f"locally: pytest {request.node.nodeid}"
        )
    if wanted == "none" or (wanted == "once" and path.is_file()):
        mode, vcr_mode = Mode.REPLAY, "none"
    elif wanted == "rewrite":
        path.unlink(missing_ok=True)
        mode, vcr_mode = record_from(request.config), "once"
    else:
        mode, vcr_mode = record_from(request.config), wanted
    run = CassetteRun(
        connector,
        path,
        mode,
        vcr_mode,
        Scrubber(),
        via_routes=request.node.get_closest_marker("replay_via_routes") is not None,
    )
    if mode is Mode.REPLAY:
        block_network(request, monkeypatch)
        monkeypatch.setattr(time, "sleep", lambda _s: None)
    if mode is not Mode.REAL:  # the emulators' (and replay's) credentials, never real ones
        for name, value in (
            (_SANDBOX.salesforce.username_env, SF_USER["username"]),
            (_SANDBOX.salesforce.password_env, SF_USER["password"]),
            (_SANDBOX.salesforce.security_token_env, SF_USER["security_token"]),
            (_SANDBOX.trello.api_key_env, TRELLO_KEY),
            (_SANDBOX.trello.token_env, TRELLO_TOKEN),
        ):
            monkeypatch.setenv(name, value)
    for name, placeholder in {**SF_ENV, **TRELLO_ENV}.items():
        run.scrubber.know(placeholder, os.environ.get(name), restore=True)
    return run


def block_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every socket connect (and name lookup) fails for the rest of the test, and the test
    fails at teardown if one was tried, whether or not the code under test swallowed it."""
    attempts: list[str] = []

    def refuse(where: object) -> NetworkBlockedError:
        attempts.append(repr(where))
        return NetworkBlockedError(f"a replayed test tried to reach the network: {where!r}")

    def connect(_sock: socket.socket, address: object) -> None:
        raise refuse(address)

    def getaddrinfo(host: object, port: object, *_args: Any, **_kwargs: Any) -> Any:
        raise refuse((host, port))

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def check() -> None:
        if attempts:
            pytest.fail(f"replay tried to reach the network: {', '.join(attempts)}")

    request.addfinalizer(check)
    return attempts


@pytest.fixture
def cassette(request: pytest.FixtureRequest, cassette_run: CassetteRun) -> Iterator[Cassette]:
    """The test's cassette, active for the whole test; checked when the test is done."""
    run = cassette_run
    existed = run.path.is_file()
    source = REAL_SERVICE if run.mode is Mode.REAL else EMULATOR
    recorder = make_vcr(run.scrubber, run.record_mode, recorded_from=source)
    with recorder.use_cassette(str(run.path)) as cass:
        run.cassette = cass
        yield cass
    reports = request.node.stash.get(_REPORTS, {})
    if "call" not in reports or reports["call"].failed:
        if run.recording and not existed:
            run.path.unlink(missing_ok=True)  # never keep half a recording
        return
    check_cassette(cass, run)


def check_cassette(cass: Cassette, run: CassetteRun) -> None:
    """PRAW's rule: a cassette test must use its cassette; in replay, all of it."""
    name = run.path.relative_to(REPO) if run.path.is_relative_to(REPO) else run.path
    if run.recording:
        if len(cass) == 0:
            run.path.unlink(missing_ok=True)
            pytest.fail(f"{name}: the test sent no request: this can be a unit test")
        return
    if cass.play_count == 0:
        pytest.fail(f"{name}: the test played back no request: this can be a unit test")
    if not cass.all_played:
        unplayed = [
            f"{r.method} {r.uri[:120]}"
            for i, r in enumerate(cass.requests)
            if cass.play_counts[i] == 0
        ]
        pytest.fail(
            f"{name}: {len(unplayed)} recorded request(s) were not sent any more "
            f"(re-record with --record-mode=rewrite): " + "; ".join(unplayed)
        )
