"""The emulated services' own clock, when nobody hands an emulator one.

A real service stamps records (`CreatedDate`, `SystemModstamp`, Trello's action dates) and
checks token expiry with its own clock, which is the real time. An emulator does the same by
default; the sandbox and the tests hand each emulator a clock of their choosing instead, so
what it stamps agrees with the run's `--as-of` day and a test passes on any day. This module
is the one place an emulator reads the real clock (listed with the product's in sync/clock.py).
"""

from __future__ import annotations

from datetime import UTC, datetime


def service_now() -> datetime:
    """The real time, in UTC, as a service's own clock would give it."""
    return datetime.now(UTC)
