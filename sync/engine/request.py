"""What one run is asked to do, as one value (`RunRequest`) handed down whole.

The CLI, `serve` and the tests decide a run's options once (the day, one request or all, a dry
run, the backlog and adoption switches, an undo, how to notice a shutdown, the clock and its
sleep) and pass this value to the runner and the engine, instead of the same keyword arguments
repeated through five layers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from sync.clock import SYSTEM as SYSTEM_CLOCK
from sync.clock import Clock


def _never() -> bool:
    return False


@dataclass(frozen=True)
class UndoAsk:
    """`python -m sync undo REQUEST`: undo one request (`only` names it)."""

    reason: str = ""
    forced: bool = False


@dataclass(frozen=True)
class RunRequest:
    """One run's options. `today` is the run's day (`--as-of`, or the clock's day in the
    agency's timezone); instants and the retries' sleep come from `clock`."""

    today: date
    only: str | None = None  # one request (`--only`, `undo`), or all
    dry_run: bool = False  # plan only: nothing is written anywhere
    verify: bool = False  # a dry run also reads each due effect's target back, read-only
    allow_backlog: bool = False  # past the safety valve (`--allow-backlog`)
    include_adopted: bool = False  # an adopted request is acted on (`--include-adopted`)
    undo: UndoAsk | None = None  # `undo REQUEST`: reverse that request's work
    stop: Callable[[], bool] = field(default=_never, compare=False)  # asked between effects
    clock: Clock = SYSTEM_CLOCK

    def stopping_when(self, stop: Callable[[], bool]) -> RunRequest:
        """The same request, told how to notice a shutdown (SIGTERM, `serve` stopping)."""
        return replace(self, stop=stop)

    def as_dry_run(self, *, verify: bool) -> RunRequest:
        """The same request as a dry run (shadow mode turns every scheduled run into one)."""
        return replace(self, dry_run=True, verify=verify)
