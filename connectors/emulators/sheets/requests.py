"""The batchUpdate requests the Sheets emulator models, each applied to a spreadsheet copy.

Why a module: each request kind (addSheet, deleteSheet, updateSheetProperties, insertDimension,
deleteDimension, appendDimension, updateCells, appendCells, sortRange) is its own small rule set
with Google's refusals ("You can't hide all the sheets in a document.", "You can't remove all
the sheets in a document.", out-of-grid ranges...). Each takes (spreadsheet, spec, where) and
returns its reply; a field it is given but does not model is refused with `not_modelled`, never
dropped in silence. Other documented kinds are not in `REQUESTS` and answer "not modelled".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from connectors.emulators.base import EmulatorError
from connectors.emulators.sheets.cells import Typed
from connectors.emulators.sheets.discovery import sheets_v4
from connectors.emulators.sheets.field_mask import leaves, parse_fields
from connectors.emulators.sheets.grid import (
    DEFAULT_COLS,
    DEFAULT_ROWS,
    NUMBER,
    Cell,
    Formula,
    Sheet,
    Spreadsheet,
    from_cell_data,
)


def not_modelled(what: str) -> EmulatorError:
    """What the emulator does not model: a clear 501, never a misleading 404 or a silent 200."""
    return EmulatorError(501, f"{what} is not modelled by the emulator.")


def sort_rows(s: Sheet, start: int, end: int, specs: list[tuple[int, bool]]) -> None:
    block = s.rows[start:end]

    def key(col: int) -> Callable[[list[Cell]], tuple[int, Any]]:
        def k(row: list[Cell]) -> tuple[int, Any]:
            v = row[col] if col < len(row) else ""
            if isinstance(v, Typed):
                return (0, v.value)
            text = v.text if isinstance(v, Formula) else v
            if NUMBER.match(text):
                return (0, float(text))
            return (1, text.lower())

        return k

    for col, descending in reversed(specs):  # stable sorts, least significant key first
        empties = [r for r in block if (r[col] if col < len(r) else "") == ""]
        filled = [r for r in block if (r[col] if col < len(r) else "") != ""]
        filled.sort(key=key(col), reverse=descending)
        block = filled + empties  # Google keeps blanks last either way
    s.rows[start:end] = block


# ----- batchUpdate requests (each: spreadsheet copy, spec, where -> reply) -------------------
def _grid(book: Spreadsheet, spec: dict[str, Any], where: str) -> tuple[Sheet, int, int, int, int]:
    s = book.by_id(spec.get("sheetId", 0), where)
    r0 = int(spec.get("startRowIndex", 0))
    r1 = int(spec.get("endRowIndex", s.row_count))
    c0 = int(spec.get("startColumnIndex", 0))
    c1 = int(spec.get("endColumnIndex", s.col_count))
    if not (0 <= r0 <= r1 <= s.row_count and 0 <= c0 <= c1 <= s.col_count):
        raise EmulatorError(400, f"Invalid {where}: Range is out of the grid's bounds.")
    return s, r0, r1, c0, c1


def _dimension(book: Spreadsheet, spec: dict[str, Any], where: str) -> tuple[Sheet, str, int, int]:
    rng = spec.get("range") or {}
    s = book.by_id(rng.get("sheetId", 0), where)
    dim = str(rng.get("dimension", ""))
    if dim not in ("ROWS", "COLUMNS"):
        raise EmulatorError(400, f"Invalid {where}: dimension must be ROWS or COLUMNS")
    if "startIndex" not in rng or "endIndex" not in rng:
        raise EmulatorError(400, f"Invalid {where}: startIndex and endIndex are required")
    return s, dim, int(rng["startIndex"]), int(rng["endIndex"])


def _add_sheet(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    props = spec.get("properties") or {}
    title = str(props.get("title") or f"Sheet{len(book.sheets) + 1}")
    if book.by_title(title) is not None:
        raise EmulatorError(
            400,
            f'Invalid {where}: A sheet with the name "{title}" already exists. '
            "Please enter another name.",
        )
    sheet_id = props.get("sheetId")
    if sheet_id is None:
        sheet_id = book.new_sheet_id(title)
    elif any(s.sheet_id == sheet_id for s in book.sheets):
        raise EmulatorError(400, f"Invalid {where}: Sheet with id {sheet_id} already exists.")
    grid = props.get("gridProperties") or {}
    check_modelled(props, _SHEET_MODELLED, f"{where}.properties")
    check_modelled(grid, _GRID_MODELLED, f"{where}.properties.gridProperties")
    if props.get("sheetType", "GRID") != "GRID":
        raise not_modelled(f"A {props['sheetType']} sheet ({where})")
    s = Sheet(
        int(sheet_id),
        title,
        row_count=int(grid.get("rowCount", DEFAULT_ROWS)),
        col_count=int(grid.get("columnCount", DEFAULT_COLS)),
        hidden=bool(props.get("hidden", False)),
    )
    index = min(int(props.get("index", len(book.sheets))), len(book.sheets))
    book.sheets.insert(index, s)
    return {"addSheet": {"properties": s.properties(index)}}


def _delete_sheet(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    s = book.by_id(spec.get("sheetId"), where)
    if len(book.sheets) == 1:
        raise EmulatorError(400, f"Invalid {where}: You can't remove all the sheets in a document.")
    book.sheets.remove(s)
    return {}


def _update_sheet_properties(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    """Only the fields the mask names change; each one is either applied or refused as not
    modelled (tab colours, frozen rows, right-to-left...)."""
    props = spec.get("properties") or {}
    s = book.by_id(props.get("sheetId", 0), where)
    fields = str(spec.get("fields") or "")
    if not fields:
        raise EmulatorError(400, f"Invalid {where}: At least one field must be specified.")
    paths = leaves(parse_fields(fields))
    bad = sheets_v4().unknown_paths("SheetProperties", parse_fields(fields))
    if bad:
        raise EmulatorError(400, f"Invalid {where}: Invalid field mask path: {bad[0]}")
    if "*" in paths:
        paths = [
            "title",
            "index",
            "hidden",
            "gridProperties",
            *(
                k
                for k in props
                if k not in ("sheetId", "title", "index", "hidden", "gridProperties")
            ),
        ]
    grid = props.get("gridProperties") or {}
    for path in paths:
        if path in ("gridProperties", "gridProperties.*"):
            check_modelled(grid, _GRID_MODELLED, f"{where}.properties.gridProperties")
            s.row_count = max(int(grid.get("rowCount", 0)), len(s.rows)) or s.row_count
            s.col_count = int(grid.get("columnCount", 0)) or s.col_count
        elif path == "gridProperties.rowCount":
            s.row_count = max(int(grid.get("rowCount", 0)), len(s.rows))
        elif path == "gridProperties.columnCount":
            s.col_count = int(grid.get("columnCount", 0))
        elif path == "title":
            title = str(props.get("title") or "")
            other = book.by_title(title) if title else None
            if other is not None and other is not s:
                raise EmulatorError(
                    400, f'Invalid {where}: A sheet with the name "{title}" already exists.'
                )
            if not title:
                raise EmulatorError(400, f"Invalid {where}: Sheet title cannot be empty.")
            s.title = title
        elif path == "hidden":
            hide = bool(props.get("hidden", False))
            if hide and not any(o is not s and not o.hidden for o in book.sheets):
                raise EmulatorError(
                    400, f"Invalid {where}: You can't hide all the sheets in a document."
                )
            s.hidden = hide
        elif path == "index":
            _move(book, s, props.get("index"))
        elif path != "sheetId" and not (path == "sheetType" and props.get(path) == "GRID"):
            raise not_modelled(f"Changing {path} ({where})")
    return {}


_GRID_MODELLED = ("rowCount", "columnCount")
_SHEET_MODELLED = ("sheetId", "title", "index", "hidden", "sheetType", "gridProperties")


def check_modelled(given: dict[str, Any], modelled: Iterable[str], where: str) -> None:
    """Refuse, as not modelled, a property the emulator would otherwise drop in silence."""
    for key, value in given.items():
        if key not in modelled and value not in (None, False, 0, "", [], {}):
            raise not_modelled(f"{where}.{key}")


def _move(book: Spreadsheet, s: Sheet, index: Any) -> None:
    """Google's "before the move" indexes: no index = to the end; i or i+1 = stay."""
    current = book.sheets.index(s)
    target = len(book.sheets) if index is None else int(index)
    if target in (current, current + 1):
        return
    book.sheets.remove(s)
    book.sheets.insert(target if target < current else target - 1, s)


