"""Pure deciding for the Sheets side of an undo: the tracker row back, the added rows marked.

Built on `connectors.sheets.rows` (the same read, the same re-check by key just before the one
atomic batchUpdate). What to put back comes from the before-images the forward effects recorded
(`Effect.params`, set by `sync.core.undo`): the tracker cells the sync overwrote with their previous
values, and the removed row's former place (the key of the row above and below it). The row's
values come from its copy in the "removed" tab, found by request id; the copy is deleted in the
same batch, so the row is never in both places nor in none.

A cell that no longer shows what the sync wrote was changed by a person since: it is left alone
and reported (NEEDS_PERSON), the rest of the undo still goes in. The next run, told by the
planner that it was reported, keeps the person's value and calls the reversal done, so the rest
of the undo (the Salesforce write-back) is not held back for ever. A Planner, Monthly or
Offboarding row is a person's record: it is marked withdrawn (its key cell becomes
"WITHDRAWN <date>: <key>"), never deleted; the marked key no longer matches, so a re-approved
request adds a fresh row.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from connectors.sheets.book import BookPlan, Tab, Verdict, find_tab, norm_header
from connectors.sheets.rows import EffectRows
from sync.core.domain import OutcomeStatus

MARK = "WITHDRAWN {date}: {key}"


def is_marked(value: str, key: str) -> bool:
    """A key cell marked by `mark` (on any day)."""
    text = value.strip()
    return text.startswith("WITHDRAWN ") and text.endswith(f": {key}")


def mark(ctx: EffectRows, plan: BookPlan, today: date) -> tuple[bool, str]:
    """Mark the row this request added as withdrawn; a row never added is nothing to mark."""
    key_col = ctx.col(ctx.sheet.key)
    key = ctx.key().strip()
    row = ctx.one_row(ctx.tab, key_col, key)
    if row is None:
        for r in range(1, len(ctx.tab.rows)):
            if is_marked(ctx.tab.value(r, key_col), key):
                return True, f"row {r + 1} is already marked withdrawn"
        raise Verdict(
            OutcomeStatus.SKIPPED,
            f"{ctx.where}: no row for '{key}' (none was added): nothing to mark",
        )
    text = MARK.format(date=today.isoformat(), key=ctx.tab.value(row, key_col).strip())
    plan.writes_for(ctx.tab).cells[(row, key_col)] = text
    return False, f"row {row + 1} marked '{text}'"


def restore(ctx: EffectRows, plan: BookPlan, book: dict[str, Tab]) -> tuple[bool, str]:
    """Put the tracker row back (from its copy, at its place or appended) with the cells the
    sync overwrote set back to their previous values."""
    params = ctx.effect.params
    status: dict[str, Any] = json.loads(params.get("status_image") or "{}")
    removal: dict[str, Any] = json.loads(params.get("remove_image") or "{}")
    previous: dict[str, str] = dict(status.get("previous") or {})
    written: dict[str, str] = dict(status.get("written") or {})
    key_col = ctx.col(ctx.sheet.key)
    key = ctx.key()
    row = ctx.one_row(ctx.tab, key_col, key)
    copy = ctx.copy_row(book)
    removed = find_tab(book, ctx.sheet.removed_tab) if ctx.sheet.removed_tab else None
    left: list[str] = []  # cells a person changed: not overwritten, reported
    done: list[str] = []
    if row is None:
        if copy is None or removed is None:
            if status or removal:
                raise Verdict(
                    OutcomeStatus.NEEDS_PERSON,
                    f"{ctx.where}: no row for '{key}' and no copy of it in "
                    f"'{ctx.sheet.removed_tab}'; put the row back by hand",
                )
            raise Verdict(OutcomeStatus.SKIPPED, f"{ctx.where}: nothing of '{key}' to restore")
        copied = {
            norm_header(h): removed.value(copy, c) for c, h in enumerate(removed.headers) if h
        }
        cells: dict[int, str] = {}
        for c, header in enumerate(ctx.tab.headers):
            if header.strip():
                cells[c] = copied.get(norm_header(header), "")
        _set_back(ctx.tab, cells, previous, written, left)
        place = _former_place(ctx.tab, key_col, removal)
        out = plan.writes_for(ctx.tab)
        if place is None:
            out.appends.append(cells)
            done.append(f"row put back at the end of '{ctx.tab.title}' (its place has changed)")
        else:
            out.inserts.append((place, cells))
            done.append(f"row put back as row {place + 1} of '{ctx.tab.title}'")
        plan.writes_for(removed).deletes.add(copy)
        done.append(f"its copy (row {copy + 1} of '{removed.title}') deleted")
    else:
        cells = {c: ctx.tab.value(row, c) for c in range(len(ctx.tab.headers))}
        before = dict(cells)
        _set_back(ctx.tab, cells, previous, written, left)
        changes = {c: v for c, v in cells.items() if v != before[c]}
        if changes:
            plan.writes_for(ctx.tab).cells.update({(row, c): v for c, v in changes.items()})
            shown = ", ".join(f"{ctx.tab.headers[c]} '{v}'" for c, v in changes.items())
            done.append(f"row {row + 1}: {shown}")
        if copy is not None and removed is not None:
            plan.writes_for(removed).deletes.add(copy)
            done.append(f"the stale copy (row {copy + 1} of '{removed.title}') deleted")
    why = (
        f"{ctx.where}: not restored, changed by someone since the sync wrote it: " + "; ".join(left)
        if left
        else ""
    )
    if not done:
        if left and not params.get("reported"):
            raise Verdict(OutcomeStatus.NEEDS_PERSON, why)
        if left:  # reported by an earlier run: the person's value stands
            return True, f"left as a person set it (reported before): {'; '.join(left)}"
        return True, f"row {row + 1 if row is not None else '?'} already as before the sync"
    if left:
        plan.caveats[ctx.effect.key] = "; ".join(done) + f". {why}"
    return False, "; ".join(done)


def _set_back(
    tab: Tab,
    cells: dict[int, str],
    previous: dict[str, str],
    written: dict[str, str],
    left: list[str],
) -> None:
    """The cells that still show what the sync wrote get their previous value back."""
    for header, old in previous.items():
        cols = tab.columns(header)
        if len(cols) != 1:
            left.append(f"'{header}' (no single column so headed; it was '{old}')")
            continue
        now = cells.get(cols[0], "")
        if now == old:
            continue
        if now == written.get(header):
            cells[cols[0]] = old
        else:
            left.append(
                f"'{header}' shows '{now}' (the sync wrote '{written.get(header, '')}', "
                f"it was '{old}')"
            )


def _former_place(tab: Tab, key_col: int, removal: dict[str, Any]) -> int | None:
    """The row's former index if its neighbours are still around it there, else None."""
    if "row" not in removal:
        return None
    r = int(removal["row"])
    above, below = str(removal.get("above", "")), str(removal.get("below", ""))
    if r < 1 or r > len(tab.rows):
        return None
    above_now = tab.value(r - 1, key_col).strip() if r > 1 else ""
    below_now = tab.value(r, key_col).strip() if r < len(tab.rows) else ""
    return r if (above_now, below_now) == (above, below) else None
