"""What each effect is called, in the words a person reads: plans, run logs, write-backs.

One place for the wording, so a dry run's plan, the run log, the morning summary and the message
written back to Salesforce say the same thing. The write-back messages are composed here too, by
one function each (`approval_message`, `offboarded_message`): the planner calls them with
nothing skipped, and `settle_writeback` calls them once more, the one time the write-back goes
out, with the effects that ended skipped (a board with no card is not "archived"). Nothing is
planned again for that: the write-back carries the keys it reports on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

from sync.core import withdrawal
from sync.core.changes import is_correction
from sync.core.domain import UNDO_KINDS, Effect, EffectKind, RequestType

# The write-back's param naming the keys it announces as due later (the approval write-back of
# a cancellation: the effective-date effects), so its message can be composed again.
LATER = "later"

# How a skipped effect is named (it did not happen, so not in the past tense of _DESCRIPTIONS).
_SKIP_WORDS: Mapping[EffectKind, str] = {
    EffectKind.TRELLO_ARCHIVE: "Trello archive on the {target} board (no card, or done once "
    "for the client by another request)",
    # Skipped because a person did it first, or another request for the client did (one
    # offboarding per client: sync/core/duplicates.py).
    EffectKind.TRACKER_REMOVE: "removal from the {target} (already removed, by a person or for "
    "the client's other request)",
    EffectKind.TRACKER_STATUS: "{target} status (set once for the client by another request)",
    EffectKind.OFFBOARDING_ADD: "DigMS Offboarding Sheet row (added once for the client by "
    "another request)",
    EffectKind.NINJACAT_FLAG: "Ninja Cat flag (set once for the client by another request)",
    EffectKind.SIMPLIFI_NOTICE: "Simpli.fi notice (sent once for the client by another request)",
}

_DESCRIPTIONS: Mapping[EffectKind, str] = {
    EffectKind.PLANNER_ADD: "added to the Planner Sheet",
    EffectKind.TRACKER_STATUS: "{target} status set",
    EffectKind.TRACKER_REMOVE: "removed from the {target} (copy kept)",
    EffectKind.MONTHLY_RECORD: "recorded in the Monthly Sheet",
    EffectKind.OFFBOARDING_ADD: "added to the DigMS Offboarding Sheet",
    EffectKind.NINJACAT_FLAG: "flagged for removal from Ninja Cat",
    EffectKind.TRELLO_ARCHIVE: "Trello cards archived on the {target} board",
    EffectKind.SIMPLIFI_NOTICE: "Simpli.fi notified",
    EffectKind.MANAGER_DIGEST: "TDA Department Manager informed",
    EffectKind.REMINDER: "{target} reminded",  # worded in _describe, with the offset
    EffectKind.SALESFORCE_WRITEBACK: "Salesforce updated ({target})",
}


_TARGET_WORDS: Mapping[str, str] = {
    "ds_tracker": "DS tracker",
    "ari_tracker": "ARI tracker",
    "tda": "Targeted Digital Advertising",
    "design": "Digital Marketing Graphic Design",
    "tda_team": "TDA team",
    "seo_team": "SEO team",
}


def _describe(e: Effect) -> str:
    if e.kind in UNDO_KINDS:
        return describe_undo(e)
    if e.kind is EffectKind.SALESFORCE_WRITEBACK and withdrawal.is_status_writeback(e.key):
        if e.target.startswith(withdrawal.WITHDRAWN):
            return "Salesforce told it was withdrawn after the sync acted"
        return "Salesforce told it was approved again"
    return describe_kind(str(e.kind), e.target)


def describe(e: Effect) -> str:
    """A short phrase a person reads: what the effect does."""
    return _describe(e)


def describe_kind(kind: str, target: str) -> str:
    """The same words for an effect known only by kind and target (the run log, the ledger)."""
    try:
        k = EffectKind(kind)
    except ValueError:
        return f"{kind} ({target})"
    if k in UNDO_KINDS:
        return describe_undo_kind(k, target)
    if k is EffectKind.REMINDER:
        team, _, offset = target.partition(":")
        offset, _, change = offset.partition(":")
        days = offset.removesuffix("d")
        unit = "day" if days == "1" else "days"
        words = f"{_TARGET_WORDS.get(team, team)} reminded ({days} {unit} before)"
        return words + _change_words(change)
    if k is EffectKind.SALESFORCE_WRITEBACK:
        return _DESCRIPTIONS[k].format(target=target)
    base, _, change = target.partition(":")
    return _DESCRIPTIONS[k].format(target=_TARGET_WORDS.get(base, base)) + _change_words(change)


def _change_words(change: str) -> str:
    """A correction's target ends in what it corrects for (sync/core/changes.py)."""
    if not change:
        return ""
    if is_correction(f"x:{change}"):
        return f" (again, for the new date {change})"
    return " (now a pause)" if change == str(RequestType.PAUSE) else f" (a {change} again)"


