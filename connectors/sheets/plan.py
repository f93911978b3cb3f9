"""Pure deciding for Google Sheets: what a spreadsheet read shows, and what to write.

Split from `connectors.sheets.connector` so that deciding can be tested without a network: this
module never calls Google. It parses a `spreadsheets.get` body into tabs, locates rows by key (never
by a remembered row number), decides each effect's cells and rows (or why it cannot go on), and
builds the request list of the one atomic `spreadsheets.batchUpdate`. The connector does the
reads, the write and the retries around it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Journal
from sync.config.model import Config, SheetConfig
from sync.core.domain import Effect, EffectKind, Outcome, OutcomeStatus, RequestType
from sync.core.names import id_key, name_key

REMOVED_ON = "Removed On"
REMOVED_BY = "Request ID"
_ADD_COLUMNS: Mapping[EffectKind, tuple[str, ...]] = {
    EffectKind.PLANNER_ADD: ("request_id", "client", "type", "effective_date", "reason", "link"),
    EffectKind.MONTHLY_RECORD: ("request_id", "client", "change", "effective_date"),
    EffectKind.OFFBOARDING_ADD: ("request_id", "client", "effective_date", "reason"),
}
# Adds first (a flag may go into a row added in the same run), removals last (a copy shows the
# status just set).
ORDER = (
    EffectKind.PLANNER_ADD,
    EffectKind.MONTHLY_RECORD,
    EffectKind.OFFBOARDING_ADD,
    EffectKind.TRACKER_STATUS,
    EffectKind.NINJACAT_FLAG,
    EffectKind.TRACKER_REMOVE,
    # Reversals last: a restored row goes back after this run's own removals.
    EffectKind.UNDO_MARK,
    EffectKind.UNDO_TRACKER,
)
_SF_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


class _Verdict(Exception):  # noqa: N818 (a decision about one effect, not a fault)
    """One effect cannot go on; carries its outcome."""

    def __init__(self, status: OutcomeStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _norm_header(text: str) -> str:
    return name_key(text)


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
                self._by_header.setdefault(_norm_header(h), []).append(i)
        return list(self._by_header.get(_norm_header(header), ()))

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
class Plan:
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


# ----- deciding ------------------------------------------------------------------------------
def plan_book(
    cfg: Config,
    group: list[tuple[Effect, str, SheetConfig]],
    book: dict[str, Tab],
    base: dict[str, Tab] | None,
    journal: Journal,
    attempted: set[str],
) -> Plan:
    """Decide every effect on `book`; `base` (the first read) shows what people changed."""
    plan = Plan(sheet_ids={t.sheet_id for b in (book, base or {}) for t in b.values()})
    for effect, name, sheet in group:
        try:
            done, message = _plan_one(cfg, plan, effect, name, sheet, book, base, journal)
        except _Verdict as stop:
            if effect.kind is EffectKind.OFFBOARDING_ADD:
                plan.failed_adds[effect.request_id] = stop.message
            plan.decided[effect.key] = Outcome(effect.key, stop.status, stop.message)
            continue
        if not done:
            plan.pending[effect.key] = message
        elif effect.key in attempted:  # our own earlier attempt in this run landed
            plan.decided[effect.key] = Outcome(effect.key, OutcomeStatus.APPLIED, message)
        else:
            plan.decided[effect.key] = Outcome(effect.key, OutcomeStatus.ALREADY_DONE, message)
    return plan


def _plan_one(
    cfg: Config,
    plan: Plan,
    effect: Effect,
    name: str,
    sheet: SheetConfig,
    book: dict[str, Tab],
    base: dict[str, Tab] | None,
    journal: Journal,
) -> tuple[bool, str]:
    """Queue one effect's writes in `plan`: (already done?, what was or will be done)."""
    where = f"{name} sheet (spreadsheet {sheet.spreadsheet_id}, tab '{sheet.tab}')"
    tab = find_tab(book, sheet.tab)
    if tab is None:
        raise _Verdict(OutcomeStatus.FAILED, f"{where}: the tab is missing (renamed?)")
    ctx = _Ctx(cfg, effect, name, sheet, tab, where, base)
    if effect.kind in _ADD_COLUMNS:
        return ctx.add_row(plan)
    if effect.kind is EffectKind.TRACKER_STATUS:
        return ctx.tracker_status(plan, book)
    if effect.kind is EffectKind.NINJACAT_FLAG:
        return ctx.ninja_cat(plan)
    if effect.kind in (EffectKind.UNDO_MARK, EffectKind.UNDO_TRACKER):
        from connectors.sheets import undo as sheets_undo  # noqa: PLC0415 (it builds on this module)

    if effect.kind is EffectKind.UNDO_MARK:
        return sheets_undo.mark(ctx, plan, journal.today)
    if effect.kind is EffectKind.UNDO_TRACKER:
        return sheets_undo.restore(ctx, plan, book)
    return ctx.remove(plan, book, journal)


