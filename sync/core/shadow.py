"""Shadow mode, decided without I/O: what the sync would have done beside what people did.

A dry run asks each connector, read-only, whether the target of every due effect already shows
it (`verify`). Here those answers become the comparison the operations lead reads: effects
people already did (the sync agrees), effects the sync would still do (people have not, or not
yet: where they differ), and emails, which cannot be checked after the fact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sync.core.domain import Check, CheckState, Effect, Finding, System
from sync.core.wording import describe


@dataclass
class Comparison:
    today: date
    done_by_people: list[tuple[Effect, str]] = field(default_factory=list)
    would_do: list[tuple[Effect, str]] = field(default_factory=list)
    unchecked: list[tuple[Effect, str]] = field(default_factory=list)  # email, failed checks
    findings: list[Finding] = field(default_factory=list)
    stop_reason: str = ""

    @property
    def matches(self) -> bool:
        """People did everything the sync would have done (emails aside)."""
        return not self.would_do


def compare(
    today: date,
    due: Sequence[Effect],
    checks: Mapping[str, Check],
    findings: Sequence[Finding] = (),
    stop_reason: str = "",
) -> Comparison:
    out = Comparison(today, findings=list(findings), stop_reason=stop_reason)
    for e in due:
        c = checks.get(e.key)
        if e.system is System.EMAIL:
            out.unchecked.append((e, "an email cannot be checked afterwards"))
        elif c is None or c.state is CheckState.UNKNOWN:
            out.unchecked.append((e, c.message if c else "not checked"))
        elif c.state is CheckState.DONE:
            out.done_by_people.append((e, c.message))
        else:
            out.would_do.append((e, c.message))
    return out


def check_word(e: Effect, checks: Mapping[str, Check]) -> str:
    """How the dry run's plan labels a due effect."""
    if e.system is System.EMAIL:
        return "would do (email: cannot be checked)"
    c = checks.get(e.key)
    if c is None:
        return "due now"
    if c.state is CheckState.DONE:
        return "already done by a person"
    if c.state is CheckState.NOT_DONE:
        return "would do"
    return "would do (not checked)"


def report_text(cmp: Comparison) -> str:
    """The daily shadow report to the operations lead (and `--dry-run`'s summary)."""
    n_done, n_do, n_un = len(cmp.done_by_people), len(cmp.would_do), len(cmp.unchecked)
    lines = [
        f"Shadow report for {cmp.today:%Y-%m-%d}: the sync ran without writing anything.",
        f"Due today: {n_done + n_do + n_un} effect(s). Already done by people: {n_done}. "
        f"The sync would do: {n_do}. Emails (cannot be checked): {n_un}.",
        "",
    ]
    if cmp.stop_reason:
        lines += [f"A live run would stop before any write: {cmp.stop_reason}", ""]
    sections = (
        (
            "Where people and the sync differ (the sync would do it; people have not yet):",
            cmp.would_do,
        ),
        ("What people did (the sync agrees and would do nothing):", cmp.done_by_people),
        ("What the sync would send or could not check:", cmp.unchecked),
    )
    for title, items in sections:
        if not items:
            continue
        lines.append(title)
        for e, why in items:
            lines.append(f"  {e.request.label}: {describe(e)}" + (f" ({why})" if why else ""))
        lines.append("")
    if cmp.matches:
        lines.append("People did everything the sync would have done (emails aside).")
    person = [f for f in cmp.findings if f.needs_person]
    if person:
        lines.append("")
        lines.append("Needs a person:")
        lines.extend(f"  {f.label or f.request_id}: {f.message}" for f in person)
    return "\n".join(lines).rstrip() + "\n"
