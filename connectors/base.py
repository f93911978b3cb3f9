"""What the engine needs of a connector, and nothing more.

A connector receives all of this run's due effects for its system at once (so it can batch: one
batchGet and one batchUpdate per spreadsheet, one composite call per 200 Salesforce records) and
yields one `Outcome` per effect as soon as it knows it, so the ledger records each result in the
same step that confirms it.

Every connector checks its target *by key at write time* before writing (a row with this request
id already in the Planner sheet, a card already archived): that is what makes a re-run after a
crash harmless for everything that can be checked. For what cannot be checked (email), the
connector calls `journal.sending(effects, message_id)` once per message, just before the send,
with every effect that message carries: they are marked together, so a crash leaves all or none
of them "sending", and one `resolve` settles the message. Every effect of one message gets the
same outcome (the message went, or it did not).

The counters (`retries`, `api_calls`, `usage`) are part of the protocol: the engine reads them
after each run for the run log, and a connector that makes no outside calls reports zero.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from sync.core.domain import Check, Effect, Finding, Outcome, System, TakedownRequest


class Journal(Protocol):
    """The run's context as a connector sees it."""

    run_id: str
    today: date  # the run's date (`--as-of` may set it): "removed on", "in N days"

    def sending(self, effects: Sequence[Effect], message_id: str) -> None:
        """Record, in one step, that one unverifiable message carrying `effects` is about to
        be handed over (raises if any of them is already done: sending again would double it)."""

    def delivered_to(self, effect: Effect) -> frozenset[str]:
        """The addresses earlier runs delivered `effect`'s message to (a relay that accepted
        it for some recipients and refused others): they are not sent it again."""
        ...

    def before_image(self, effect: Effect, image: Mapping[str, object]) -> None:
        """Record, durably and before the write, what `effect` is about to replace (the
        previous cell values, the row's place, the card ids), so `undo` can reverse it even if
        the process dies between the write and the ledger's record of it. The first image
        of an effect wins: a retry after a landed write must not record the sync's own values."""

    def before_images(self, images: Sequence[tuple[Effect, Mapping[str, object]]]) -> None:
        """`before_image` for several effects that one write replaces together, in one
        durable step (a spreadsheet's batchUpdate: one commit, not one per effect)."""


class Connector(Protocol):
    system: System

    @property
    def retries(self) -> int:
        """Retries of outside calls made so far (connectors are built afresh for each run)."""
        ...

    def apply(self, effects: Sequence[Effect], journal: Journal) -> Iterator[Outcome]:
        """Apply the effects; yield one Outcome per effect, in any order."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Haltable(Protocol):
    """A connector with writes in flight on threads of its own (Trello): `halt` lets the ones
    under way finish and starts no new one, from any thread (the run is dying)."""

    def halt(self) -> None: ...


@runtime_checkable
class Spender(Protocol):
    """A connector whose calls count against a daily allocation (Salesforce): it says how
    many calls applying these effects would take, so a run can stop before acting when the
    allocation cannot afford them (sync.core.allocation)."""

    def calls_needed(self, effects: Sequence[Effect]) -> int:
        """Calls `apply` would make for these effects (0 for effects of other systems)."""
        ...


@runtime_checkable
class Verifier(Protocol):
    """A connector that can tell, read-only, whether a target already shows each effect (dry
    runs and shadow mode). Optional: a connector without it is reported as "not checked"."""

    def verify(self, effects: Sequence[Effect]) -> Mapping[str, Check]:
        """One Check per effect; never writes."""
        ...


@dataclass(frozen=True)
class FetchResult:
    """What one Salesforce poll found."""

    requests: list[TakedownRequest]
    # Highest SystemModstamp seen, capped at the run's start; the engine saves it as the new
    # watermark only after the run applied everything it planned.
    high_water: datetime | None
    findings: list[Finding] = field(default_factory=list)
    api_calls: int = 0
    api_usage: tuple[int, int] | None = None  # (used, allocation) from Sforce-Limit-Info
    full_reconcile: bool = False


class RequestSource(Protocol):
    """The poller: finds requests the sync must look at."""

    @property
    def retries(self) -> int:
        """Retries of outside calls made so far, poll and write-back together."""
        ...

    @property
    def api_calls(self) -> int:
        """Salesforce REST calls made so far (each counts against the org's allocation)."""
        ...

    @property
    def usage(self) -> tuple[int, int] | None:
        """(used, allocation) of the org's daily API calls after the last answer, if known."""
        ...

    @property
    def org_id(self) -> str:
        """The org the poll read (15-character Salesforce org id), "" before a login or when
        it cannot be told: the ledger's identity is checked against it (sync.identity)."""
        ...

    def fetch(
        self,
        *,
        since: datetime | None,
        open_ids: Sequence[str],
        run_started: datetime,
        full: bool,
    ) -> FetchResult:
        """Requests changed since `since` (minus the look-back window) whatever their status (a
        late withdrawal), plus every id in `open_ids` whatever its status (so withdrawn ones are
        seen). `full` adds every approved request."""
        ...

    def find(self, id_or_name: str) -> list[TakedownRequest]:
        """The requests whose record Id or Name is `id_or_name`, whatever their status
        (`--only`); an empty list when there is none."""
        ...
