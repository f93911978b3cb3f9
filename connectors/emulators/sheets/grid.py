"""The spreadsheet model behind the Google emulator: cells, formulas, tabs, A1 regions.

Why a module: what a spreadsheet holds and how a cell reads back (text vs formula, USER_ENTERED
input, a small formula evaluator, grids that grow and shrink) is independent of HTTP, auth and
seeding; the emulator's routes only read and change these objects. Errors are raised as
EmulatorError with the message Google would send, so the routes can pass them through.
"""

from __future__ import annotations

import ast
import operator
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.emulators.base import EmulatorError
from connectors.emulators.sheets.a1 import col_letter, parse_ref, quote_title, split_tab
from connectors.emulators.sheets.cells import (
    NUMBER,
    Cell,
    Formula,
    Typed,
    from_cell_data,
    seed_cell,
    text_of,
    user_entered,
)

# Cells moved to sheets_cells; re-exported so imports from here keep working.
__all__ = [
    "DEFAULT_COLS",
    "DEFAULT_ROWS",
    "NUMBER",
    "Cell",
    "Formula",
    "Region",
    "Sheet",
    "Spreadsheet",
    "Typed",
    "evaluate",
    "from_cell_data",
    "seed_cell",
    "text_of",
    "user_entered",
]

DEFAULT_ROWS = 1000
DEFAULT_COLS = 26


# ----- regions -------------------------------------------------------------------------------
@dataclass
class Region:
    """A rectangle of one tab; ends exclusive, None = to the grid's end."""

    sheet: Sheet
    r0: int
    c0: int
    r1: int | None
    c1: int | None

    def rows_end(self) -> int:
        return self.sheet.row_count if self.r1 is None else min(self.r1, self.sheet.row_count)

    def cols_end(self) -> int:
        return self.sheet.col_count if self.c1 is None else min(self.c1, self.sheet.col_count)

    def a1(self) -> str:
        r1, c1 = self.rows_end(), self.cols_end()
        start = f"{col_letter(self.c0)}{self.r0 + 1}"
        end = f"{col_letter(max(c1 - 1, self.c0))}{max(r1, self.r0 + 1)}"
        body = start if start == end else f"{start}:{end}"
        return f"{quote_title(self.sheet.title)}!{body}"


# ----- formulas ------------------------------------------------------------------------------
_BINOPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def evaluate(sheet: Sheet, formula: str, depth: int = 0) -> str:
    """The displayed value of a (small subset of) Sheets formulas."""
    if depth > 20:
        return "#REF!"
    try:
        node = ast.parse(formula[1:].strip(), mode="eval").body
        return text_of(_eval_node(sheet, node, depth))
    except ZeroDivisionError:
        return "#DIV/0!"
    except Exception:
        return "#NAME?"


def _eval_node(sheet: Sheet, node: ast.expr, depth: int) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = float(_eval_node(sheet, node.operand, depth))
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left = float(_eval_node(sheet, node.left, depth))
        return _BINOPS[type(node.op)](left, float(_eval_node(sheet, node.right, depth)))
    if isinstance(node, ast.Name):
        row, col = parse_ref(node.id, node.id)
        if row is None or col is None:
            raise ValueError(node.id)
        cell = sheet.get(row, col)
        if isinstance(cell, Typed):
            return cell.value
        shown = sheet.display(row, col, depth + 1)
        return float(shown) if NUMBER.match(shown) else shown
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.upper() == "HYPERLINK"
        and 1 <= len(node.args) <= 2
    ):
        args = [_eval_node(sheet, a, depth) for a in node.args]
        return args[-1]
    raise ValueError("unsupported formula")


