"""What a spreadsheet read shows (tabs, rows found by key) and what a write will do to it.

The model the Sheets deciding works on, shared by the forward effects (`connectors.sheets.rows`,
`connectors.sheets.plan`) and the undo (`connectors.sheets.undo`). Pure: no network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.core.domain import Outcome, OutcomeStatus
from sync.core.names import id_key, name_key

_SF_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


# How a verdict says the target already shows the effect, done by a person, not the sync.
DONE_BY_PERSON = "done by a person"


class Verdict(Exception):  # noqa: N818 (a decision about one effect, not a fault)
    """One effect cannot go on; carries its outcome."""

    def __init__(self, status: OutcomeStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def norm_header(text: str) -> str:
    return name_key(text)


def letter(col: int) -> str:
    """A column's A1 letters (0 -> A, 26 -> AA)."""
    out, n = "", col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _id_forms(key: str) -> list[str]:
    """The forms a key may take in a sheet: itself, and a Salesforce id's 15-character form."""
    value = id_key(key)
    if not value:
        return []
    return [value, value[:15]] if len(value) == 18 and _SF_ID.fullmatch(value) else [value]


# ----- what a read returns -------------------------------------------------------------------
@dataclass
class Tab:
    title: str
    sheet_id: int
    rows: list[list[str]]  # displayed values; rows[0] is the header row
    column_count: int = 26
    # (row, col) -> the formula a person wrote there, when the read asked for what was entered
    # (`userEnteredValue`): a removed row's copy keeps it (=HYPERLINK keeps its target).
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    _index: dict[int, dict[str, list[int]]] = field(default_factory=dict, repr=False)
    # normalised header -> its columns; built once per read (a big run asks thousands of times)
    _by_header: dict[str, list[int]] | None = field(default=None, repr=False)

    @property
    def headers(self) -> list[str]:
        return self.rows[0] if self.rows else []

    def value(self, row: int, col: int) -> str:
        cells = self.rows[row] if row < len(self.rows) else []
        return cells[col] if col < len(cells) else ""

    def columns(self, header: str) -> list[int]:
        if self._by_header is None:
            self._by_header = {}
            for i, h in enumerate(self.headers):
                self._by_header.setdefault(norm_header(h), []).append(i)
        return list(self._by_header.get(norm_header(header), ()))

    def find(self, col: int, key: str) -> list[int]:
        """Row indexes (0-based, never the header) whose `col` holds `key`.

        A Salesforce id matches in its 15- or 18-character form; two 18-character ids that
        share their first 15 characters stay different.
        """
        index = self._index.get(col)
        if index is None:
            index = {}
            for r in range(1, len(self.rows)):
                value = id_key(self.value(r, col))
                if value:
                    index.setdefault(value, []).append(r)
                    if len(value) == 18 and _SF_ID.fullmatch(value):
                        index.setdefault("15:" + value[:15], []).append(r)
            self._index[col] = index
        forms = _id_forms(key)
        if len(forms) == 1 and len(forms[0]) == 15 and _SF_ID.fullmatch(forms[0]):
            forms.append("15:" + forms[0])
        return sorted({r for f in forms for r in index.get(f, [])})


def parse_book(body: Mapping[str, Any]) -> dict[str, Tab]:
    tabs: dict[str, Tab] = {}
    for sheet in body.get("sheets") or []:
        props = sheet.get("properties") or {}
        rows: list[list[str]] = []
        formulas: dict[tuple[int, int], str] = {}
        for grid in sheet.get("data") or []:
            for row in grid.get("rowData") or []:
                cells = row.get("values") or []
                for c, cell in enumerate(cells):
                    entered = cell.get("userEnteredValue") or {}
                    if "formulaValue" in entered:
                        formulas[(len(rows), c)] = str(entered["formulaValue"])
                rows.append([str(c.get("formattedValue", "")) for c in cells])
        title = str(props.get("title", ""))
        grid_props = props.get("gridProperties") or {}
        tabs[title] = Tab(
            title,
            int(props.get("sheetId", 0)),
            rows,
            int(grid_props.get("columnCount", 26)),
            formulas=formulas,
        )
    return tabs


def find_tab(book: Mapping[str, Tab], title: str) -> Tab | None:
    found = book.get(title)
    if found is not None:
        return found
    for t in book.values():  # Google matches tab names without regard to case
        if name_key(t.title) == name_key(title):
            return t
    return None


# ----- what a write does ---------------------------------------------------------------------
@dataclass
class TabWrites:
    tab: Tab | None  # None: the tab is created by this write
    title: str
    headers: list[str] = field(default_factory=list)  # header row (new or extended tabs)
    header_from: int = 0  # header cells from this column on are written
    cells: dict[tuple[int, int], str] = field(default_factory=dict)
    appends: list[dict[int, str]] = field(default_factory=list)
    # (index in appends, column) of cells that go in as formulas (copied from a person's row);
    # every other value goes in as text.
    formula_cells: set[tuple[int, int]] = field(default_factory=set)
    deletes: set[int] = field(default_factory=set)
    # Rows put back at a place (undo): (index in the tab as read, its cells). Applied after the
    # deletions, each before the row that was at that index.
    inserts: list[tuple[int, dict[int, str]]] = field(default_factory=list)


@dataclass
class BookPlan:
    decided: dict[str, Outcome] = field(default_factory=dict)  # known without writing
    pending: dict[str, str] = field(default_factory=dict)  # effect key -> message once written
    writes: dict[str, TabWrites] = field(default_factory=dict)
    # (tab title, key) -> the new row in `writes`, so a flag can go into a row added this run
    new_rows: dict[tuple[str, str], dict[int, str]] = field(default_factory=dict)
    failed_adds: dict[str, str] = field(default_factory=dict)  # request id -> why
    sheet_ids: set[int] = field(default_factory=set)  # every tab id seen, for a new tab's id
    # effect key -> what the write replaces, recorded before the write (Journal.before_image)
    images: dict[str, dict[str, object]] = field(default_factory=dict)
    # effect key -> what it left for a person (written, but NEEDS_PERSON)
    caveats: dict[str, str] = field(default_factory=dict)

    def writes_for(self, tab: Tab) -> TabWrites:
        return self.writes.setdefault(tab.title, TabWrites(tab, tab.title))
