"""The run as a connector sees it (`connectors.base.Journal`), written through to the ledger.

`sending` marks an unverifiable message's effects in the ledger at once, before the send, and
remembers which effects travel in one message so the engine records their outcomes together.
Before-images reach the disk before the write they describe: the journal saves them and asks
the ledger for a checkpoint of the batch the engine opened; the connector never sees the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sync.core.domain import Effect
from sync.state.ledger import Ledger


@dataclass
class RunJournal:
    """What a connector sees of the run; `sending` writes through to the ledger at once, and
    remembers which effects travel in one message so their outcomes are recorded together."""

    run_id: str
    today: date
    ledger: Ledger | None
    messages: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key -> its message's
    # Raises when a system running beside this one died with the process (a kill on its
    # thread): from then on this thread records nothing either, as a dead process would not.
    guard: Callable[[], None] = lambda: None

    def sending(self, effects: Sequence[Effect], message_id: str) -> None:
        self.guard()
        if self.ledger is not None:
            self.ledger.mark_sending(effects, message_id, self.run_id)
        keys = tuple(e.key for e in effects)
        for key in keys:
            self.messages[key] = keys

    def delivered_to(self, effect: Effect) -> frozenset[str]:
        return self.ledger.delivered_to(effect.key) if self.ledger is not None else frozenset()

    def before_image(self, effect: Effect, image: Mapping[str, object]) -> None:
        self.before_images([(effect, image)])

    def before_images(self, images: Sequence[tuple[Effect, Mapping[str, object]]]) -> None:
        """On disk before the write they describe: saved, then a checkpoint of the batch the
        engine has open (what it recorded so far is true, so it may go with them)."""
        if self.ledger is not None and images:
            self.ledger.save_befores([(e.key, e.request_id, i) for e, i in images])
            self.ledger.checkpoint()