# ----- one effect ----------------------------------------------------------------------------
@dataclass
class _Ctx:
    """Everything one effect's decision needs; methods return (already done?, message)."""

    cfg: Config
    effect: Effect
    name: str
    sheet: SheetConfig
    tab: Tab
    where: str
    base: dict[str, Tab] | None

    def col(self, logical: str, tab: Tab | None = None) -> int:
        t = tab or self.tab
        header = self.sheet.columns.get(logical, "")
        found = t.columns(header) if header else []
        if not found:
            raise _Verdict(
                OutcomeStatus.FAILED,
                f"{self.where}: no column headed '{header or logical}' "
                "(columns are found by their header in row 1; was it renamed?)",
            )
        if len(found) > 1:
            letters = " and ".join(_letter(c) for c in found)
            raise _Verdict(
                OutcomeStatus.NEEDS_PERSON,
                f"{self.where}: two columns are headed '{header}' ({letters}); keep one",
            )
        return found[0]

    def values(self) -> dict[str, str]:
        """What the request puts in each column the sync knows by name."""
        req = self.effect.request
        fmt = self.cfg.sheets.date_format
        type_text = req.raw_type or (
            self.cfg.salesforce.type_values.get(req.type.value, "") if req.type else ""
        )
        return {
            "request_id": req.id,
            "request_name": req.name,
            "client": req.client_name,
            "account_id": req.account_id,
            "type": type_text,
            "effective_date": req.effective_date.strftime(fmt) if req.effective_date else "",
            "reason": req.reason,
            "link": req.link,
            "platform": req.platform.value if req.platform else req.raw_platform,
            "change": req.new_package,
            "new_package": req.new_package,
            "notes": req.product_change_notes,
            "product_change_notes": req.product_change_notes,
            "services": ", ".join(req.services),
        }

    def key(self) -> str:
        """The request's value for this sheet's key column (request id, account id...)."""
        return self.values().get(self.sheet.key, "") or self.effect.request_id

    def need_date(self) -> str:
        req = self.effect.request
        if req.effective_date is None:
            raise _Verdict(
                OutcomeStatus.FAILED,
                f"{req.label}: no valid effective date (Salesforce shows "
                f"'{req.raw_effective_date}')",
            )
        return req.effective_date.strftime(self.cfg.sheets.date_format)

    def one_row(self, tab: Tab, key_col: int, key: str) -> int | None:
        rows = tab.find(key_col, key)
        if len(rows) > 1:
            numbers = ", ".join(str(r + 1) for r in rows)
            raise _Verdict(
                OutcomeStatus.NEEDS_PERSON,
                f"{self.where}: '{key}' is in rows {numbers}; the sync will not guess which "
                "one is right, merge them",
            )
        return rows[0] if rows else None

    def base_value(self, key_col_header: str, key: str, header: str) -> str | None:
        """The cell's value at the first read (found again by key and header), if known."""
        if self.base is None:
            return None
        tab = find_tab(self.base, self.tab.title)
        if tab is None:
            return None
        key_cols, cols = tab.columns(key_col_header), tab.columns(header)
        if len(key_cols) != 1 or len(cols) != 1:
            return None
        rows = tab.find(key_cols[0], key)
        return tab.value(rows[0], cols[0]) if len(rows) == 1 else None

    def set_cells(self, plan: Plan, row: int, wanted: dict[str, str]) -> tuple[bool, str]:
        """Write `wanted` (logical column -> value) into `row`; report what a person changed."""
        key_col = self.col(self.sheet.key)
        key = self.tab.value(row, key_col)
        writes: dict[int, str] = {}
        for logical, value in wanted.items():
            col = self.col(logical)
            now = self.tab.value(row, col)
            if now == value:
                continue
            header = self.tab.headers[col]
            before = self.base_value(self.tab.headers[key_col], key, header)
            if before is not None and before != now:
                raise _Verdict(
                    OutcomeStatus.NEEDS_PERSON,
                    f"{self.where}, row {row + 1}: '{header}' was changed by someone from "
                    f"'{before}' to '{now}' while the sync was working; not overwritten "
                    f"(the sync would write '{value}')",
                )
            writes[col] = value
        shown = ", ".join(f"{self.tab.headers[self.col(k)]} '{v}'" for k, v in wanted.items())
        if not writes:
            return True, f"row {row + 1} already shows {shown}"
        plan.images[self.effect.key] = {
            "row": row,
            "previous": {self.tab.headers[c]: self.tab.value(row, c) for c in writes},
            "written": {self.tab.headers[c]: v for c, v in writes.items()},
        }
        out = plan.writes_for(self.tab)
        for col, value in writes.items():
            out.cells[(row, col)] = value
        return False, f"row {row + 1}: {shown}"

    # ----- kinds ----------------------------------------------------------------------------
    def add_row(self, plan: Plan) -> tuple[bool, str]:
        kind = self.effect.kind
        self.need_date()
        values = self.values()
        key = self.key()
        key_col = self.col(self.sheet.key)
        # Every mapped column the sync can fill must be there; ninja_cat starts empty.
        logical = [c for c in self.sheet.columns if c in values or c in _ADD_COLUMNS[kind]]
        cols = {name: self.col(name) for name in logical}
        existing = self.one_row(self.tab, key_col, key)
        if existing is not None:
            return True, f"already in row {existing + 1} of '{self.tab.title}'"
        if (self.tab.title, key.strip()) in plan.new_rows:
            return True, "added once by this run already"
        row = {col: values.get(name, "") for name, col in cols.items()}
        row[key_col] = key
        plan.writes_for(self.tab).appends.append(row)
        plan.new_rows[(self.tab.title, key.strip())] = row
        return False, f"row added to '{self.tab.title}'"

    def tracker_status(self, plan: Plan, book: dict[str, Tab]) -> tuple[bool, str]:
        req = self.effect.request
        if req.type not in (RequestType.CANCELLATION, RequestType.PAUSE):
            raise _Verdict(
                OutcomeStatus.FAILED,
                f"{req.label}: a tracker status is only set for a "
                f"cancellation or a pause, not '{req.raw_type}'",
            )
        date_col = "pause_date" if req.type is RequestType.PAUSE else "cancel_date"
        wanted = {
            "status": self.cfg.sheets.tracker_status[req.type.value],
            date_col: self.need_date(),
        }
        key_col = self.col(self.sheet.key)
        for logical in wanted:
            self.col(logical)
        row = self.one_row(self.tab, key_col, self.key())
        if row is None:
            if self.copy_row(book) is not None:
                return True, f"the row was already moved to '{self.sheet.removed_tab}'"
            raise self.missing(self.key())
        return self.set_cells(plan, row, wanted)

    def ninja_cat(self, plan: Plan) -> tuple[bool, str]:
        flag = self.cfg.sheets.ninja_cat_flag
        key_col = self.col(self.sheet.key)
        col = self.col("ninja_cat")
        key = self.key()
        row = self.one_row(self.tab, key_col, key)
        if row is None:
            new = plan.new_rows.get((self.tab.title, key.strip()))
            if new is not None:
                new[col] = flag
                return False, f"flag '{flag}' set in the row added to '{self.tab.title}'"
            why = plan.failed_adds.get(self.effect.request_id)
            if why is not None:
                raise _Verdict(
                    OutcomeStatus.FAILED, f"waits for the offboarding row, not added: {why}"
                )
            raise self.missing(key)
        return self.set_cells(plan, row, {"ninja_cat": flag})

    def remove(self, plan: Plan, book: dict[str, Tab], journal: Journal) -> tuple[bool, str]:
        req = self.effect.request
        if req.type is RequestType.PAUSE:
            raise _Verdict(
                OutcomeStatus.NEEDS_PERSON,
                f"{req.label} is a pause; a pause never removes a tracker row",
            )
        if not self.sheet.removed_tab:
            raise _Verdict(
                OutcomeStatus.FAILED,
                f"{self.where}: no removed_tab in config (sheets.{self.name}.removed_tab); a row "
                "is never removed without keeping a copy",
            )
        key_col = self.col(self.sheet.key)
        row = self.one_row(self.tab, key_col, self.key())
        copied = self.copy_row(book)
        if row is None:
            if copied is not None:
                where = f"'{self.sheet.removed_tab}'"
                return True, f"already removed; the copy is row {copied + 1} of {where}"
            raise self.missing(self.key())
        out = plan.writes_for(self.tab)
        if row in out.deletes:
            return True, "removed by another request in this run"
        plan.images[self.effect.key] = {
            "row": row,
            "above": self.tab.value(row - 1, key_col).strip() if row > 1 else "",
            "below": self.tab.value(row + 1, key_col).strip(),
            "values": {
                h: self.tab.value(row, c) for c, h in enumerate(self.tab.headers) if h.strip()
            },
        }
        if copied is None:
            self.append_copy(plan, book, row, journal)
            what = f"row {row + 1} copied to '{self.sheet.removed_tab}' and deleted"
        else:
            what = f"row {row + 1} deleted (its copy was kept by an earlier run)"
        out.deletes.add(row)
        return False, what

    # ----- helpers of the kinds ---------------------------------------------------------------
    def missing(self, key: str) -> _Verdict:
        req = self.effect.request
        deleted = False
        if self.base is not None:
            base_tab = find_tab(self.base, self.tab.title)
            key_cols = base_tab.columns(self.sheet.columns[self.sheet.key]) if base_tab else []
            deleted = bool(base_tab and len(key_cols) == 1 and base_tab.find(key_cols[0], key))
        if deleted:
            return _Verdict(
                OutcomeStatus.NEEDS_PERSON,
                f"{self.where}: the row for '{key}' ({req.client_name}) was deleted or re-keyed "
                "by someone while the sync was working; nothing written",
            )
        header = self.sheet.columns[self.sheet.key]
        return _Verdict(
            OutcomeStatus.NEEDS_PERSON,
            f"{self.where}: no row with {header} '{key}' ({req.client_name}); add the row or "
            "correct the id, and the next run will finish",
        )

    def copy_row(self, book: dict[str, Tab]) -> int | None:
        """Row of the removed tab holding this request's copy, if any."""
        if not self.sheet.removed_tab:
            return None
        removed = find_tab(book, self.sheet.removed_tab)
        if removed is None or not removed.rows:
            return None
        cols = removed.columns(REMOVED_BY)
        if len(cols) != 1:
            raise _Verdict(
                OutcomeStatus.NEEDS_PERSON,
                f"{self.where}: tab '{removed.title}' needs exactly one '{REMOVED_BY}' column",
            )
        rows = removed.find(cols[0], self.effect.request_id)
        return rows[0] if rows else None

    def append_copy(self, plan: Plan, book: dict[str, Tab], row: int, journal: Journal) -> None:
        """Queue a full copy of `row` (every column, by header) for the removed tab."""
        title = self.sheet.removed_tab
        removed = find_tab(book, title)
        out = plan.writes.get(removed.title if removed else title)
        if out is None:
            out = TabWrites(removed, removed.title if removed else title)
            out.headers = list(removed.headers) if removed else []
            out.header_from = len(out.headers)
            plan.writes[out.title] = out
        pending = plan.writes_for(self.tab).cells
        copy: dict[int, str] = {}
        formulas: set[int] = set()
        width = max(len(self.tab.headers), len(self.tab.rows[row]))
        for c in range(width):
            header = self.tab.value(0, c).strip() or f"Column {_letter(c)}"
            col = _header_col(out, header)
            if (row, c) in pending:  # what the sync writes itself stays text
                copy[col] = pending[(row, c)]
            elif (row, c) in self.tab.formulas:  # what a person wrote keeps its formula
                copy[col] = self.tab.formulas[(row, c)]
                formulas.add(col)
            else:
                copy[col] = self.tab.value(row, c)
        copy[_header_col(out, REMOVED_ON)] = journal.today.strftime(self.cfg.sheets.date_format)
        copy[_header_col(out, REMOVED_BY)] = self.effect.request_id
        out.formula_cells.update((len(out.appends), col) for col in formulas)
        out.appends.append(copy)


def _header_col(out: TabWrites, header: str) -> int:
    want = _norm_header(header)
    for i, h in enumerate(out.headers):
        if _norm_header(h) == want:
            return i
    out.headers.append(header)
    return len(out.headers) - 1


def _letter(col: int) -> str:
    out, n = "", col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


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


def batch_requests(plan: Plan) -> list[dict[str, Any]]:
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
    plan: Plan, before: Mapping[str, Tab], after: Mapping[str, Tab]
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
