"""What changed in a request after the sync acted on it, and what that means. Pure.

People keep working in Salesforce after a request is approved: an account manager moves the
effective date, corrects the account, turns a cancellation into a pause, files a second request
for a client already being offboarded, or deletes the request. The sync keeps a snapshot of
what it acted on (`Acted`, stored beside the ledger) and compares it with what the poll returns
on every run. The decisions, and why:
docs/design/decisions.md#when-a-request-changes-after-the-sync-acted.

- **Date moved**: what the sync wrote or sent with the old date is corrected once for the new
  one (the tracker's date, the Simpli.fi notice, reminders already sent); what is still owed
  simply follows the new date. A removal or archive already done on the old date is reported.
- **Account changed**: never a silent switch. Nothing more is planned for it, and a person is
  told what was done for which account and the command that reverses it.
- **Cancellation became a pause**: nothing more is offboarded; the owed cancellation steps are
  dropped (skipped); the tracker and account status follow the pause; what was sent or
  removed is reported.
- **Second request for a client**: effects about the client (`CLIENT_LEVEL`) happen once per
  client and offboarding, for the request that started it; the second is reported once with
  what differs.

Correction effects reuse the kind of the effect they correct, with the new value in the target
(`ds_tracker:2026-12-22`, `simplifi:2026-12-22`, `tda_team:7d:2026-12-22`), the same
`name:detail` form reminders use: a connector reads the part before the first ":".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sync.core.domain import (
    FINAL_STATES,
    Effect,
    EffectKind,
    EffectState,
    Finding,
    TakedownRequest,
)
from sync.core.names import display_name, id_key

# Effects about a client, not a request: once per client and offboarding.
CLIENT_LEVEL: frozenset[EffectKind] = frozenset(
    {
        EffectKind.TRACKER_STATUS,
        EffectKind.TRACKER_REMOVE,
        EffectKind.OFFBOARDING_ADD,
        EffectKind.NINJACAT_FLAG,
        EffectKind.TRELLO_ARCHIVE,
        EffectKind.SIMPLIFI_NOTICE,
        EffectKind.REMINDER,
    }
)
# What carries the effective date to a sheet or a person, so it is corrected when the date moves.
DATED: frozenset[EffectKind] = frozenset(
    {EffectKind.TRACKER_STATUS, EffectKind.SIMPLIFI_NOTICE, EffectKind.REMINDER}
)
# What cannot be taken back by sending or writing again: reported when the date moves later.
DONE_FOR_GOOD: frozenset[EffectKind] = frozenset(
    {EffectKind.TRACKER_REMOVE, EffectKind.TRELLO_ARCHIVE}
)

# What a cancellation does that a pause never does: reported when a cancellation that did it
# becomes a pause.
OFFBOARDING: frozenset[EffectKind] = frozenset(
    {
        EffectKind.TRACKER_REMOVE,
        EffectKind.TRELLO_ARCHIVE,
        EffectKind.SIMPLIFI_NOTICE,
        EffectKind.OFFBOARDING_ADD,
        EffectKind.NINJACAT_FLAG,
    }
)

DATE_MOVED = "date_moved"
ACCOUNT_CHANGED = "account_changed"
BECAME_PAUSE = "became_pause"
DUPLICATE = "duplicate_request"


@dataclass(frozen=True)
class Acted:
    """What the sync acted on for one request: the values its writes and messages carried."""

    request_id: str
    name: str
    account_id: str
    client_name: str
    type: str
    effective_date: date | None
    reason: str = ""
    # Every client name the sync has seen on this request (an account renamed since).
    names: tuple[str, ...] = ()
    # The request that was already offboarding this client when this one came (a duplicate).
    duplicate_of: str = ""

    @property
    def label(self) -> str:
        return f"{self.name or self.request_id} ({display_name(self.client_name) or 'unknown'})"


def acted_of(req: TakedownRequest) -> Acted:
    return Acted(
        req.id,
        req.name,
        req.account_id,
        req.client_name,
        str(req.type or req.raw_type),
        req.effective_date,
        req.reason,
        (req.client_name,) if req.client_name.strip() else (),
    )


def same_account(a: str, b: str) -> bool:
    """15- and 18-character forms of one Salesforce id are the same account."""
    x, y = id_key(a), id_key(b)
    return x[:15] == y[:15] if len(x) in (15, 18) and len(y) in (15, 18) else x == y


def base_target(target: str) -> str:
    """The configured name a (correction) target is about: `ds_tracker:2026-12-22` -> ds_tracker."""
    return target.split(":", 1)[0]


def correction_target(e: Effect, new_day: date) -> str:
    return f"{e.target}:{new_day.isoformat()}"


def is_correction(target: str) -> bool:
    """A target with a date as its last part was made by a correction (see module docstring)."""
    tail = target.rsplit(":", 1)[-1]
    return len(tail) == 10 and tail[4] == "-" and tail[7] == "-" and tail.replace("-", "").isdigit()


@dataclass
class Decision:
    """What one request's changes add to its plan."""

    findings: list[Finding] = field(default_factory=list)
    # Effects owed no more as they were planned, with why (held: not final; skipped: final).
    holds: list[tuple[Effect, str]] = field(default_factory=list)
    skips: list[tuple[Effect, str]] = field(default_factory=list)
    corrections: list[Effect] = field(default_factory=list)
    # Keys on hold that are owed again (a pause turned back into a cancellation).
    resumes: list[str] = field(default_factory=list)
    # Stop planning the request's forward effects (the account changed: a person decides).
    blocked: bool = False
    # The request differs from what the sync acted on (the snapshot advances once every
    # correction is final).
    changed: bool = False

    def add(self, other: Decision) -> None:
        self.findings += other.findings
        self.holds += other.holds
        self.skips += other.skips
        self.corrections += other.corrections
        self.resumes += other.resumes
        self.blocked = self.blocked or other.blocked
        self.changed = self.changed or other.changed

    @property
    def handled(self) -> set[str]:
        """Keys the normal planning must leave alone (held or skipped here)."""
        return {e.key for e, _ in self.holds} | {e.key for e, _ in self.skips}


