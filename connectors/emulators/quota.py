"""The services' published rate limits, enforced by the emulators; a round-trip latency; a
time scale so a test of a per-minute quota runs in a fraction of a second.

Off by default: an emulator without a `QuotaGate` answers every request at once, as before.
With one, each request is counted against the windows its service's rules name (`admit`), a
request that would overflow one is refused in the service's own shape (the emulator builds the
body), and an admitted one is answered after the configured latency, slept OUTSIDE the
emulator's lock so requests in flight at once overlap as they would on the real service.

The published limits (checked 2026-12 against each service's own documentation):

- Trello, "Rate Limits" in the REST API guide (developer.atlassian.com/cloud/trello/guides/
  rest-api/rate-limits): 300 requests per 10 seconds for each API key and 100 requests per 10
  second interval for each token; over it, 429 with `{"error": "API_TOKEN_LIMIT_EXCEEDED",
  "message": "Rate limit exceeded"}` (or `API_KEY_LIMIT_EXCEEDED` for the key), and no
  Retry-After is documented. Modelled as sliding windows: the strictest reading of "per 10
  second interval", so a client that passes here passes either way.
- Google Sheets, "Usage limits" (developers.google.com/sheets/api/limits): read requests 300 per
  minute per project and 60 per minute per user per project, write requests the same, "refilled
  every minute"; over it, 429 with status RESOURCE_EXHAUSTED and an ErrorInfo of reason
  RATE_LIMIT_EXCEEDED naming the quota (the Google emulator words it), and no Retry-After (none
  of gspread's recorded 429s has one). Modelled as fixed minute windows: a refusal lasts until
  the minute rolls over, however long the client waits before retrying within it.
- Salesforce, "Limit Info Header" in the REST API Developer Guide: every REST answer carries
  `Sforce-Limit-Info: api-usage=USED/LIMIT` against the org's daily allocation; a call past it
  is refused 403 `[{"message": "TotalRequests Limit exceeded.", "errorCode":
  "REQUEST_LIMIT_EXCEEDED"}]`. The Salesforce emulator counts that down itself (its `limits`
  seed or `set_usage`); there is no per-second rate limit to model.

`time_scale` multiplies every window and the latency: 0.01 makes Trello's 10 s a 0.1 s window
and Google's minute 0.6 s, with the same counts.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Rolling = Literal["sliding", "fixed"]


@dataclass(frozen=True)
class Window:
    """At most `requests` per `seconds` for each key of this window (a token, a user)."""

    name: str  # what the service calls the limit (its error code or quota name)
    requests: int
    seconds: float
    rolling: Rolling = "sliding"


TRELLO_WINDOWS = (
    Window("API_TOKEN_LIMIT_EXCEEDED", 100, 10.0),
    Window("API_KEY_LIMIT_EXCEEDED", 300, 10.0),
)
SHEETS_WINDOWS = (
    Window("ReadRequestsPerMinutePerUser", 60, 60.0, "fixed"),
    Window("WriteRequestsPerMinutePerUser", 60, 60.0, "fixed"),
    Window("ReadRequestsPerMinutePerProject", 300, 60.0, "fixed"),
    Window("WriteRequestsPerMinutePerProject", 300, 60.0, "fixed"),
)


@dataclass
class _Count:
    times: list[float] = field(default_factory=list)  # sliding: arrival times, ascending
    slot: int = -1  # fixed: the window's index, and its count
    used: int = 0


class QuotaGate:
    """Counts requests against windows per key; refuses the one that would overflow."""

    def __init__(
        self,
        windows: Sequence[Window],
        *,
        time_scale: float = 1.0,
        latency: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.windows = {w.name: w for w in windows}
        self.time_scale = time_scale
        self.latency = latency
        self._clock = clock
        self._sleep = sleep
        self._counts: dict[tuple[str, str], _Count] = {}
        self._lock = threading.Lock()
        self.refused: dict[str, int] = {}  # window name -> refusals, for tests and the bench
        self.peak: dict[str, int] = {}  # window name -> most requests one key had in one window

    def admit(self, keys: Mapping[str, str]) -> str | None:
        """Count one request against `keys` (window name -> key, e.g. the token); return the
        name of the window that refuses it (nothing is counted then), or None."""
        with self._lock:
            now = self._clock()
            for name, key in keys.items():
                window = self.windows.get(name)
                if window is not None and self._full(window, key, now):
                    self.refused[name] = self.refused.get(name, 0) + 1
                    return name
            for name, key in keys.items():
                window = self.windows.get(name)
                if window is not None:
                    self._take(window, key, now)
            return None

    def retry_in(self, name: str, key: str) -> float:
        """Seconds until `key` has room again in window `name` (what a real service does not
        say; tests use it to check a client waited long enough)."""
        window = self.windows[name]
        span = window.seconds * self.time_scale
        with self._lock:
            now = self._clock()
            count = self._counts.get((name, key), _Count())
            if window.rolling == "fixed":
                return (count.slot + 1) * span - now if count.used >= window.requests else 0.0
            if len(count.times) < window.requests:
                return 0.0
            return max(0.0, count.times[len(count.times) - window.requests] + span - now)

    def delay(self) -> None:
        """The round trip, slept by the request's own thread (never under the emulator lock)."""
        if self.latency > 0:
            self._sleep(self.latency * self.time_scale)

    # ----- internals ---------------------------------------------------------------------
    def _full(self, window: Window, key: str, now: float) -> bool:
        span = window.seconds * self.time_scale
        count = self._counts.get((window.name, key))
        if count is None:
            return False
        if window.rolling == "fixed":
            return count.slot == int(now // span) and count.used >= window.requests
        start = bisect_right(count.times, now - span)
        return len(count.times) - start >= window.requests

    def _take(self, window: Window, key: str, now: float) -> None:
        span = window.seconds * self.time_scale
        count = self._counts.setdefault((window.name, key), _Count())
        if window.rolling == "fixed":
            slot = int(now // span)
            if slot != count.slot:
                count.slot, count.used = slot, 0
            count.used += 1
            self._note_peak(window.name, count.used)
            return
        count.times.append(now)
        drop = bisect_right(count.times, now - span)
        self._note_peak(window.name, len(count.times) - drop)
        if drop > 512:
            del count.times[:drop]

    def _note_peak(self, name: str, inside: int) -> None:
        if inside > self.peak.get(name, 0):
            self.peak[name] = inside
