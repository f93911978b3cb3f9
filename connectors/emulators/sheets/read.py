"""How a spreadsheet reads back: the Spreadsheet resource, grid data and rendered values.

Why a module: what Google sends for a read (sheet properties, the spreadsheet's default format
and theme, row and column metadata, each cell's userEnteredValue, effectiveValue,
formattedValue and effectiveFormat, values per render option) is independent of routing, auth
and validation; spreadsheets.get, a batchUpdate's updatedSpreadsheet and values.get use it.
"""

from __future__ import annotations

from typing import Any

from connectors.emulators.sheets.cells import Typed, entered_value, extended_value
from connectors.emulators.sheets.field_mask import Mask
from connectors.emulators.sheets.grid import NUMBER, Formula, Region, Sheet, Spreadsheet, evaluate


def book_body(
    book: Spreadsheet,
    ranges: list[Region],
    with_data: bool,
    cell_mask: Mask | None,
    *,
    meta: bool = True,
) -> dict[str, Any]:
    """A Spreadsheet resource: spreadsheets.get and a batchUpdate's updatedSpreadsheet."""
    sheets: list[dict[str, Any]] = []
    for index, s in enumerate(book.sheets):
        regions = [g for g in ranges if g.sheet is s] if ranges else [Region(s, 0, 0, None, None)]
        if not regions:
            continue
        entry: dict[str, Any] = {"properties": s.properties(index)}
        if with_data:
            entry["data"] = [_grid_data(g, cell_mask, meta=meta) for g in regions]
        sheets.append(entry)
    return {
        "spreadsheetId": book.id,
        "properties": {
            "title": book.title,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
            "defaultFormat": _DEFAULT_FORMAT,
            "spreadsheetTheme": _THEME,
        },
        "sheets": sheets,
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.id}/edit",
    }


# A new spreadsheet's defaults, as Google reports them in SpreadsheetProperties.
_WHITE = {"red": 1, "green": 1, "blue": 1}
_DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": _WHITE,
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": _WHITE},
}
_THEME: dict[str, Any] = {
    "primaryFontFamily": "Arial",
    "themeColors": [
        {"colorType": kind, "color": {"rgbColor": rgb}}
        for kind, rgb in (
            ("TEXT", {}),
            ("BACKGROUND", _WHITE),
            ("ACCENT1", {"red": 0.25882354, "green": 0.52156866, "blue": 0.95686275}),
            ("ACCENT2", {"red": 0.91764706, "green": 0.2627451, "blue": 0.20784314}),
            ("ACCENT3", {"red": 0.9843137, "green": 0.7372549, "blue": 0.015686275}),
            ("ACCENT4", {"red": 0.20392157, "green": 0.65882355, "blue": 0.3254902}),
            ("ACCENT5", {"red": 1, "green": 0.42745098, "blue": 0.003921569}),
            ("ACCENT6", {"red": 0.27450982, "green": 0.7411765, "blue": 0.7764706}),
            ("LINK", {"red": 0.06666667, "green": 0.33333334, "blue": 0.8}),
        )
    ],
}


# A cell's effectiveFormat under the default format, by horizontal alignment (text left,
# numbers and dates right, booleans centred).
_CELL_FORMAT: dict[str, dict[str, Any]] = {
    align: {
        "backgroundColor": _WHITE,
        "padding": _DEFAULT_FORMAT["padding"],
        "horizontalAlignment": align,
        "verticalAlignment": "BOTTOM",
        "wrapStrategy": "OVERFLOW_CELL",
        "textFormat": _DEFAULT_FORMAT["textFormat"],
        "hyperlinkDisplayType": "PLAIN_TEXT",
        "backgroundColorStyle": {"rgbColor": _WHITE},
    }
    for align in ("LEFT", "RIGHT", "CENTER")
}


def trimmed(rows: list[list[Any]]) -> list[list[Any]]:
    out = [r[:] for r in rows]
    for r in out:
        while r and r[-1] == "":
            r.pop()
    while out and not out[-1]:
        out.pop()
    return out


def render_cell(s: Sheet, r: int, c: int, render: str, date_render: str) -> Any:
    """One cell per valueRenderOption (and dateTimeRenderOption, ignored for FORMATTED_VALUE)."""
    cell = s.rows[r][c]
    if isinstance(cell, Formula):
        if render == "FORMULA":
            return cell.text
        shown = evaluate(s, cell.text)
        if render == "UNFORMATTED_VALUE" and NUMBER.match(shown):
            return float(shown) if "." in shown else int(shown)
        return shown
    if isinstance(cell, Typed):
        return cell.shown if render == "FORMATTED_VALUE" else cell.unformatted(date_render)
    return cell


def _grid_data(region: Region, cell_mask: Mask | None, *, meta: bool = True) -> dict[str, Any]:
    """GridData for one region, built with only the cell fields asked for (big tabs stay fast).

    With `meta`, the row and column metadata Google sends with grid data (default sizes: the
    emulator models no resizing)."""
    s = region.sheet
    want = None if cell_mask is None or "*" in cell_mask else set(cell_mask)
    r1 = min(region.rows_end(), len(s.rows))
    c1 = region.cols_end()
    row_data: list[dict[str, Any]] = []
    for r in range(region.r0, r1):
        row = s.rows[r]
        cells: list[dict[str, Any]] = []
        for c in range(region.c0, min(c1, len(row))):
            cells.append(_cell_data(s, r, c, want))
        while cells and not cells[-1]:
            cells.pop()
        row_data.append({"values": cells} if cells else {})
    while row_data and not row_data[-1]:
        row_data.pop()
    out: dict[str, Any] = {"rowData": row_data} if row_data else {}  # no `rowData: []`
    if region.r0:
        out["startRow"] = region.r0
    if region.c0:
        out["startColumn"] = region.c0
    if meta:
        out["rowMetadata"] = [{"pixelSize": 21}] * (region.rows_end() - region.r0)
        out["columnMetadata"] = [{"pixelSize": 100}] * (c1 - region.c0)
    return out


def _cell_data(s: Sheet, r: int, c: int, want: set[str] | None) -> dict[str, Any]:
    cell = s.rows[r][c]
    if cell == "":
        return {}
    shown = s.display(r, c)
    out: dict[str, Any] = {}
    if want is None or "userEnteredValue" in want:
        out["userEnteredValue"] = entered_value(cell)
    if want is None or "effectiveValue" in want:
        out["effectiveValue"] = extended_value(cell, shown)
    if want is None or "formattedValue" in want:
        out["formattedValue"] = shown
    if want is None or "effectiveFormat" in want:  # the default format; formats are not modelled
        numeric = "numberValue" in extended_value(cell, shown) or (
            isinstance(cell, Typed) and cell.kind == "bool"
        )
        out["effectiveFormat"] = _CELL_FORMAT[
            "CENTER"
            if isinstance(cell, Typed) and cell.kind == "bool"
            else "RIGHT"
            if numeric
            else "LEFT"
        ]
    return out
