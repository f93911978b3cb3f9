"""Keep each service under its published rate limits instead of discovering them by a 429.

A `Pacer` holds, per kind of request ("read", "write", or one kind for a service that counts
every request alike), a sliding log of its requests (from the send, then from the answer) and
the limits that apply to it
(Trello: 100 per 10 s per token and 300 per 10 s per key; Sheets: 60 per minute per user and
300 per project, reads and writes apart). `acquire(kind)` waits until one more request fits in
every limit's window, so no window of any limit's length ever holds more than its count. The
log is a sliding window on purpose: it is the strictest reading of "N per interval", so it is
safe whether the service counts in fixed or rolling windows.

A 429 still happens when something else shares the credential. `refused(kind, retry_after)`
blocks that kind until the service's Retry-After, or, when it gave none (Google never does), for
the longest window of that kind's limits: a per-minute quota is only refilled when its minute
rolls over, so a retry after one second would only be refused again. The connector's retry
waits `blocked_for(kind)`, and every other request of that kind waits too.

Why hand-written rather than pyrate-limiter or limits: both read the wall clock and sleep
inside the library (pyrate-limiter also starts a leak thread), while this project's tests
inject the clock and the sleep; neither models "blocked until the window rolls over after a
429"; and the whole limiter is a sorted log per kind, a few dozen lines.

One pacer serves one service and credential (`shared`), however many sessions use it: two
connectors with the same token share one budget. Thread-safe: requests in flight at once
(bounded by the connector) each take their place in the log under one lock.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from sync.config.model import PacingConfig

log = logging.getLogger("connectors.pacing")


@dataclass(frozen=True)
class Limit:
    """At most `requests` in any `seconds`-long window (`name` says whose: "per token")."""

    name: str
    requests: int
    seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.seconds <= 0:
            raise ValueError(f"a rate limit needs requests >= 1 and seconds > 0: {self}")


@dataclass
class _Kind:
    limits: tuple[Limit, ...]
    sent: list[float] = field(default_factory=list)  # send times, ascending
    blocked_until: float = 0.0
    # What happened, for the benchmark and the run log.
    waited: float = 0.0
    refusals: int = 0

    @property
    def longest(self) -> float:
        return max(limit.seconds for limit in self.limits)


class Pacer:
    """Paces one service's requests for one credential; see the module docstring."""

    def __init__(
        self,
        service: str,
        limits: Mapping[str, Sequence[Limit]],
        *,
        margin: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`margin` seconds are added to every window: the service counts a request when it
        arrives, a little after we sent it, so a margin keeps the two counts apart."""
        self.service = service
        self.margin = margin
        self._kinds = {kind: _Kind(tuple(ls)) for kind, ls in limits.items() if ls}
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # A sleep that returns before its time (a test's or a replay's no-op) must not make
        # `acquire` spin: the shortfall is counted as if it had passed.
        self._skew = 0.0

    def kinds(self) -> list[str]:
        return list(self._kinds)

    def acquire(self, kind: str, *, sleep: Callable[[float], None] | None = None) -> float:
        """Wait until one more `kind` request fits every limit, take its place; return the
        seconds waited. A kind with no limits passes at once. `sleep` is the caller's (a
        connector's injected sleep); the pacer's own otherwise."""
        return self._take(kind, sleep)[0]

    def take(self, kind: str, *, sleep: Callable[[float], None] | None = None) -> float:
        """`acquire`, returning the place taken (its time), for `answered`."""
        return self._take(kind, sleep)[1]

    def answered(self, kind: str, taken: float) -> None:
        """The answer to the request sent at `taken` arrived: it counts from now on.

        The service counted it on arrival, somewhere between the send and the answer, so
        counting it from the answer is safe however long a thread waited before its bytes
        left or the network held them; a window then costs at most one round trip more."""
        k = self._kinds.get(kind)
        if k is None:
            return
        with self._lock:
            now = self._now()
            i = bisect_left(k.sent, taken)
            if i < len(k.sent) and k.sent[i] == taken:
                del k.sent[i]
            insort(k.sent, max(now, taken))

    def _take(self, kind: str, sleep: Callable[[float], None] | None) -> tuple[float, float]:
        k = self._kinds.get(kind)
        if k is None:
            return 0.0, self._now()
        nap = sleep or self._sleep
        waited = 0.0
        while True:
            with self._lock:
                now = self._now()
                wait = self._wait_needed(k, now)
                if wait <= 0:
                    insort(k.sent, now)
                    self._forget(k, now)
                    k.waited += waited
                    return waited, now
            log.debug("%s %s: waiting %.3f s for the rate limit", self.service, kind, wait)
            before = self._clock()
            nap(wait)
            short = wait - (self._clock() - before)
            if short > 0:
                with self._lock:
                    self._skew += short
            waited += wait

    def refused(self, kind: str, retry_after: float | None) -> float:
        """The service answered 429: block `kind` for Retry-After, else its longest window.
        Returns the seconds the caller's retry should wait."""
        k = self._kinds.get(kind)
        with self._lock:
            now = self._now()
            if k is None:
                return retry_after or 0.0
            k.refusals += 1
            wait = retry_after if retry_after is not None and retry_after > 0 else k.longest
            k.blocked_until = max(k.blocked_until, now + wait)
            return k.blocked_until - now

    def blocked_for(self, kind: str) -> float:
        """Seconds until `kind` may be sent again after a 429 (0 when it is not blocked)."""
        k = self._kinds.get(kind)
        if k is None:
            return 0.0
        with self._lock:
            return max(0.0, k.blocked_until - self._now())

    def stats(self) -> dict[str, dict[str, float]]:
        """Per kind: seconds spent waiting for the limits, and 429s seen."""
        with self._lock:
            return {
                kind: {"waited_s": round(k.waited, 3), "refusals": k.refusals}
                for kind, k in self._kinds.items()
            }

    # ----- internals ---------------------------------------------------------------------
    def _now(self) -> float:
        return self._clock() + self._skew

    def _wait_needed(self, k: _Kind, now: float) -> float:
        wait = k.blocked_until - now
        for limit in k.limits:
            span = limit.seconds + self.margin
            # Requests counted in (now - span, now]: the window a new request would join (one
            # in flight counts from its send, then from its answer: `answered`).
            start = bisect_right(k.sent, now - span)
            inside = len(k.sent) - start
            if inside >= limit.requests:
                # The oldest one that must leave the window before this request fits.
                oldest = k.sent[len(k.sent) - limit.requests]
                wait = max(wait, oldest + span - now)
        return wait

    def _forget(self, k: _Kind, now: float) -> None:
        span = k.longest + self.margin
        drop = bisect_right(k.sent, now - span)
        if drop > 256:  # trim in steps: a list slice per request would cost more than it saves
            del k.sent[:drop]


_shared: dict[tuple[str, str], Pacer] = {}
_shared_lock = threading.Lock()


def credential_id(*secrets: str) -> str:
    """A short, non-reversible name for a credential, so pacers can be shared by it without
    keeping the secret itself in a registry (or a log line)."""
    digest = hashlib.sha256("\0".join(secrets).encode("utf-8")).hexdigest()
    return digest[:12]


def shared(service: str, credential: str, make: Callable[[], Pacer]) -> Pacer:
    """The process's one pacer for this service and credential (made on first use)."""
    with _shared_lock:
        pacer = _shared.get((service, credential))
        if pacer is None:
            pacer = _shared[(service, credential)] = make()
        return pacer


def forget_shared() -> None:
    """Tests start each from an empty registry (a pacer remembers the last test's requests)."""
    with _shared_lock:
        _shared.clear()


def pace_session(
    session: requests.Session,
    pacer: Pacer,
    kind_of: Callable[[requests.PreparedRequest], str | None],
    *,
    retry_after: Callable[[requests.Response], float | None],
    sleep: Callable[[float], None] | None = None,
) -> None:
    """Send every request of `session` through `pacer` (the one place a connector paces).

    `kind_of` says which kind a request counts as (None: not paced, e.g. a token refresh on
    another host); `retry_after` reads the service's Retry-After from a 429."""
    send = session.send

    def paced(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kind = kind_of(request)
        if kind is None:
            return send(request, **kwargs)
        taken = pacer.take(kind, sleep=sleep)
        try:
            response = send(request, **kwargs)
        finally:
            pacer.answered(kind, taken)
        if response.status_code == 429:
            wait = pacer.refused(kind, retry_after(response))
            log.info("%s answered 429; %s requests wait %.1f s", pacer.service, kind, wait)
        return response

    session.send = paced  # type: ignore[method-assign]


# ----- the services' published limits, from [pacing] ----------------------------------------
TRELLO_HOST = "trello.com"
SHEETS_HOST = "sheets.googleapis.com"


def trello_kind(request: requests.PreparedRequest) -> str | None:
    """Trello counts every API request alike, per token and per key."""
    host = urlsplit(request.url or "").hostname or ""
    return "all" if host == TRELLO_HOST or host.endswith("." + TRELLO_HOST) else None


def sheets_kind(request: requests.PreparedRequest) -> str | None:
    """Google counts reads (any method that only retrieves data) apart from writes; token
    requests go to another host and are not Sheets calls."""
    parts = urlsplit(request.url or "")
    if parts.hostname != SHEETS_HOST:
        return None
    reads = request.method in ("GET", "HEAD") or parts.path.endswith("ByDataFilter")
    return "read" if reads else "write"


def trello_pacer(p: PacingConfig, key: str, token: str) -> Pacer | None:
    """The process's pacer for this Trello key and token (None: pacing is off)."""
    if not p.enabled:
        return None
    window = p.trello_window_seconds
    limits = {
        "all": [
            Limit("per token", p.trello_per_token, window),
            Limit("per key", p.trello_per_key, window),
        ]
    }
    ident = credential_id(key, token, repr(sorted(limits.items())), str(p.margin_seconds))
    return shared("trello", ident, lambda: Pacer("trello", limits, margin=p.margin_seconds))


def sheets_pacer(p: PacingConfig, account: str) -> Pacer | None:
    """The process's pacer for this Google user (a service account's email)."""
    if not p.enabled:
        return None
    window = p.sheets_window_seconds
    limits = {
        kind: [
            Limit("per user", per_user, window),
            Limit("per project", p.sheets_per_project, window),
        ]
        for kind, per_user in (
            ("read", p.sheets_reads_per_user),
            ("write", p.sheets_writes_per_user),
        )
    }
    ident = credential_id(account, repr(sorted(limits.items())), str(p.margin_seconds))
    return shared("sheets", ident, lambda: Pacer("sheets", limits, margin=p.margin_seconds))


def pace_trello_session(
    session: requests.Session,
    p: PacingConfig,
    key: str,
    token: str,
    *,
    sleep: Callable[[float], None] | None = None,
) -> Pacer | None:
    """Pace a session's Trello requests (None and nothing changed when pacing is off)."""
    pacer = trello_pacer(p, key, token)
    if pacer is not None:
        pace_session(session, pacer, trello_kind, retry_after=_retry_after, sleep=sleep)
    return pacer


def pace_sheets_session(
    session: requests.Session,
    p: PacingConfig,
    account: str,
    *,
    sleep: Callable[[float], None] | None = None,
) -> Pacer | None:
    """Pace a session's Sheets requests (None and nothing changed when pacing is off)."""
    pacer = sheets_pacer(p, account)
    if pacer is not None:
        pace_session(session, pacer, sheets_kind, retry_after=_retry_after, sleep=sleep)
    return pacer


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
