"""Plain data that flows from Salesforce through the planner to the connectors.

Nothing here does I/O. A `TakedownRequest` is what the Salesforce connector read; an `Effect` is
one thing the sync owes the world for it, with a stable key so it happens exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class RequestType(StrEnum):
    CANCELLATION = "cancellation"
    PAUSE = "pause"
    CHANGE = "change"


class Platform(StrEnum):
    DS = "DS"
    ARI = "ARI"


# Salesforce's StepStatus values of an approval history row.
APPROVED = "Approved"
STARTED = "Started"
REJECTED = "Rejected"
REMOVED = "Removed"


@dataclass(frozen=True)
class ApprovalStep:
    """One row of a request's approval history, as the Salesforce connector parsed it.

    The connector only reads the history (`connectors.salesforce.history`); whether it shows the
    whole chain is judged in the core (`sync.core.approval`).
    """

    status: str
    actor_name: str
    actor_id: str
    at: datetime | None
    order: int  # position in the history as given, for rows without a time


def latest_round(steps: Sequence[ApprovalStep]) -> list[ApprovalStep]:
    """The last submission's rows (steps in time order): from the last "Started" row on, or all
    rows if none. Only the last submission counts, for the check and for when it was approved."""
    starts = [i for i, s in enumerate(steps) if s.status == STARTED]
    return list(steps[starts[-1] :]) if starts else list(steps)


@dataclass(frozen=True)
class WritebackTexts:
    """What the Salesforce write-backs may write, for the connector's preflight (field lengths,
    picklist values): worked out by the core from the config (`sync.core.writeback_texts`) and
    handed to the connector by the wiring, so no connector imports the planner."""

    statuses: tuple[str, ...] = ()
    longest_message: str = ""


@dataclass(frozen=True)
class TakedownRequest:
    """A Salesforce Takedown Request, already mapped from the org's field names.

    Fields that may be wrong in the source (type, platform, effective date) keep their raw text
    beside the parsed value, so the planner can say exactly what was wrong.
    """

    id: str
    name: str
    account_id: str
    client_name: str
    type: RequestType | None
    raw_type: str
    status: str
    approved: bool
    effective_date: date | None
    raw_effective_date: str
    reason: str
    platform: Platform | None
    raw_platform: str
    leaving_platform: bool = False
    credit_amount: Decimal = Decimal(0)
    product_change_notes: str = ""
    new_package: str = ""
    services: tuple[str, ...] = ()
    link: str = ""
    modified_at: datetime | None = None
    approved_at: datetime | None = None
    # The approval history in time order, as read; the planner judges it (sync.core.approval).
    # None: the source carries no history (in-memory sources in tests); the Salesforce
    # connector always gives one, empty when the record has none.
    approval_steps: tuple[ApprovalStep, ...] | None = None
    # What the write-back replaces, as the poll read it (None: not read), kept for `undo`.
    account_status: str | None = None
    sync_status: str = ""
    sync_message: str = ""
    # Why the credit amount could not be read (NaN, not a number...); None when it could.
    credit_problem: str | None = None

    @property
    def label(self) -> str:
        """How a person recognises the request in a log line."""
        return f"{self.name or self.id} ({self.client_name or 'unknown client'})"


class EffectKind(StrEnum):
    PLANNER_ADD = "planner_add"
    TRACKER_STATUS = "tracker_status"
    TRACKER_REMOVE = "tracker_remove"
    MONTHLY_RECORD = "monthly_record"
    OFFBOARDING_ADD = "offboarding_add"
    NINJACAT_FLAG = "ninjacat_flag"
    TRELLO_ARCHIVE = "trello_archive"
    SIMPLIFI_NOTICE = "simplifi_notice"
    MANAGER_DIGEST = "manager_digest"
    REMINDER = "reminder"
    SALESFORCE_WRITEBACK = "salesforce_writeback"
    # The reversal of a withdrawn request's forward work (`python -m sync undo`, sync/core/undo.py).
    UNDO_TRACKER = "undo_tracker"  # the tracker row back (from its copy) with its old status
    UNDO_MARK = "undo_mark"  # a Planner/Offboarding/Monthly row marked withdrawn, not deleted
    UNDO_TRELLO = "undo_trello"  # the archived cards reopened, with a comment saying why
    UNDO_RETRACTION = "undo_retraction"  # Simpli.fi: please disregard our notice
    UNDO_NOTICE = "undo_notice"  # the TDA Department Manager is told
    UNDO_WRITEBACK = "undo_writeback"  # Salesforce: the previous account status, "undone"


class System(StrEnum):
    SHEETS = "sheets"
    TRELLO = "trello"
    EMAIL = "email"
    SALESFORCE = "salesforce"


SYSTEM_OF: Mapping[EffectKind, System] = {
    EffectKind.PLANNER_ADD: System.SHEETS,
    EffectKind.TRACKER_STATUS: System.SHEETS,
    EffectKind.TRACKER_REMOVE: System.SHEETS,
    EffectKind.MONTHLY_RECORD: System.SHEETS,
    EffectKind.OFFBOARDING_ADD: System.SHEETS,
    EffectKind.NINJACAT_FLAG: System.SHEETS,
    EffectKind.TRELLO_ARCHIVE: System.TRELLO,
    EffectKind.SIMPLIFI_NOTICE: System.EMAIL,
    EffectKind.MANAGER_DIGEST: System.EMAIL,
    EffectKind.REMINDER: System.EMAIL,
    EffectKind.SALESFORCE_WRITEBACK: System.SALESFORCE,
    EffectKind.UNDO_TRACKER: System.SHEETS,
    EffectKind.UNDO_MARK: System.SHEETS,
    EffectKind.UNDO_TRELLO: System.TRELLO,
    EffectKind.UNDO_RETRACTION: System.EMAIL,
    EffectKind.UNDO_NOTICE: System.EMAIL,
    EffectKind.UNDO_WRITEBACK: System.SALESFORCE,
}
UNDO_KINDS: frozenset[EffectKind] = frozenset(k for k in EffectKind if k.startswith("undo_"))

# Effects whose result cannot be checked afterwards: the ledger records them as "sending" first.
UNCHECKABLE: frozenset[EffectKind] = frozenset(
    {
        EffectKind.SIMPLIFI_NOTICE,
        EffectKind.MANAGER_DIGEST,
        EffectKind.REMINDER,
        EffectKind.UNDO_RETRACTION,
        EffectKind.UNDO_NOTICE,
    }
)


@dataclass(frozen=True)
class Effect:
    """One thing owed to one target for one request.

    `target` names the concrete place (a sheet name from config, a board name, a recipient
    group, a write-back phase); with the request id and kind it forms the stable key.
    `params` carries the few kind-specific values the planner decided (e.g. a reminder's
    offset); everything else the connector reads from `request`.
    `after` lists keys that must be done before this one (the Salesforce write-back waits for
    the effects it reports on).
    `generation` counts the request's lives: an undone request that is approved again starts
    generation 2, whose keys end in "@g2", so they never collide with the first life's.
    """

    request_id: str
    kind: EffectKind
    target: str
    not_before: date
    request: TakedownRequest = field(compare=False, repr=False)
    params: Mapping[str, str] = field(default_factory=dict, compare=False)
    after: tuple[str, ...] = field(default=(), compare=False)
    generation: int = 1

    @property
    def key(self) -> str:
        return effect_key(self.request_id, self.kind, self.target, self.generation)

    @property
    def system(self) -> System:
        return SYSTEM_OF[self.kind]


def effect_key(request_id: str, kind: EffectKind | str, target: str, generation: int = 1) -> str:
    """The first generation keeps the plain form, so existing ledgers stay valid."""
    base = f"{request_id}/{kind}/{target}"
    return base if generation <= 1 else f"{base}@g{generation}"


def generation_of(key: str) -> int:
    """The generation an effect key belongs to (see `Effect.generation`)."""
    _, sep, tail = key.rpartition("@g")
    return int(tail) if sep and tail.isdigit() else 1


class EffectState(StrEnum):
    """What the ledger knows of an effect. APPLIED and SKIPPED are final."""

    PLANNED = "planned"
    SENDING = "sending"
    APPLIED = "applied"
    SKIPPED = "skipped"
    FAILED = "failed"
    NEEDS_PERSON = "needs_person"
    # Owed, but its request was withdrawn (left "approved"): not done while it stays so, and
    # never dropped: approved again with a new approval round, it becomes PLANNED again.
    ON_HOLD = "on_hold"


FINAL_STATES: frozenset[EffectState] = frozenset({EffectState.APPLIED, EffectState.SKIPPED})


class OutcomeStatus(StrEnum):
    """What a connector says happened to one effect in this run."""

    APPLIED = "applied"  # the sync changed the target now
    ALREADY_DONE = "already_done"  # the target already showed the effect (e.g. after a crash)
    SKIPPED = "skipped"  # nothing to do, and that is fine (no card on a board)
    FAILED = "failed"  # may succeed on a later run
    NEEDS_PERSON = "needs_person"  # the sync will not guess; a person must look
    # An uncheckable effect may or may not have happened (a connection lost mid-send): it stays
    # "sending" in the ledger, is never retried by itself, and is reported for a person.
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class Outcome:
    key: str
    status: OutcomeStatus
    message: str = ""
    attempts: int = 1
    retries: int = 0
    # What the change replaced (plain, JSON-able data: card ids, comment ids...), recorded by the
    # engine in the ledger with the outcome, so `undo` can reverse it without asking anyone.
    before: Mapping[str, object] = field(default_factory=dict, compare=False)
    # The addresses this run's message was accepted for (email), recorded by the engine with
    # the outcome, so no later run sends the same message to them again.
    delivered_to: tuple[str, ...] = field(default=(), compare=False)


# The finding for a request the sync looked for by id and Salesforce did not return.
NOT_IN_SALESFORCE = "not_in_salesforce"


@dataclass(frozen=True)
class Finding:
    """Something about a request that a person should know, with no effect to apply."""

    request_id: str
    code: str
    message: str
    needs_person: bool = True
    label: str = ""


class CheckState(StrEnum):
    """What a read-only look at an effect's target showed (dry runs and shadow mode)."""

    DONE = "done"  # the target already shows it: a person (or an earlier run) did it
    NOT_DONE = "not_done"  # the sync would do it
    UNKNOWN = "unknown"  # cannot be checked (an email), or the check itself failed


@dataclass(frozen=True)
class Check:
    key: str
    state: CheckState
    message: str = ""
