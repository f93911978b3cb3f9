"""The product's pacer (connectors/pacing.py), on a simulated clock: it never lets a window of
any limit hold more than its count, and after a 429 it waits for Retry-After or the window."""

from __future__ import annotations

import random
import threading
from bisect import bisect_left

import pytest
import requests

from connectors.pacing import Limit, Pacer, credential_id, pace_session

TRELLO = {"all": [Limit("per token", 100, 10.0), Limit("per key", 300, 10.0)]}
SHEETS = {
    "read": [Limit("per user", 60, 60.0), Limit("per project", 300, 60.0)],
    "write": [Limit("per user", 60, 60.0), Limit("per project", 300, 60.0)],
}


class SimClock:
    """Time that moves only when someone sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(0.0, seconds)


def most_in_any_window(times: list[float], seconds: float) -> int:
    """The largest number of `times` inside any half-open window (t - seconds, t]."""
    times = sorted(times)
    best = 0
    for i, t in enumerate(times):
        start = bisect_left(times, t - seconds + 1e-9)
        best = max(best, i + 1 - start)
    return best


def test_a_burst_of_a_thousand_never_puts_more_than_100_in_any_10_seconds() -> None:
    clock = SimClock()
    pacer = Pacer("trello", TRELLO, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(1000):
        pacer.acquire("all")
        sent.append(clock())
    assert most_in_any_window(sent, 10.0) == 100
    # ...and it does not wait longer than it must: ten windows for a thousand requests.
    assert sent[-1] - sent[0] == pytest.approx(90.0)


def test_random_traffic_with_idle_gaps_stays_under_every_limit() -> None:
    clock = SimClock()
    pacer = Pacer("sheets", SHEETS, clock=clock, sleep=clock.sleep)
    rng = random.Random(26)
    sent: dict[str, list[float]] = {"read": [], "write": []}
    for _ in range(2000):
        kind = rng.choice(("read", "write"))
        clock.now += rng.choices((0.0, 0.01, 0.5, 3.0, 61.0), weights=(80, 10, 5, 4, 1))[0]
        pacer.acquire(kind)
        sent[kind].append(clock())
    for times in sent.values():
        assert most_in_any_window(times, 60.0) <= 60
    assert most_in_any_window(sent["read"] + sent["write"], 60.0) > 60  # kinds are apart


def test_the_margin_widens_every_window() -> None:
    clock = SimClock()
    pacer = Pacer("trello", {"all": [Limit("per token", 2, 10.0)]}, margin=0.5, clock=clock,
                  sleep=clock.sleep)  # fmt: skip
    for _ in range(3):
        pacer.acquire("all")
    assert clock.slept == [pytest.approx(10.5)]


def test_threads_in_flight_share_one_log() -> None:
    clock = SimClock()
    pacer = Pacer("trello", {"all": [Limit("per token", 10, 10.0)]}, clock=clock,
                  sleep=clock.sleep)  # fmt: skip
    sent: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            pacer.acquire("all")
            with lock:
                sent.append(clock())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent) == 100
    assert most_in_any_window(sent, 10.0) <= 10


def test_a_request_counts_from_its_answer_so_a_slow_send_cannot_overflow_the_window() -> None:
    """The service counts a request when it arrives, between our send and its answer; a
    thread held up before its bytes left must not let the next window start early."""
    clock = SimClock()
    pacer = Pacer("trello", {"all": [Limit("per token", 2, 10.0)]}, clock=clock,
                  sleep=clock.sleep)  # fmt: skip
    first = pacer.take("all")
    pacer.take("all")
    clock.now += 3.0  # the first one's answer comes 3 s later (it may have arrived at 2.9)
    pacer.answered("all", first)
    pacer.acquire("all")
    assert clock.slept == [pytest.approx(7.0)]  # the second (sent at 0) leaves the window first
    pacer.acquire("all")
    assert clock.now == pytest.approx(1013.0)  # the first counts from its answer: 3 + 10


def test_a_429_without_retry_after_waits_for_the_whole_window_not_a_second() -> None:
    clock = SimClock()
    pacer = Pacer("sheets", SHEETS, clock=clock, sleep=clock.sleep)
    pacer.acquire("write")
    wait = pacer.refused("write", None)
    assert wait == pytest.approx(60.0)
    assert pacer.blocked_for("write") == pytest.approx(60.0)
    assert pacer.blocked_for("read") == 0.0  # the other quota is untouched
    clock.now += 20.0
    pacer.acquire("write")  # waits out the rest of the minute
    assert clock.slept == [pytest.approx(40.0)]
    assert pacer.stats()["write"] == {"waited_s": 40.0, "refusals": 1}


def test_a_429_with_retry_after_waits_what_the_service_said() -> None:
    clock = SimClock()
    pacer = Pacer("trello", TRELLO, clock=clock, sleep=clock.sleep)
    assert pacer.refused("all", 3.0) == pytest.approx(3.0)
    pacer.acquire("all")
    assert clock.slept == [pytest.approx(3.0)]


def test_an_unpaced_kind_passes_at_once() -> None:
    clock = SimClock()
    pacer = Pacer("salesforce", {}, clock=clock, sleep=clock.sleep)
    assert pacer.acquire("all") == 0.0
    assert pacer.refused("all", None) == 0.0


def test_a_limit_must_allow_something() -> None:
    with pytest.raises(ValueError, match="requests >= 1"):
        Limit("per token", 0, 10.0)


def test_credential_ids_do_not_contain_the_secret() -> None:
    ident = credential_id("key-123", "token-secret-456")
    assert "secret" not in ident
    assert ident == credential_id("key-123", "token-secret-456")
    assert ident != credential_id("key-123", "another-token")


class _Answer(requests.adapters.BaseAdapter):
    """A transport that answers every request with a fixed status (no network)."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__()
        self.status = status
        self.headers = headers or {}
        self.sent = 0

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        self.sent += 1
        r = requests.Response()
        r.status_code = self.status
        r.headers.update(self.headers)
        r.request = request
        r.url = request.url or ""
        return r

    def close(self) -> None:
        return None


def test_a_paced_session_paces_its_requests_and_learns_from_a_429() -> None:
    clock = SimClock()
    pacer = Pacer("trello", {"all": [Limit("per token", 2, 10.0)]}, clock=clock,
                  sleep=clock.sleep)  # fmt: skip
    session = requests.Session()
    answer = _Answer(429)
    session.mount("https://", answer)
    pace_session(
        session,
        pacer,
        lambda req: None if "token" in (req.url or "") else "all",
        retry_after=lambda resp: None,
    )
    session.get("https://api.trello.com/1/boards/x")
    assert pacer.blocked_for("all") == pytest.approx(10.0)  # no Retry-After: the window
    session.get("https://api.trello.com/1/boards/x")
    assert clock.slept == [pytest.approx(10.0)]
    session.get("https://oauth2.example/token")  # not paced: no wait, nothing counted
    assert clock.slept == [pytest.approx(10.0)]
    assert answer.sent == 3