def _insert_dimension(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    s, dim, start, end = _dimension(book, spec, where)
    limit = s.row_count if dim == "ROWS" else s.col_count
    if not 0 <= start < end or start > limit:
        raise EmulatorError(400, f"Invalid {where}: Range is out of the grid's bounds.")
    if dim == "ROWS":
        s.insert_rows(start, end - start)
    else:
        s.insert_cols(start, end - start)
    return {}


def _delete_dimension(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    s, dim, start, end = _dimension(book, spec, where)
    limit = s.row_count if dim == "ROWS" else s.col_count
    if not 0 <= start < end <= limit:
        raise EmulatorError(400, f"Invalid {where}: Cannot delete a range that is out of bounds.")
    if end - start >= limit:
        what = "rows" if dim == "ROWS" else "columns"
        raise EmulatorError(400, f"Invalid {where}: You can't delete all the {what} on the sheet.")
    if dim == "ROWS":
        s.delete_rows(start, end)
    else:
        s.delete_cols(start, end)
    return {}


def _append_dimension(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    s = book.by_id(spec.get("sheetId", 0), where)
    length = int(spec.get("length", 0))
    if length <= 0:
        raise EmulatorError(400, f"Invalid {where}: length must be positive")
    if spec.get("dimension") == "COLUMNS":
        s.col_count += length
    else:
        s.row_count += length
    return {}


def _cell_fields(fields: str, rows: list[Any], where: str) -> None:
    """updateCells/appendCells masks: values are modelled, formats, notes and the rest are not."""
    if not fields:
        raise EmulatorError(400, f"Invalid {where}: At least one field must be specified.")
    mask = parse_fields(fields)
    bad = sheets_v4().unknown_paths("CellData", mask)
    if bad:
        raise EmulatorError(400, f"Invalid {where}: Invalid field mask path: {bad[0]}")
    for path in leaves(mask):
        if path != "*" and path.split(".")[0] != "userEnteredValue":
            raise not_modelled(f"Writing a cell's {path} ({where})")
    if "*" in mask:
        for row in rows:
            for cell in (row or {}).get("values") or []:
                check_modelled(cell or {}, ("userEnteredValue",), f"{where}.rows")


def _put_rows(s: Sheet, r0: int, c0: int, rows: list[Any], fields: str, where: str) -> None:
    _cell_fields(fields, rows, where)
    for i, row in enumerate(rows):
        for j, cell in enumerate((row or {}).get("values") or []):
            s.put(r0 + i, c0 + j, from_cell_data(cell or {}))


def _update_cells(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    rows = spec.get("rows") or []
    fields = str(spec.get("fields") or "")
    if "start" in spec:
        start = spec["start"] or {}
        s = book.by_id(start.get("sheetId", 0), where)
        r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
        height = len(rows)
        width = max((len((r or {}).get("values") or []) for r in rows), default=0)
        if r0 + height > s.row_count or c0 + width > s.col_count:
            raise EmulatorError(400, f"Invalid {where}: Range is out of the grid's bounds.")
    elif "range" in spec:
        s, r0, r1, c0, c1 = _grid(book, spec["range"] or {}, where)
        _cell_fields(fields, rows, where)
        for r in range(r0, min(r1, len(s.rows))):  # the range is cleared, then written
            for c in range(c0, min(c1, len(s.rows[r]))):
                s.rows[r][c] = ""
        rows = rows[: r1 - r0]
    else:
        raise EmulatorError(400, f"Invalid {where}: either start or range is required")
    _put_rows(s, r0, c0, rows, fields, where)
    return {}


def _append_cells(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    s = book.by_id(spec.get("sheetId", 0), where)
    rows = spec.get("rows") or []
    at = s.last_data_row() + 1
    width = max((len((r or {}).get("values") or []) for r in rows), default=0)
    s.row_count = max(s.row_count, at + len(rows))
    s.col_count = max(s.col_count, width)
    _put_rows(s, at, 0, rows, str(spec.get("fields") or ""), where)
    return {}


def _sort_range(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    s, r0, r1, _c0, _c1 = _grid(book, spec.get("range") or {}, where)
    specs = [
        (int(x.get("dimensionIndex", 0)), str(x.get("sortOrder", "ASCENDING")) == "DESCENDING")
        for x in spec.get("sortSpecs") or []
    ]
    sort_rows(s, r0, min(r1, len(s.rows)), specs or [(0, False)])
    return {}


REQUESTS: dict[str, Callable[[Spreadsheet, dict[str, Any], str], dict[str, Any]]] = {
    "addSheet": _add_sheet,
    "deleteSheet": _delete_sheet,
    "updateSheetProperties": _update_sheet_properties,
    "insertDimension": _insert_dimension,
    "deleteDimension": _delete_dimension,
    "appendDimension": _append_dimension,
    "updateCells": _update_cells,
    "appendCells": _append_cells,
    "sortRange": _sort_range,
}
