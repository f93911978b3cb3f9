"""The cut-over, decided without I/O: which requests people handled before the sync took over.

A request is *adopted* when it was approved before the cut-over day. Its "approved" day is the
day of the last approval step in its approval history (the step that made it approved); a record
with no approval history (an org that approves by editing fields) falls back to the record's
last-modified day, which is never earlier than the real approval, so such a request can only
be adopted too late, never too early. A request with neither is never adopted: the safety valve
(`sync.core.valve`) guards it instead.

Adopted requests are recorded in the ledger and never acted on. A later edit of one (its status
left "approved", or a new approval round) is reported once, for a person; nothing is done for
it unless a person asks (`python -m sync --only ID --include-adopted`), which releases it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sync.core.domain import NOT_IN_SALESFORCE, Finding, TakedownRequest
from sync.core.records import AdoptedRow


def approved_on(req: TakedownRequest) -> date | None:
    """The day the request became approved, as far as Salesforce tells (see module doc)."""
    when = req.approved_at or req.modified_at
    return when.date() if when is not None else None


def before_cutover(req: TakedownRequest, cutover: date) -> bool:
    day = approved_on(req)
    return req.approved and day is not None and day < cutover


@dataclass
class Partition:
    """What a run does with the requests Salesforce returned."""

    active: list[TakedownRequest] = field(default_factory=list)  # planned as usual
    to_adopt: list[TakedownRequest] = field(default_factory=list)  # newly adopted this run
    adopted: list[TakedownRequest] = field(default_factory=list)  # adopted earlier, unchanged
    # Adopted requests edited since: (request, status, approved on) to remember as reported.
    changed: list[tuple[TakedownRequest, str, str]] = field(default_factory=list)
    release: str | None = None  # the adopted request a person asked to act on
    findings: list[Finding] = field(default_factory=list)


def partition(
    requests: Sequence[TakedownRequest],
    adopted: Mapping[str, AdoptedRow],
    cutover: date | None,
    *,
    include: str | None = None,
) -> Partition:
    """Split the poll's requests into those the planner sees and those people own.

    `include` is the id or name of one adopted request a person explicitly asked to act on."""
    out = Partition()
    for req in requests:
        row = adopted.get(req.id)
        if include is not None and include in (req.id, req.name):
            if row is not None and row.state == "adopted":
                out.release = req.id
            out.active.append(req)
            continue
        if row is not None and row.state == "released":
            out.active.append(req)
            continue
        if row is not None:
            out.adopted.append(req)
            day = approved_on(req)
            day_text = day.isoformat() if day else ""
            # Without approval history the day is the last-modified one: any edit moves it.
            again = req.approved and req.approved_at is not None
            if req.status != row.seen_status or (again and day_text != row.seen_approved_on):
                note = _change_text(req, row, day_text)
                out.findings.append(Finding(req.id, "adopted_changed", note, label=req.label))
                out.changed.append((req, req.status, day_text))
            continue
        if cutover is not None and before_cutover(req, cutover):
            out.to_adopt.append(req)
            continue
        out.active.append(req)
    if out.to_adopt and cutover is not None:
        names = ", ".join(r.name or r.id for r in out.to_adopt[:10])
        more = f" and {len(out.to_adopt) - 10} more" if len(out.to_adopt) > 10 else ""
        out.findings.append(
            Finding(
                "",
                "adopted_now",
                f"{len(out.to_adopt)} request(s) approved before the cut-over "
                f"{cutover:%Y-%m-%d} (golive.approved_before) were adopted as handled by "
                f"people; nothing is done for them: {names}{more}",
                needs_person=False,
                label="cut-over",
            )
        )
    return out


def _change_text(req: TakedownRequest, row: AdoptedRow, day: str) -> str:
    what: list[str] = []
    if req.status != row.seen_status:
        what.append(f"its status changed from '{row.seen_status}' to '{req.status}'")
    if req.approved and day != row.seen_approved_on:
        what.append(f"it was approved again on {day} (adopted as approved on {row.approved_on})")
    return (
        f"adopted at the cut-over {row.cutover} (handled by people), and since then "
        + " and ".join(what)
        + ". The sync does nothing for adopted requests; check by hand, or to have the sync act "
        f"on it: `python -m sync --only {req.name or req.id} --include-adopted`"
    )


def drop_adopted_findings(
    findings: Sequence[Finding], adopted: Mapping[str, AdoptedRow]
) -> list[Finding]:
    """An adopted request deleted from Salesforce is no loss to the sync: no finding."""
    gone = {rid[:15] for rid, row in adopted.items() if row.state == "adopted"}
    return [f for f in findings if not (f.code == NOT_IN_SALESFORCE and f.request_id[:15] in gone)]
