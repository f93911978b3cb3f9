"""One bounded retry policy for every connector (tenacity), honouring Retry-After.

Connectors translate their client library's exceptions into `RetriableError` / `FatalError`
first; this module retries only `RetriableError`, with exponential backoff, a cap on the number
of attempts and on the time waited for one call. The number of retries is counted so the run
log can say how many it took.

Each connector gets its own policy for a run, so `run_budget_seconds` bounds the time one
service's retries may cost a whole run: a service that keeps failing (its token endpoint down)
would otherwise cost the bound again for every call. Once the budget is spent, calls still get
their first attempt, never a wait, and the error says the budget was spent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    stop_any,
    wait_exponential,
)
from tenacity.stop import stop_base

from sync.config.model import RetryConfig
from sync.errors import RetriableError

T = TypeVar("T")
log = logging.getLogger("connectors.retry")


def _sleep_now(seconds: float) -> None:
    time.sleep(seconds)  # looked up per call (see RetryPolicy.sleep)


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    max_wait_seconds: float = 60.0
    initial_wait_seconds: float = 1.0
    # The run's clock's sleep (sync.engine.wiring); this default looks `time.sleep` up when it
    # waits, not at import, so cassette replay's patched no-op is the one used.
    sleep: Callable[[float], None] = field(default=_sleep_now)
    retries: int = 0  # retries made under this policy so far (all calls)
    run_budget_seconds: float = 120.0  # waiting, all calls of one run together
    waited: float = 0.0  # seconds waited under this policy so far (all calls)
    # The same count for the calling thread alone: calls in flight at once (Trello's writes)
    # each say how many retries they took.
    _here: threading.local = field(default_factory=threading.local, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def retries_here(self) -> int:
        """Retries made so far by calls on this thread."""
        return int(getattr(self._here, "count", 0))

    @classmethod
    def from_config(cls, cfg: RetryConfig) -> RetryPolicy:
        return cls(
            max_attempts=cfg.max_attempts,
            max_wait_seconds=cfg.max_wait_seconds,
            initial_wait_seconds=cfg.initial_wait_seconds,
            run_budget_seconds=cfg.run_budget_seconds,
        )

    def call(self, fn: Callable[[], T], *, what: str) -> T:
        """Run `fn`, retrying RetriableError; re-raise the last error when the bound is hit."""
        backoff = wait_exponential(multiplier=self.initial_wait_seconds, max=self.max_wait_seconds)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            after = getattr(exc, "retry_after", None)
            base = float(backoff(state))
            if isinstance(after, int | float) and after > 0:
                return float(min(max(after, base), self.max_wait_seconds))
            return base

        budget = _Budget(self, wait)

        def before_sleep(state: RetryCallState) -> None:
            with self._lock:
                self.retries += 1
                self.waited += state.upcoming_sleep
            self._here.count = self.retries_here + 1
            exc = state.outcome.exception() if state.outcome else None
            log.info(
                "retrying %s after %s (attempt %d)",
                what,
                exc,
                state.attempt_number,
                extra={"what": what},
            )

        retrying = Retrying(
            retry=retry_if_exception_type(RetriableError),
            stop=stop_any(
                stop_after_attempt(self.max_attempts),
                stop_after_delay(self.max_wait_seconds),
                budget,
            ),
            wait=wait,
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except RetriableError as exc:
            if budget.spent:
                # Said where the person reads it; the error keeps its type for the caller.
                exc.args = (
                    f"{exc}; not retried further: this run's {self.run_budget_seconds:g} s of "
                    "retries for this service are spent ([retry] run_budget_seconds)",
                )
            raise


class _Budget(stop_base):
    """Stop when the next wait would take the policy past its run's budget."""

    def __init__(self, policy: RetryPolicy, wait: Callable[[RetryCallState], float]) -> None:
        self.policy = policy
        self.wait = wait
        self.spent = False

    def __call__(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self.policy.max_attempts:
            return False  # the attempts ran out first: that is what stopped this call
        self.spent = self.policy.waited + self.wait(state) > self.policy.run_budget_seconds
        return self.spent


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header given in seconds (the only form our services send)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
