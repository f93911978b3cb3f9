"""What makes an alert's cause the same cause: counts and times do not (issue #25, item 7)."""

from __future__ import annotations

from sync.ops.alerts import cause_of


def test_counts_and_times_in_a_cause_do_not_make_it_new() -> None:
    assert cause_of("HTTP 503 after 3 attempts (waited 4.5 s)") == cause_of(
        "HTTP 503 after 5 attempts (waited 12 s)"
    )
    assert cause_of("HTTP 503 after 3 attempts") != cause_of("HTTP 403 after 3 attempts")
    assert cause_of("ledger locked by pid 41: x") == cause_of("ledger locked by pid 97: x")
