"""Bounded in-flight calls with results in input order (connectors/inflight.py). No timing:
the calls block on events the test controls, so what overlaps is decided, not measured."""

from __future__ import annotations

import threading

import pytest

from connectors.inflight import in_order


class Calls:
    """Records which calls started and how many ran at once; each waits for its release."""

    def __init__(self, n: int) -> None:
        self.release = [threading.Event() for _ in range(n)]
        self.started: list[int] = []
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, i: int) -> int:
        with self._lock:
            self.started.append(i)
            self.running += 1
            self.most = max(self.most, self.running)
        assert self.release[i].wait(timeout=10)
        with self._lock:
            self.running -= 1
        return i * i


def test_results_come_back_in_input_order_whatever_order_the_calls_finish_in() -> None:
    calls = Calls(8)
    for i in reversed(range(8)):  # the last ones are free first
        calls.release[i].set()
    assert list(in_order(calls, range(8), in_flight=3)) == [(i, i * i) for i in range(8)]


def test_never_more_than_in_flight_calls_and_never_further_ahead_than_that() -> None:
    calls = Calls(10)
    results = in_order(calls, range(10), in_flight=3)
    calls.release[0].set()
    assert next(results) == (0, 0)
    # The consumer holds item 0: items 1-3 may have started, item 4 must not have.
    assert max(calls.started) <= 3
    for event in calls.release:
        event.set()
    assert [i for i, _ in results] == list(range(1, 10))
    assert calls.most <= 3


def test_an_error_surfaces_at_its_items_turn() -> None:
    def fn(i: int) -> int:
        if i == 2:
            raise ValueError("boom at 2")
        return i

    results = in_order(fn, range(5), in_flight=2)
    assert [next(results)[0], next(results)[0]] == [0, 1]
    with pytest.raises(ValueError, match="boom at 2"):
        next(results)


def test_closing_early_cancels_what_has_not_started() -> None:
    calls = Calls(20)
    for event in calls.release:
        event.set()
    results = in_order(calls, range(20), in_flight=2)
    assert next(results) == (0, 0)
    results.close()
    assert len(calls.started) <= 3  # item 0 and at most the two in flight behind it


def test_one_in_flight_runs_on_the_callers_thread() -> None:
    threads = set()

    def fn(i: int) -> int:
        threads.add(threading.get_ident())
        return i

    assert [r for _, r in in_order(fn, range(4), in_flight=1)] == [0, 1, 2, 3]
    assert threads == {threading.get_ident()}
