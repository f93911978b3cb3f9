"""One forward effect decided on a spreadsheet read: which cells and rows it writes, or why not.

`EffectRows` holds what one effect's decision needs (the request, the sheet's config, the tab)
and has one method per kind of effect; each returns (already done?, what was or will be done)
or raises `Verdict`. Pure: no network. `connectors.sheets.undo` builds the reversals on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from connectors.base import Journal
from connectors.sheets.book import (
    DONE_BY_PERSON,
    BookPlan,
    Tab,
    TabWrites,
    Verdict,
    find_tab,
    letter,
    norm_header,
)
from sync.config.model import Config, SheetConfig
from sync.core.domain import Effect, EffectKind, OutcomeStatus, RequestType

REMOVED_ON = "Removed On"
REMOVED_BY = "Request ID"
ADD_COLUMNS: Mapping[EffectKind, tuple[str, ...]] = {
    EffectKind.PLANNER_ADD: ("request_id", "client", "type", "effective_date", "reason", "link"),
    EffectKind.MONTHLY_RECORD: ("request_id", "client", "change", "effective_date"),
    EffectKind.OFFBOARDING_ADD: ("request_id", "client", "effective_date", "reason"),
}


# ----- one effect ----------------------------------------------------------------------------
@dataclass
class EffectRows:
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
            raise Verdict(
                OutcomeStatus.FAILED,
                f"{self.where}: no column headed '{header or logical}' "
                "(columns are found by their header in row 1; was it renamed?)",
            )
        if len(found) > 1:
            letters = " and ".join(letter(c) for c in found)
            raise Verdict(
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
            raise Verdict(
                OutcomeStatus.FAILED,
                f"{req.label}: no valid effective date (Salesforce shows "
                f"'{req.raw_effective_date}')",
            )
        return req.effective_date.strftime(self.cfg.sheets.date_format)

    def one_row(self, tab: Tab, key_col: int, key: str) -> int | None:
        rows = tab.find(key_col, key)
        if len(rows) > 1:
            numbers = ", ".join(str(r + 1) for r in rows)
            raise Verdict(
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

    def set_cells(self, plan: BookPlan, row: int, wanted: dict[str, str]) -> tuple[bool, str]:
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
                raise Verdict(
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
    def add_row(self, plan: BookPlan) -> tuple[bool, str]:
        kind = self.effect.kind
        self.need_date()
        values = self.values()
        key = self.key()
        key_col = self.col(self.sheet.key)
        # Every mapped column the sync can fill must be there; ninja_cat starts empty.
        logical = [c for c in self.sheet.columns if c in values or c in ADD_COLUMNS[kind]]
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

    def tracker_status(self, plan: BookPlan, book: dict[str, Tab]) -> tuple[bool, str]:
        req = self.effect.request
        if req.type not in (RequestType.CANCELLATION, RequestType.PAUSE):
            raise Verdict(
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

    def ninja_cat(self, plan: BookPlan) -> tuple[bool, str]:
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
                raise Verdict(
                    OutcomeStatus.FAILED, f"waits for the offboarding row, not added: {why}"
                )
            raise self.missing(key)
        return self.set_cells(plan, row, {"ninja_cat": flag})

    def remove(self, plan: BookPlan, book: dict[str, Tab], journal: Journal) -> tuple[bool, str]:
        req = self.effect.request
        if req.type is RequestType.PAUSE:
            raise Verdict(
                OutcomeStatus.NEEDS_PERSON,
                f"{req.label} is a pause; a pause never removes a tracker row",
            )
        if not self.sheet.removed_tab:
            raise Verdict(
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
            # What the tracker shows as done is done: a person removed the row (a dry run's
            # read-back says the same, from this verdict).
            header = self.sheet.columns[self.sheet.key]
            raise Verdict(
                OutcomeStatus.SKIPPED,
                f"{DONE_BY_PERSON}: no row with {header} '{self.key()}' "
                f"({req.client_name}) in '{self.tab.title}' of the {self.name} sheet, so a person "
                "removed it (or it was never there); nothing to remove, and no copy was kept by "
                "the sync",
            )
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
    def missing(self, key: str) -> Verdict:
        req = self.effect.request
        deleted = False
        if self.base is not None:
            base_tab = find_tab(self.base, self.tab.title)
            key_cols = base_tab.columns(self.sheet.columns[self.sheet.key]) if base_tab else []
            deleted = bool(base_tab and len(key_cols) == 1 and base_tab.find(key_cols[0], key))
        if deleted:
            return Verdict(
                OutcomeStatus.NEEDS_PERSON,
                f"{self.where}: the row for '{key}' ({req.client_name}) was deleted or re-keyed "
                "by someone while the sync was working; nothing written",
            )
        header = self.sheet.columns[self.sheet.key]
        return Verdict(
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
            raise Verdict(
                OutcomeStatus.NEEDS_PERSON,
                f"{self.where}: tab '{removed.title}' needs exactly one '{REMOVED_BY}' column",
            )
        rows = removed.find(cols[0], self.effect.request_id)
        return rows[0] if rows else None

    def append_copy(self, plan: BookPlan, book: dict[str, Tab], row: int, journal: Journal) -> None:
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
            header = self.tab.value(0, c).strip() or f"Column {letter(c)}"
            col = header_col(out, header)
            if (row, c) in pending:  # what the sync writes itself stays text
                copy[col] = pending[(row, c)]
            elif (row, c) in self.tab.formulas:  # what a person wrote keeps its formula
                copy[col] = self.tab.formulas[(row, c)]
                formulas.add(col)
            else:
                copy[col] = self.tab.value(row, c)
        copy[header_col(out, REMOVED_ON)] = journal.today.strftime(self.cfg.sheets.date_format)
        copy[header_col(out, REMOVED_BY)] = self.effect.request_id
        out.formula_cells.update((len(out.appends), col) for col in formulas)
        out.appends.append(copy)


def header_col(out: TabWrites, header: str) -> int:
    want = norm_header(header)
    for i, h in enumerate(out.headers):
        if norm_header(h) == want:
            return i
    out.headers.append(header)
    return len(out.headers) - 1