def resolve_words(e: Effect) -> str:
    """What a person does with a message that may or may not have gone out (every report of
    it, from the first, names the command)."""
    return f"Check the mailbox, then run `python -m sync resolve {e.key} --sent` (or `--resend`)."


def approval_message(
    request_id: str,
    done: Sequence[str],
    later: Sequence[str],
    due: date | None,
    skipped: frozenset[str] = frozenset(),
) -> str:
    """The approval write-back's message: what was done on approval (`done`, effect keys), what
    ended skipped, and what is due on the effective date (`later`)."""
    message = (
        "Done on approval: "
        + (", ".join(_key_words(request_id, k) for k in done if k not in skipped) or "nothing")
        + "."
        + _skipped_words(request_id, done, skipped)
    )
    if later:
        message += (
            f" Due on {due:%Y-%m-%d}: " + ", ".join(_key_words(request_id, k) for k in later) + "."
        )
    return message


def offboarded_message(
    request_id: str, done: Sequence[str], skipped: frozenset[str] = frozenset()
) -> str:
    """The offboarding write-back's message: the effective-date effects done, and skipped."""
    return (
        "Offboarded: "
        + (", ".join(_key_words(request_id, k) for k in done if k not in skipped) or "nothing")
        + "."
        + _skipped_words(request_id, done, skipped)
    )


def settle_writeback(e: Effect, skipped: frozenset[str]) -> Effect:
    """A write-back as it goes out, once the effects it reports on are final: its message lists
    as done only what was done. `skipped`: the keys among them that ended skipped."""
    if (
        e.kind is not EffectKind.SALESFORCE_WRITEBACK
        or "sync_message" not in e.params
        or not skipped & set(e.after)
    ):
        return e
    if e.target == "approval":
        later: list[str] = json.loads(e.params.get(LATER) or "[]")
        message = approval_message(e.request_id, e.after, later, e.request.effective_date, skipped)
    elif e.target == "offboarded":
        message = offboarded_message(e.request_id, e.after, skipped)
    else:
        return e
    return replace(e, params={**e.params, "sync_message": message})


def _kind_and_target(request_id: str, key: str) -> tuple[str, str]:
    """An effect key's kind and target (`<request>/<kind>/<target>`, maybe `@g<N>`)."""
    base, sep, tail = key.rpartition("@g")
    if sep and tail.isdigit():
        key = base
    kind, _, target = key.removeprefix(f"{request_id}/").partition("/")
    return kind, target


def _key_words(request_id: str, key: str) -> str:
    return describe_kind(*_kind_and_target(request_id, key))


def _skipped_words(request_id: str, keys: Sequence[str], skipped: frozenset[str]) -> str:
    shown = []
    for key in keys:
        if key not in skipped:
            continue
        kind, target = _kind_and_target(request_id, key)
        shown.append(
            _SKIP_WORDS.get(EffectKind(kind), "{kind} ({target})").format(
                kind=kind, target=_TARGET_WORDS.get(target, target)
            )
        )
    return f" Skipped (nothing to do): {', '.join(shown)}." if shown else ""


_UNDO_WORDS: Mapping[EffectKind, str] = {
    EffectKind.UNDO_TRACKER: "{target} row and status restored",
    EffectKind.UNDO_MARK: "{target} row marked withdrawn",
    EffectKind.UNDO_TRELLO: "Trello cards reopened on the {target} board",
    EffectKind.UNDO_RETRACTION: "Simpli.fi told to disregard the notice",
    EffectKind.UNDO_NOTICE: "TDA Department Manager told of the undo",
    EffectKind.UNDO_WRITEBACK: "Salesforce updated (undone)",
}
_UNDO_TARGETS: Mapping[str, str] = {
    "ds_tracker": "DS tracker",
    "ari_tracker": "ARI tracker",
    "planner": "Planner Sheet",
    "offboarding": "DigMS Offboarding Sheet",
    "monthly": "Monthly Sheet",
    "tda": "Targeted Digital Advertising",
    "design": "Digital Marketing Graphic Design",
}


def describe_undo(e: Effect) -> str:
    return describe_undo_kind(e.kind, e.target)


def describe_undo_kind(kind: EffectKind, target: str) -> str:
    """A reversal in a person's words, known by kind and target (the ledger, the run log)."""
    return _UNDO_WORDS[kind].format(target=_UNDO_TARGETS.get(target, target))
