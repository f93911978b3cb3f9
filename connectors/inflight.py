"""A few requests in flight at once, their results handed back in the order they were asked.

At a real round trip (Trello ~150 ms) one request after another cannot reach a service's rate
limit: 100 requests per 10 s need less than 100 ms each. `in_order` runs `fn` on a small pool
of threads, at most `in_flight` items ahead of the consumer, and yields each result in input
order, so the caller (a connector's `apply`, and behind it the engine's ledger and run log) sees
exactly the sequence it saw when the calls were sequential. Only the calls overlap; everything
that records a result stays on the consumer's thread.

Bounded on purpose: when the consumer stops early (a SIGTERM between effects, a crash), at most
`in_flight` calls can have landed without their result being recorded, the same situation as a
crash between one write and its record, which every connector already checks for by key on the
next run. Closing the iterator cancels what has not started and waits for what has.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def in_order(
    fn: Callable[[T], R], items: Iterable[T], *, in_flight: int, name: str = "inflight"
) -> Generator[tuple[T, R], None, None]:
    """(item, fn(item)) in the order of `items`, with up to `in_flight` calls running at once.

    `in_flight` 1 runs everything on the caller's thread, one after another, as before. An
    exception raised by `fn` is re-raised when its item's turn comes (the items after it have
    possibly started; closing the iterator waits for them)."""
    if in_flight <= 1:
        for item in items:
            yield item, fn(item)
        return
    pending: deque[tuple[T, Future[R]]] = deque()
    source = iter(items)
    pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix=name)
    try:
        for item in source:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) >= in_flight:
                break
        while pending:
            item, future = pending.popleft()
            result = future.result()
            nxt = next(source, _END)
            if nxt is not _END:
                pending.append((nxt, pool.submit(fn, nxt)))  # type: ignore[arg-type]
            yield item, result
    finally:
        for _item, future in pending:
            future.cancel()
        pool.shutdown(wait=True)


_END = object()
