"""One system's work beside another's: a connector's `apply` on a worker thread, while the
engine's thread goes on with the next system (Trello's archives beside the emails).

The rule that keeps exactly-once as it was: only the engine's thread touches the ledger and
the run log. The worker only does the connector's I/O; every journal call it makes (Trello's
before-images, recorded before its first write) is handed to the engine's thread, which runs it
(`service`, between the other system's effects) while the worker waits for it; the outcomes
wait in a queue until the engine records them, in the connector's order, where the system's
turn is in the apply order (`replay`), so the ledger's transitions and the run log read as if
the systems had run one after another.

Stopping: `stop()` (a SIGTERM between effects) lets the worker finish the effect it is on and
end there; what it finished is recorded, the rest stays owed. `abort()` (the run is dying:
an exception on the engine's thread) also halts the connector's writes at once when it can
(`connectors.base.Haltable`), so nothing new starts after the engine stopped.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connectors.base import Connector, Haltable, Journal
from sync.core.domain import Effect, Outcome


@dataclass
class _Call:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    value: Any = None


_END = object()


class _WorkerJournal:
    """The journal as the worker sees it: each call runs on the engine's thread."""

    def __init__(self, owner: Background, journal: Journal) -> None:
        self._owner = owner
        self._journal = journal
        self.run_id = journal.run_id
        self.today: date = journal.today

    def sending(self, effects: Sequence[Effect], message_id: str) -> None:
        self._owner.call(self._journal.sending, effects, message_id)

    def delivered_to(self, effect: Effect) -> frozenset[str]:
        return frozenset(self._owner.call(self._journal.delivered_to, effect))

    def before_image(self, effect: Effect, image: Mapping[str, object]) -> None:
        self._owner.call(self._journal.before_image, effect, image)

    def before_images(self, images: Sequence[tuple[Effect, Mapping[str, object]]]) -> None:
        self._owner.call(self._journal.before_images, images)


class Background:
    """`connector.apply(effects, journal)` on a worker thread; see the module docstring."""

    def __init__(self, connector: Connector, effects: Sequence[Effect], journal: Journal) -> None:
        self._connector = connector
        self._inbox: queue.Queue[Any] = queue.Queue()  # _Call, Outcome, or (_END, error)
        self._outcomes: list[Outcome] = []
        self._ended = False
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._work,
            args=(list(effects), _WorkerJournal(self, journal)),
            name=f"{connector.system}-background",
            daemon=True,
        )
        self._thread.start()

    # ----- the worker's side -----------------------------------------------------------
    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` on the engine's thread and wait for it (re-raising its error)."""
        item = _Call(fn, args)
        self._inbox.put(item)
        item.done.wait()
        if item.error is not None:
            raise item.error
        return item.value

    def _work(self, effects: list[Effect], journal: _WorkerJournal) -> None:
        error: BaseException | None = None
        try:
            outcomes = self._connector.apply(effects, journal)
            try:
                for outcome in outcomes:
                    self._inbox.put(outcome)
                    if self._stop.is_set():
                        break
            finally:
                close = getattr(outcomes, "close", None)
                if callable(close):
                    close()
        except BaseException as exc:  # handed to the engine's thread, which decides
            error = exc
        self._inbox.put((_END, error))

    # ----- the engine's side -----------------------------------------------------------
    def prime(self) -> None:
        """Wait until the connector has made its first journal call (Trello records its
        before-images before any write), produced an outcome, or ended."""
        self._take(block=True, until_first=True)

    def service(self) -> None:
        """Run the journal calls waiting, keep the outcomes that came; never blocks. A worker
        that died of a BaseException (the process is dying) re-raises it here."""
        self.check()

    def check(self) -> None:
        """Re-raise what killed the worker if it was not an ordinary error (the process is
        dying: a BaseException on its thread); ordinary errors wait for `replay`."""
        if self._error is None and not self._ended:
            self._take(block=False)
        if self._error is not None and not isinstance(self._error, Exception):
            raise self._error

    def stop(self) -> None:
        self._stop.set()

    def abort(self) -> None:
        """The run is dying: no new write starts; wait for the ones under way."""
        self._stop.set()
        if isinstance(self._connector, Haltable):
            self._connector.halt()
        while self._thread.is_alive():
            self._take(block=False)
            self._thread.join(timeout=0.05)
        self._take(block=False)

    def replay(self) -> Iterator[Outcome]:
        """The outcomes in the connector's order, as its `apply` would have yielded them (an
        error it raised comes out here, after the outcomes it yielded first)."""
        while True:
            while self._outcomes:
                yield self._outcomes.pop(0)
            if self._ended:
                break
            self._take(block=True)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _take(self, *, block: bool, until_first: bool = False) -> None:
        while not self._ended:
            try:
                item = self._inbox.get(block=block)
            except queue.Empty:
                return
            if isinstance(item, _Call):
                try:
                    item.value = item.fn(*item.args)
                except BaseException as exc:
                    item.error = exc
                finally:
                    item.done.set()
                if until_first:
                    return
            elif isinstance(item, tuple) and item and item[0] is _END:
                self._ended, self._error = True, item[1]
                return
            else:
                self._outcomes.append(item)
                if block:
                    return


class Replayed:
    """A stand-in connector whose `apply` yields what the background run produced, so the
    engine records it through its one recording path."""

    def __init__(self, background: Background, connector: Connector) -> None:
        self._background = background
        self.system = connector.system
        self._connector = connector

    @property
    def retries(self) -> int:
        return self._connector.retries

    def apply(self, effects: Sequence[Effect], journal: Journal) -> Iterator[Outcome]:
        return self._background.replay()

    def close(self) -> None:
        return None
