"""The one atomic `spreadsheets.batchUpdate` a plan becomes, and the check of what it wrote.

`batch_requests` turns a `BookPlan` into the request list (new tabs, headers, cells, appended
and re-inserted rows, deletions bottom-up); `expected_rows` and `rows_not_as_written` compare a
read-back with what the write should have left. Pure: no network.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from connectors.sheets.book import BookPlan, Tab, TabWrites, find_tab


# ----- the batchUpdate body ------------------------------------------------------------------
def _cell(value: str, *, formula: bool = False) -> dict[str, Any]:
    if value == "":
        return {}
    return {"userEnteredValue": {"formulaValue" if formula else "stringValue": value}}


def _row(cells: Mapping[int, str], formula_cols: set[int] | None = None) -> dict[str, Any]:
    width = max(cells, default=-1) + 1
    return {
        "values": [_cell(cells.get(c, ""), formula=c in (formula_cols or ())) for c in range(width)]
    }


def batch_requests(plan: BookPlan) -> list[dict[str, Any]]:
    """One atomic batch: new tabs, headers, cells, appended rows, then deletions bottom-up."""
    ids: dict[str, int] = {}
    adds: list[dict[str, Any]] = []
    grows: list[dict[str, Any]] = []
    headers: list[dict[str, Any]] = []
    cells: list[dict[str, Any]] = []
    appends: list[dict[str, Any]] = []
    deletes: list[dict[str, Any]] = []
    for title, w in plan.writes.items():
        if w.tab is None:
            sheet_id = _new_sheet_id(plan.sheet_ids, title)
            grid = {"rowCount": 1000, "columnCount": max(26, len(w.headers))}
            adds.append(
                {
                    "addSheet": {
                        "properties": {"sheetId": sheet_id, "title": title, "gridProperties": grid}
                    }
                }
            )
        else:
            sheet_id = w.tab.sheet_id
            if len(w.headers) > w.tab.column_count:
                grows.append(
                    {
                        "appendDimension": {
                            "sheetId": sheet_id,
                            "dimension": "COLUMNS",
                            "length": len(w.headers) - w.tab.column_count,
                        }
                    }
                )
        ids[title] = sheet_id
        if len(w.headers) > w.header_from:
            new = {c: w.headers[c] for c in range(w.header_from, len(w.headers))}
            headers.append(_update(sheet_id, 0, w.header_from, [new[c] for c in sorted(new)]))
        for (r, c), value in sorted(w.cells.items()):
            cells.append(_update(sheet_id, r, c, [value]))
        if w.appends:
            appends.append(
                {
                    "appendCells": {
                        "sheetId": sheet_id,
                        "rows": [
                            _row(a, {c for i, c in w.formula_cells if i == n})
                            for n, a in enumerate(w.appends)
                        ],
                        "fields": "userEnteredValue",
                    }
                }
            )
        for r in sorted(w.deletes, reverse=True):
            deletes.append(
                {
                    "deleteDimension": {
                        "range": {
                            "sheetId": sheet_id,
                            "dimension": "ROWS",
                            "startIndex": r,
                            "endIndex": r + 1,
                        }
                    }
                }
            )
        for r, row_cells in _placed_inserts(w):
            rng = {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": r, "endIndex": r + 1}
            deletes.append({"insertDimension": {"range": rng, "inheritFromBefore": r > 1}})
            deletes.append(
                {
                    "updateCells": {
                        "start": {"sheetId": sheet_id, "rowIndex": r, "columnIndex": 0},
                        "rows": [_row(row_cells)],
                        "fields": "userEnteredValue",
                    }
                }
            )
    return [*adds, *grows, *headers, *cells, *appends, *deletes]


def _placed_inserts(w: TabWrites) -> list[tuple[int, dict[int, str]]]:
    """Inserts at their index after this batch's deletions, bottom-up: each goes before the
    row that was at its index in the read, whatever the others do."""
    placed = [(r - sum(1 for d in w.deletes if d < r), cells) for r, cells in w.inserts]
    return sorted(placed, key=lambda item: item[0], reverse=True)


def _new_sheet_id(taken: set[int], title: str) -> int:
    """An id no tab has (the ones a read showed), for later requests of the same batch.

    Derived from the title, not random, so the same run sends the same request every time
    (recorded HTTP stays byte-identical); steps past ids already taken."""
    digest = hashlib.sha256(title.encode("utf-8")).digest()
    candidate = 1_000_000 + int.from_bytes(digest[:4], "big") % 2_000_000_000
    while candidate in taken:
        candidate += 1
    taken.add(candidate)
    return candidate


def _update(sheet_id: int, row: int, col: int, values: list[str]) -> dict[str, Any]:
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": col},
            "rows": [{"values": [_cell(v) for v in values]}],
            "fields": "userEnteredValue",
        }
    }


# ----- checking the write against the sheet as it is after it ------------------------------------
def expected_rows(w: TabWrites, before: list[list[str]]) -> list[list[str]]:
    """The tab as it must look after our batch, from the rows the re-check read just before it:
    header cells, cells, rows appended after the last row with data, then deletions."""
    rows = [list(r) for r in before] if w.tab is not None else []

    def put(r: int, c: int, value: str) -> None:
        while len(rows) <= r:
            rows.append([])
        while len(rows[r]) <= c:
            rows[r].append("")
        rows[r][c] = value

    for c in range(w.header_from, len(w.headers)):
        put(0, c, w.headers[c])
    for (r, c), value in w.cells.items():
        put(r, c, value)
    rows = _trim(rows)
    for n, cells in enumerate(w.appends):
        row = [""] * (max(cells) + 1 if cells else 0)
        for c, value in cells.items():
            # A copied formula reads back as its value, which only Google computes.
            row[c] = ANY_VALUE if (n, c) in w.formula_cells else value
        rows.append(row)
    for r in sorted(w.deletes, reverse=True):
        if r < len(rows):
            del rows[r]
    for r, cells in _placed_inserts(w):
        row = [""] * (max(cells) + 1 if cells else 0)
        for c, value in cells.items():
            row[c] = value
        while len(rows) < r:
            rows.append([])
        rows.insert(r, row)
    return _trim(rows)


def rows_not_as_written(
    plan: BookPlan, before: Mapping[str, Tab], after: Mapping[str, Tab]
) -> dict[str, list[int]]:
    """Tab title -> 1-based rows that differ from what our write should have left.

    Sheets has no conditional write: a person who inserts, sorts or deletes rows in the instant
    between the re-check and the write shifts the rows under it. This cannot prevent that, but
    it sees it in the write's own answer, at no extra call, so the run reports it instead of
    calling the effect done."""
    out: dict[str, list[int]] = {}
    for title, w in plan.writes.items():
        now = find_tab(after, title)
        if now is None:
            out[title] = [1]
            continue
        was = find_tab(before, title)
        want = expected_rows(w, was.rows if was is not None else [])
        got = _trim([list(r) for r in now.rows])
        bad = [
            i + 1
            for i in range(max(len(want), len(got)))
            if not _same_row(want[i] if i < len(want) else [], got[i] if i < len(got) else [])
        ]
        if bad:
            out[title] = bad
    return out


# In an expected row: any value will do (a formula's result).
ANY_VALUE = "\x00any"


def _same_row(want: list[str], got: list[str]) -> bool:
    width = max(len(want), len(got))
    return all(
        w in (ANY_VALUE, g)
        for w, g in (
            (want[c] if c < len(want) else "", got[c] if c < len(got) else "") for c in range(width)
        )
    )


def _trim(rows: list[list[str]]) -> list[list[str]]:
    out = [list(r) for r in rows]
    for r in out:
        while r and r[-1] == "":
            r.pop()
    while out and not out[-1]:
        out.pop()
    return out
