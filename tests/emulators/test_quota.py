"""The emulators' rate limits (connectors/emulators/quota.py) on a simulated clock: Trello's
sliding 10-s windows per token and per key, Sheets' fixed minute windows, the time scale."""

from __future__ import annotations

import pytest

from connectors.emulators.quota import SHEETS_WINDOWS, TRELLO_WINDOWS, QuotaGate

TOKEN = "API_TOKEN_LIMIT_EXCEEDED"
KEY = "API_KEY_LIMIT_EXCEEDED"
WRITE_USER = "WriteRequestsPerMinutePerUser"
WRITE_PROJECT = "WriteRequestsPerMinutePerProject"


class SimClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def trello(gate: QuotaGate, token: str = "t1", key: str = "k1") -> str | None:
    return gate.admit({TOKEN: token, KEY: key})


def test_trello_refuses_the_101st_request_of_a_token_within_10_seconds() -> None:
    clock = SimClock()
    gate = QuotaGate(TRELLO_WINDOWS, clock=clock)
    assert all(trello(gate) is None for _ in range(100))
    assert trello(gate) == TOKEN
    assert gate.retry_in(TOKEN, "t1") == pytest.approx(10.0)
    clock.now = 9.99
    assert trello(gate) == TOKEN  # still inside the window of the first hundred
    clock.now = 10.0
    assert trello(gate) is None  # the first ones left the window
    assert gate.refused == {TOKEN: 2}
    assert gate.peak[TOKEN] == 100


def test_trello_counts_the_key_across_its_tokens() -> None:
    gate = QuotaGate(TRELLO_WINDOWS, clock=SimClock())
    for token in ("t1", "t2", "t3"):
        assert all(trello(gate, token) is None for _ in range(100))
    assert trello(gate, "t4") == KEY  # a fresh token, but the key has had its 300
    assert trello(gate, "t5", key="k2") is None


def test_a_refused_request_is_not_counted() -> None:
    clock = SimClock()
    gate = QuotaGate(TRELLO_WINDOWS, clock=clock)
    for _ in range(100):
        trello(gate)
    for _ in range(50):
        assert trello(gate) == TOKEN
    clock.now = 10.0
    assert all(trello(gate) is None for _ in range(100))


def test_sheets_refuses_until_the_minute_rolls_over_however_long_the_client_waited() -> None:
    clock = SimClock()
    gate = QuotaGate(SHEETS_WINDOWS, clock=clock)
    writes = {WRITE_USER: "sa@example", WRITE_PROJECT: "project"}
    clock.now = 30.0
    assert all(gate.admit(writes) is None for _ in range(60))
    assert gate.admit(writes) == WRITE_USER
    clock.now = 31.0  # a one-second backoff is refused again
    assert gate.admit(writes) == WRITE_USER
    assert gate.retry_in(WRITE_USER, "sa@example") == pytest.approx(29.0)
    clock.now = 60.0  # the next minute: refilled at once
    assert gate.admit(writes) is None
    # Reads have their own quota.
    assert gate.admit({"ReadRequestsPerMinutePerUser": "sa@example"}) is None


def test_the_project_quota_is_shared_by_its_users() -> None:
    gate = QuotaGate(SHEETS_WINDOWS, clock=SimClock())
    for user in range(5):
        for _ in range(60):
            assert gate.admit({WRITE_USER: f"u{user}", WRITE_PROJECT: "p"}) is None
    assert gate.admit({WRITE_USER: "u9", WRITE_PROJECT: "p"}) == WRITE_PROJECT


def test_the_time_scale_shrinks_windows_and_latency_alike() -> None:
    clock = SimClock()
    gate = QuotaGate(TRELLO_WINDOWS, time_scale=0.01, latency=0.15, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        trello(gate)
    assert trello(gate) == TOKEN
    clock.now = 0.1  # Trello's 10 s at a hundredth
    assert trello(gate) is None
    gate.delay()
    assert clock.slept == [pytest.approx(0.0015)]


def test_no_latency_sleeps_nothing() -> None:
    clock = SimClock()
    QuotaGate(TRELLO_WINDOWS, clock=clock, sleep=clock.sleep).delay()
    assert clock.slept == []
    with pytest.raises(ValueError, match="time_scale"):
        QuotaGate(TRELLO_WINDOWS, time_scale=0)