def kind_changed(req: TakedownRequest, was: Acted) -> bool:
    return bool(was.type) and was.type != str(req.type or req.raw_type)


def account_changed(req: TakedownRequest, was: Acted) -> bool:
    return bool(was.account_id) and not same_account(was.account_id, req.account_id)


def date_moved(req: TakedownRequest, was: Acted) -> bool:
    return (
        was.effective_date is not None
        and req.effective_date is not None
        and was.effective_date != req.effective_date
    )


def done(seen: Mapping[str, EffectState], e: Effect) -> bool:
    return seen.get(e.key) is EffectState.APPLIED


def effect_of_key(req: TakedownRequest, key: str, today: date) -> Effect | None:
    """An effect the ledger knows by key only (one the request no longer causes)."""
    parts = key.split("/", 2)
    if len(parts) != 3 or parts[0] != req.id:
        return None
    try:
        kind = EffectKind(parts[1])
    except ValueError:
        return None
    target, sep, tail = parts[2].rpartition("@g")
    if sep and tail.isdigit():
        return Effect(req.id, kind, target, today, req, generation=int(tail))
    return Effect(req.id, kind, parts[2], today, req)


def on_account_change(
    req: TakedownRequest, was: Acted, owed: Sequence[Effect], seen: Mapping[str, EffectState]
) -> Decision:
    """Never a silent switch: the old account's work stands until a person decides."""
    # Blocked, not put on hold: "on hold" is a withdrawal's state, which an approved request
    # resumes. What is owed stays owed (and polled), and nothing of it is planned.
    out = Decision(blocked=True)
    out.findings.append(
        Finding(
            req.id,
            ACCOUNT_CHANGED,
            f"the account was changed from {display_name(was.client_name)} ({was.account_id}) "
            f"to {display_name(req.client_name)} ({req.account_id}) after the sync acted on "
            f"{display_name(was.client_name)}. The sync does not switch accounts silently: "
            f"nothing more is done for either. To reverse what was done for "
            f"{display_name(was.client_name)} (tracker row back, cards reopened, Simpli.fi told "
            f"to disregard, account status restored), run `python -m sync undo "
            f"{req.name or req.id} --reason 'account corrected'`; then approve the request again "
            f"(a new approval round), and the sync acts on {display_name(req.client_name)} as "
            "on a new request.",
            label=req.label,
        )
    )
    return out


def stale_corrections(
    req: TakedownRequest, seen: Mapping[str, EffectState], today: date
) -> list[tuple[Effect, str]]:
    """Corrections planned for a date the request no longer shows (moved twice before they
    went out): owed no more, recorded as skipped so they do not stay open for ever."""
    current = req.effective_date.isoformat() if req.effective_date else ""
    out: list[tuple[Effect, str]] = []
    for key, state in seen.items():
        parts = key.split("/", 2)
        if len(parts) != 3 or state in FINAL_STATES or not is_correction(parts[2]):
            continue
        if parts[2].rsplit(":", 1)[-1] == current:
            continue
        try:
            kind = EffectKind(parts[1])
        except ValueError:
            continue
        effect = Effect(req.id, kind, parts[2], today, req)
        out.append((effect, f"superseded: the effective date is now {current or '(none)'}"))
    return out


def deleted_words(
    request_id: str, was: Acted | None, last_seen: Mapping[str, str]
) -> tuple[str, str]:
    """The label and message for a request the sync acted on that Salesforce no longer
    returns: named by request and client (the snapshot, else the ledger's last sight of it)."""
    shown = was.label if was is not None else (last_seen.get("label") or request_id)
    return shown, (
        f"{shown} is no longer in Salesforce (deleted, or the sync user cannot see it) after "
        "the sync acted on it: its remaining steps are not done, and nothing done is reversed. "
        "Restore it from Salesforce's recycle bin if it was deleted by mistake."
    )


WORDS: Mapping[EffectKind, str] = {
    EffectKind.TRACKER_REMOVE: "the tracker row removed (copy kept)",
    EffectKind.TRELLO_ARCHIVE: "Trello cards archived",
    EffectKind.SIMPLIFI_NOTICE: "Simpli.fi notified",
    EffectKind.OFFBOARDING_ADD: "added to the DigMS Offboarding Sheet",
    EffectKind.NINJACAT_FLAG: "flagged for removal from Ninja Cat",
    EffectKind.REMINDER: "teams reminded",
}