# ----- data model ----------------------------------------------------------------------------
@dataclass
class Sheet:
    sheet_id: int
    title: str
    rows: list[list[Cell]] = field(default_factory=list)
    row_count: int = DEFAULT_ROWS
    col_count: int = DEFAULT_COLS
    sized: bool = False  # seeded with an explicit grid size or id (kept in snapshots)
    hidden: bool = False

    def copy(self) -> Sheet:
        return Sheet(
            self.sheet_id,
            self.title,
            [r[:] for r in self.rows],
            self.row_count,
            self.col_count,
            self.sized,
            self.hidden,
        )

    def get(self, r: int, c: int) -> Cell:
        if r < len(self.rows):
            row = self.rows[r]
            if c < len(row):
                return row[c]
        return ""

    def display(self, r: int, c: int, depth: int = 0) -> str:
        cell = self.get(r, c)
        if isinstance(cell, Typed):
            return cell.shown
        return evaluate(self, cell.text, depth) if isinstance(cell, Formula) else cell

    def put(self, r: int, c: int, value: Cell) -> None:
        if r >= self.row_count or c >= self.col_count:
            raise EmulatorError(
                400,
                f"Range ({quote_title(self.title)}!{col_letter(c)}{r + 1}) exceeds grid limits. "
                f"Max rows: {self.row_count}, max columns: {self.col_count}",
            )
        while len(self.rows) <= r:
            self.rows.append([])
        row = self.rows[r]
        if len(row) <= c:
            if value == "":
                return
            row.extend([""] * (c + 1 - len(row)))
        row[c] = value

    def last_data_row(self, c0: int = 0, c1: int | None = None) -> int:
        """Index of the last row with a value in columns [c0, c1), or -1."""
        for r in range(len(self.rows) - 1, -1, -1):
            if any(v != "" for v in self.rows[r][c0:c1]):
                return r
        return -1

    def insert_rows(self, at: int, n: int) -> None:
        if at < len(self.rows):
            self.rows[at:at] = [[] for _ in range(n)]
        self.row_count += n

    def delete_rows(self, start: int, end: int) -> None:
        del self.rows[start:end]
        self.row_count -= end - start

    def insert_cols(self, at: int, n: int) -> None:
        for row in self.rows:
            if at < len(row):
                row[at:at] = [""] * n
        self.col_count += n

    def delete_cols(self, start: int, end: int) -> None:
        for row in self.rows:
            del row[start:end]
        self.col_count -= end - start

    def properties(self, index: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": index,
            "sheetType": "GRID",
            "gridProperties": {"rowCount": self.row_count, "columnCount": self.col_count},
        }
        if self.hidden:  # Google leaves `hidden` out when false
            out["hidden"] = True
        return out


@dataclass
class Spreadsheet:
    id: str
    title: str
    sheets: list[Sheet] = field(default_factory=list)

    def by_title(self, title: str) -> Sheet | None:
        for s in self.sheets:
            if s.title == title:
                return s
        for s in self.sheets:  # Google matches tab names case-insensitively
            if s.title.lower() == title.lower():
                return s
        return None

    def by_id(self, sheet_id: Any, where: str) -> Sheet:
        for s in self.sheets:
            if s.sheet_id == sheet_id:
                return s
        raise EmulatorError(400, f"Invalid {where}: No grid with id: {sheet_id}")

    def new_sheet_id(self, title: str) -> int:
        taken = {s.sheet_id for s in self.sheets}
        if not self.sheets:
            return 0
        n = zlib.crc32(f"{self.id}/{title}".encode()) % 2_000_000_000 + 1
        while n in taken:
            n += 1
        return n

    def region(self, text: str) -> Region:
        """Parse an A1 range (or a bare tab name) against this spreadsheet."""
        tab, cells = split_tab(text)
        if tab is None:
            sheet = self.by_title(text) if text else None
            if sheet is not None:
                return Region(sheet, 0, 0, None, None)
            if not self.sheets:
                raise EmulatorError(400, f"Unable to parse range: {text}")
            sheet = self.sheets[0]
        else:
            found = self.by_title(tab)
            if found is None:
                raise EmulatorError(400, f"Unable to parse range: {text}")
            sheet = found
        if not cells:
            return Region(sheet, 0, 0, None, None)
        start, _, end = cells.partition(":")
        r0, c0 = parse_ref(start, text)
        if not end:
            if r0 is None or c0 is None:
                raise EmulatorError(400, f"Unable to parse range: {text}")
            return Region(sheet, r0, c0, r0 + 1, c0 + 1)
        r1, c1 = parse_ref(end, text)
        if (c0 is None) != (c1 is None) and r0 is None:
            raise EmulatorError(400, f"Unable to parse range: {text}")
        if r0 is not None and r1 is not None and r1 < r0:
            r0, r1 = r1, r0
        if c0 is not None and c1 is not None and c1 < c0:
            c0, c1 = c1, c0
        return Region(
            sheet,
            r0 or 0,
            c0 or 0,
            None if r1 is None else r1 + 1,
            None if c1 is None else c1 + 1,
        )

    def copy(self) -> Spreadsheet:
        return Spreadsheet(self.id, self.title, [s.copy() for s in self.sheets])
