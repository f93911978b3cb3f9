"""The heartbeat (dead man's switch) against a local HTTP monitor on 127.0.0.1.

Real runs of the sandbox agency ping `<url>/start`, then `<url>` or `<url>/fail` with the run's
paragraph. A monitor that answers 500, refuses connections or hangs never fails a run or holds
it longer than the heartbeat's timeout. And with the sync stopped, a model of the monitor on a
simulated clock turns "down" once the last success is older than the schedule allows.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sync.cli.runner import unlocked_run
from sync.cli.serve import cron_trigger
from sync.config.model import Config, HeartbeatConfig
from sync.config.secrets import secrets_read
from sync.engine.request import RunRequest
from sync.errors import ConfigError, CredentialError
from sync.ops.heartbeat import Heartbeat, redact
from tests.support.fixtures.sandbox import SEEDED_ON, Agency

TOKEN = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@dataclasses.dataclass
class Ping:
    path: str
    body: str
    at: float


class Monitor:
    """A local stand-in for healthchecks.io: records every ping; `status` answers (500 for
    the first `fail_first` pings)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.pings: list[Ping] = []
        self.fail_first = fail_first
        monitor = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode("utf-8")
                monitor.pings.append(Ping(self.path, body, time.monotonic()))
                status = 500 if len(monitor.pings) <= monitor.fail_first else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{TOKEN}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self) -> list[str]:
        return [p.path.removeprefix(f"/{TOKEN}") or "(success)" for p in self.pings]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Hanging:
    """Accepts connections and never answers a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/{TOKEN}"

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def monitor() -> Iterator[Monitor]:
    m = Monitor()
    yield m
    m.close()


@pytest.fixture
def hanging() -> Iterator[Hanging]:
    h = Hanging()
    yield h
    h.close()


def with_heartbeat(cfg: Config, url: str, timeout: float = 5.0) -> Config:
    return dataclasses.replace(cfg, heartbeat=HeartbeatConfig(url=url, timeout_seconds=timeout))


def test_a_good_run_pings_start_then_success_with_its_paragraph(
    agency: Agency, monitor: Monitor
) -> None:
    cfg = with_heartbeat(agency.config, monitor.url)
    result = unlocked_run(
        cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON)
    )
    assert result.exit_code == 0
    assert monitor.paths() == ["/start", "(success)"]
    body = monitor.pings[1].body
    assert body.startswith(f"Run {result.run_id} as of {SEEDED_ON:%Y-%m-%d} (exit code 0): ")
    assert f"{result.counts['applied']} applied" in body
    assert "\n" not in body


def test_a_run_stopped_by_a_missing_credential_pings_fail_with_why(
    agency: Agency, monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SANDBOX_SF_PASSWORD")
    cfg = with_heartbeat(agency.config, monitor.url)
    with pytest.raises(CredentialError):  # exit 2 in the CLI: nothing was done
        unlocked_run(cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON))
    assert monitor.paths() == ["/start", "/fail"]
    assert "could not run" in monitor.pings[1].body
    assert "SANDBOX_SF_PASSWORD" in monitor.pings[1].body


def test_a_run_that_cannot_even_set_up_pings_fail_and_raises_as_before(
    agency: Agency, monitor: Monitor, tmp_path: Path
) -> None:
    email = dataclasses.replace(agency.config.email, templates_dir=str(tmp_path / "nope"))
    cfg = dataclasses.replace(with_heartbeat(agency.config, monitor.url), email=email)
    with pytest.raises(ConfigError):
        unlocked_run(cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON))
    assert monitor.paths() == ["/start", "/fail"]
    assert "templates folder not found" in monitor.pings[1].body


def test_a_run_with_a_failed_effect_pings_fail(agency: Agency, monitor: Monitor) -> None:
    email = dataclasses.replace(agency.config.email, port=1)  # nothing listens: sends fail
    cfg = dataclasses.replace(with_heartbeat(agency.config, monitor.url), email=email)
    cfg = dataclasses.replace(cfg, retry=dataclasses.replace(cfg.retry, max_attempts=1))
    result = unlocked_run(
        cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON)
    )
    assert result.exit_code == 1
    assert monitor.paths() == ["/start", "/fail"]
    assert "(exit code 1)" in monitor.pings[1].body


def test_a_monitor_answering_500_is_asked_again_within_the_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flaky = Monitor(fail_first=2)
    try:
        assert Heartbeat(flaky.url, timeout_seconds=5, retries=2).success("ok")
        assert len(flaky.pings) == 3
        flaky.pings.clear()
        flaky.fail_first = 10
        caplog.set_level(logging.DEBUG)
        assert not Heartbeat(flaky.url, timeout_seconds=5, retries=1).fail("x")
        assert len(flaky.pings) == 2
    finally:
        flaky.close()
    assert "HTTP 500" in caplog.text
    assert TOKEN not in caplog.text  # the token URL is never logged
    assert redact(flaky.url) in caplog.text


def test_a_hanging_monitor_costs_at_most_the_timeout_per_ping(
    hanging: Hanging, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    beat = Heartbeat(hanging.url, timeout_seconds=0.5, retries=2)
    t0 = time.monotonic()
    assert beat.start() is False
    took = time.monotonic() - t0
    assert 0.4 < took < 1.0, took
    # Whichever comes first: the socket's own timeout or the run giving up waiting.
    assert "no answer within 0.5 s" in caplog.text or "timed out" in caplog.text
    assert TOKEN not in caplog.text


def test_a_hanging_monitor_never_fails_or_holds_a_run(agency: Agency, hanging: Hanging) -> None:
    cfg = with_heartbeat(agency.config, hanging.url, timeout=0.5)
    t0 = time.monotonic()
    quiet = unlocked_run(
        agency.config, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON)
    )
    plain = time.monotonic() - t0
    t0 = time.monotonic()
    result = unlocked_run(
        cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON)
    )
    took = time.monotonic() - t0
    assert quiet.exit_code == 0
    assert result.exit_code == 0
    assert result.fatal == ""
    # Two pings (start, end), each abandoned after 0.5 s; a run of its own takes `plain` or
    # less (the second run has nothing left to do).
    assert took < plain + 2 * 0.5 + 1.0, (took, plain)


def test_a_refused_connection_is_not_an_error_for_the_run(agency: Agency) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    cfg = with_heartbeat(agency.config, f"http://127.0.0.1:{port}/{TOKEN}", timeout=0.5)
    assert (
        unlocked_run(
            cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON)
        ).exit_code
        == 0
    )


def test_the_url_can_come_from_the_environment_and_is_hidden_from_logs(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"https://hc-ping.com/{TOKEN}"
    monkeypatch.setenv("HB_URL", url)
    cfg = dataclasses.replace(config, heartbeat=HeartbeatConfig(url_env="HB_URL"))
    beat = Heartbeat.from_config(cfg)
    assert beat is not None
    assert beat.url == url
    assert url in secrets_read()  # the CLI's log filter replaces it wherever it appears
    assert redact(url) == "https://hc-ping.com/***"
    monkeypatch.delenv("HB_URL")
    assert Heartbeat.from_config(cfg) is None  # unset: no pings, a warning, the run goes on


# ----- would a monitor notice? ----------------------------------------------------------


class CheckModel:
    """What healthchecks.io does with the pings, on a clock the test controls: a check is
    "down" when its last ping was a failure, or when no success came within the period plus
    the grace time (it then alerts; the sync cannot, being stopped)."""

    def __init__(self, period: timedelta, grace: timedelta) -> None:
        self.period, self.grace = period, grace
        self.last_success: datetime | None = None
        self.last_kind = ""

    def ping(self, path: str, at: datetime) -> None:
        kind = path.rsplit("/", 1)[-1]
        if kind == "start":
            return
        self.last_kind = kind
        if kind == TOKEN:
            self.last_success = at

    def status(self, now: datetime) -> str:
        if self.last_kind == "fail":
            return "down"
        if self.last_success is None or now - self.last_success > self.period + self.grace:
            return "down"
        return "up"


def longest_gap(cron: str, timezone: str, start: datetime) -> timedelta:
    """The period a monitor must allow: the longest gap between two scheduled runs in a week."""
    trigger: Any = cron_trigger(cron, timezone)
    fires = [trigger.get_next_fire_time(None, start)]
    while fires[-1] < start + timedelta(days=7):
        fires.append(trigger.get_next_fire_time(fires[-1], fires[-1] + timedelta(seconds=1)))
    return max(b - a for a, b in itertools.pairwise(fires))


def test_when_the_sync_stops_the_monitor_notices_on_a_simulated_clock(
    agency: Agency, monitor: Monitor
) -> None:
    cfg = with_heartbeat(agency.config, monitor.url)
    t0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    period = longest_gap(cfg.schedule.cron, cfg.schedule.timezone, t0)
    assert period == timedelta(minutes=15)
    grace = timedelta(seconds=cfg.schedule.misfire_grace_seconds)
    check = CheckModel(period, grace)
    now = t0
    for _ in range(3):  # three runs on schedule, each pinging the real listener
        seen = len(monitor.pings)
        unlocked_run(cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON))
        for ping in monitor.pings[seen:]:
            check.ping(ping.path, now)
        assert check.status(now) == "up"
        now += period
    last_success = now - period
    # The sync stops here: no more runs, no more pings. Nothing is sent by anybody.
    pings_before = len(monitor.pings)
    assert check.status(last_success + period + grace) == "up"
    assert check.status(last_success + period + grace + timedelta(seconds=1)) == "down"
    assert len(monitor.pings) == pings_before
