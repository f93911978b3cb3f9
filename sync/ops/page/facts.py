"""Open requests as `python -m sync status` states them, as data: one source for both.

The page's "Open requests" must say the same facts as `status`, no more and no fewer; building
both from `open_requests` makes that true by construction, and `status_text` renders the facts
the way `status` prints them (tested byte for byte against it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sync.core.domain import FINAL_STATES, NOT_IN_SALESFORCE, EffectState, Finding
from sync.core.records import AdoptedRow, EffectRow, UndoRecord


@dataclass(frozen=True)
class Step:
    """One effect of a request: done (or skipped), or owed with the words `status` uses."""

    key: str
    kind: str
    target: str
    state: EffectState
    word: str  # "" for a done step; else what `status` says after "kind/target: "
    not_before: str

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.target}"


@dataclass(frozen=True)
class OpenRequest:
    request_id: str
    label: str
    name: str
    client: str
    type: str
    effective_date: str  # as stored (ISO date, or what Salesforce held), "" when unknown
    sf_status: str
    done: tuple[Step, ...]
    owed: tuple[Step, ...]
    findings: tuple[str, ...]

    @property
    def failed(self) -> int:
        """Owed steps that did not go through (failed, need a person, unconfirmed sends)."""
        bad = (EffectState.FAILED, EffectState.NEEDS_PERSON, EffectState.SENDING)
        return sum(1 for s in self.owed if s.state in bad)


@dataclass(frozen=True)
class Undone:
    label: str
    finished_at: str
    why: str
    generation: int


@dataclass(frozen=True)
class StatusFacts:
    requests: tuple[OpenRequest, ...]
    adopted: tuple[AdoptedRow, ...]
    undone: tuple[Undone, ...]


def split_label(label: str, fallback: str) -> tuple[str, str]:
    """(name, client) from the ledger's label "TR-00042 (Client Name)"; the name never holds
    " (", a client name may (so the first one splits)."""
    name, sep, rest = label.partition(" (")
    if sep and rest.endswith(")"):
        return name, rest[:-1]
    return label or fallback, ""


def owed_word(r: EffectRow) -> str:
    return {
        EffectState.PLANNED: f"owed from {r.not_before}",
        EffectState.FAILED: f"failed {r.attempts}x, retried each run: {r.last_error}",
        EffectState.NEEDS_PERSON: f"needs a person: {r.last_error}",
        EffectState.ON_HOLD: f"on hold: {r.last_error}",
        EffectState.SENDING: "unconfirmed send: check the mailbox, then "
        f"`python -m sync resolve {r.key} --sent` or `--resend`",
    }.get(r.state, str(r.state))


def open_requests(
    rows: Iterable[EffectRow],
    findings: Iterable[Finding],
    labels: Mapping[str, Mapping[str, str]],
    adopted: Mapping[str, AdoptedRow],
    undos: Mapping[str, Sequence[UndoRecord]],
) -> StatusFacts:
    """Every request with something owed or a finding, in `status` order (by label)."""
    by_request: dict[str, list[EffectRow]] = defaultdict(list)
    for row in rows:
        by_request[row.request_id].append(row)
    found: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.code == NOT_IN_SALESFORCE and f.request_id not in by_request:
            continue  # a request never acted on that Salesforce does not show: a phantom
        found[f.request_id].append(f)
    open_ids = sorted(
        {rid for rid, rs in by_request.items() if any(r.state not in FINAL_STATES for r in rs)}
        | set(found),
        key=lambda rid: labels.get(rid, {}).get("label", rid),
    )
    out = []
    for rid in open_ids:
        info = labels.get(rid, {})
        label = info.get("label", rid)
        name, client = split_label(label, rid)
        rs = by_request.get(rid, [])
        out.append(
            OpenRequest(
                request_id=rid,
                label=label,
                name=name,
                client=client,
                type=info.get("type", ""),
                effective_date=info.get("effective_date") or "",
                sf_status=info.get("status", "?"),
                done=tuple(_step(r, "") for r in rs if r.state in FINAL_STATES),
                owed=tuple(_step(r, owed_word(r)) for r in rs if r.state not in FINAL_STATES),
                findings=tuple(f.message for f in found.get(rid, [])),
            )
        )
    return StatusFacts(tuple(out), tuple(adopted.values()), _undone(undos, labels))


def _step(r: EffectRow, word: str) -> Step:
    return Step(r.key, r.kind, r.target, r.state, word, r.not_before)


def _undone(
    undos: Mapping[str, Sequence[UndoRecord]], labels: Mapping[str, Mapping[str, str]]
) -> tuple[Undone, ...]:
    done = [u for recs in undos.values() for u in recs if u.finished_at]
    done.sort(key=lambda u: u.finished_at or "", reverse=True)
    return tuple(
        Undone(
            label=labels.get(u.request_id, {}).get("label", u.request_id),
            finished_at=u.finished_at or "",
            why=f"forced: {u.reason}"
            if u.forced
            else (u.reason or "withdrawn after the sync acted"),
            generation=u.generation,
        )
        for u in done
    )
