"""`python -m sync status` as text, from the same facts the page shows (see `facts`)."""

from __future__ import annotations

from datetime import datetime

from sync.core.domain import EffectState
from sync.ops.page.facts import StatusFacts
from sync.ops.render import wrap


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def status_text(facts: StatusFacts) -> str:
    out: list[str] = []
    if not facts.requests:
        out.append("No open requests: everything owed has been done.\n")
    else:
        out.append(f"{len(facts.requests)} open request(s)\n")
    for req in facts.requests:
        out.append(
            f"\n{req.label}  {req.type}, effective {req.effective_date or '?'}, Salesforce "
            f"status '{req.sf_status}'\n"
        )
        if req.done:
            names = ", ".join(
                s.name + (" (skipped)" if s.state is EffectState.SKIPPED else "") for s in req.done
            )
            out.append(wrap(f"done: {names}") + "\n")
        out.extend(wrap(f"{s.name}: {s.word}") + "\n" for s in req.owed)
        out.extend(wrap(f"needs a person: {m}") + "\n" for m in req.findings)
    out.extend(_adopted(facts))
    if facts.undone:
        out.append(f"\nUndone ({len(facts.undone)}):\n")
        for u in facts.undone:
            line = f"{u.label}: undone {_when(u.finished_at)} UTC ({u.why})"
            if u.generation > 1:
                line += f", life {u.generation}"
            out.append(wrap(line) + "\n")
    return "".join(out)


def _adopted(facts: StatusFacts) -> list[str]:
    if not facts.adopted:
        return []
    still = [a for a in facts.adopted if a.state == "adopted"]
    cutovers = sorted({a.cutover for a in still})
    out = [
        f"\n{len(still)} request(s) adopted at the cut-over ({', '.join(cutovers)}): handled by "
        "people; the sync never acts on them by itself\n"
    ]
    for a in sorted(facts.adopted, key=lambda a: a.label):
        if a.state == "released":
            out.append(wrap(f"{a.label}: adopted, then {a.note}: the sync acts on it") + "\n")
        elif a.note:
            out.append(
                wrap(
                    f"{a.label} [adopted]: changed since (status now '{a.seen_status}', "
                    f"approved {a.seen_approved_on}); reported, nothing done"
                )
                + "\n"
            )
    return out
