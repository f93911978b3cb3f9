"""The Salesforce allocation check before a run acts (sync/allocation.py)."""

from __future__ import annotations

from sync.core.allocation import Allocation, may_spend, stop_reason


def test_a_run_within_its_share_of_what_is_left_goes_on() -> None:
    assert stop_reason(Allocation(used=14_000, limit=15_000), 800, 0.2) == ""


def test_a_run_past_its_share_of_what_is_left_stops_with_the_figures() -> None:
    why = stop_reason(Allocation(used=14_000, limit=15_000), 801, 0.2)
    assert "801" in why
    assert "1,000 of the org's 15,000 daily calls are left" in why
    assert "may use 800" in why
    assert "20%" in why
    assert "nothing was done" in why


def test_a_spent_allocation_stops_even_a_one_call_run() -> None:
    assert stop_reason(Allocation(used=15_000, limit=15_000), 1, 0.2)
    assert stop_reason(Allocation(used=15_200, limit=15_000), 1, 0.0)  # overdrawn: 0 left


def test_the_reserve_is_configurable() -> None:
    figures = Allocation(used=0, limit=1000)
    assert may_spend(figures, 0.2) == 800
    assert may_spend(figures, 0.5) == 500
    assert stop_reason(figures, 600, 0.5)
    assert not stop_reason(figures, 600, 0.2)


def test_without_figures_or_calls_there_is_nothing_to_stop() -> None:
    assert stop_reason(None, 10_000, 0.2) == ""
    assert stop_reason(Allocation(used=15_000, limit=15_000), 0, 0.2) == ""
