"""What one Sheets cell holds and how it reads back: text, a formula, or a typed value.

Why a module: Google types what a person (or USER_ENTERED input) types, and the render options
read it back differently: `53` is a number (UNFORMATTED_VALUE answers `53`, FORMATTED_VALUE
`"53"`), `2026-12-01` a date (serial number 46357 or the string, per `dateTimeRenderOption`),
`TRUE` a boolean, `=...` a formula, and a leading `'` forces text. This is that model, apart from
the grid and HTTP.

Modelled input (USER_ENTERED): plain numbers (`53`, `-1.5`, `1e3`, `1,234`, `50%`), booleans
(`TRUE`/`false`), ISO dates `YYYY-MM-DD` and US dates `M/D/YYYY`, formulas, a leading `'`.
Not modelled (they stay text): currencies (`$5`), times and date-times, other locales' formats.
Formatted numbers show as typed for `1,234` and `50%`, else in their shortest form (`1.50` shows
`1.5`); a date shows as it was typed. RAW input stores strings as text and JSON numbers and
booleans as numbers and booleans, as Google does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from connectors.emulators.base import EmulatorError

_EPOCH = date(1899, 12, 30)  # Sheets' day 0 (Lotus 1-2-3's serial numbers)
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PERCENT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)%$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass(frozen=True)
class Formula:
    """A cell holding a formula (as opposed to text that merely starts with '=')."""

    text: str


@dataclass(frozen=True)
class Typed:
    """A number, boolean or date cell: its value and how it is displayed."""

    kind: str  # "number" | "bool" | "date"
    value: float
    shown: str

    def unformatted(self, date_render: str = "SERIAL_NUMBER") -> Any:
        if self.kind == "bool":
            return bool(self.value)
        if self.kind == "date" and date_render == "FORMATTED_STRING":
            return self.shown
        return int(self.value) if float(self.value).is_integer() else self.value


Cell = str | Formula | Typed


def text_of(value: Any) -> str:
    """JSON scalars as Sheets shows them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def number(value: float, shown: str | None = None) -> Typed:
    return Typed("number", float(value), shown if shown is not None else text_of(float(value)))


def boolean(value: bool) -> Typed:
    return Typed("bool", 1.0 if value else 0.0, "TRUE" if value else "FALSE")


def raw(value: Any) -> Cell:
    """RAW input: strings as text; JSON numbers and booleans keep their type."""
    if isinstance(value, bool):
        return boolean(value)
    if isinstance(value, int | float):
        return number(value)
    return text_of(value)


def user_entered(value: Any) -> Cell:
    """USER_ENTERED: what typing `value` into the Sheets UI would store."""
    if not isinstance(value, str):
        return raw(value)
    if value.startswith("="):
        return Formula(value)
    if value.startswith("'"):
        return value[1:]
    if value.upper() in ("TRUE", "FALSE"):
        return boolean(value.upper() == "TRUE")
    if NUMBER.match(value):
        return number(float(value))
    if _GROUPED.match(value):
        return number(float(value.replace(",", "")), value.lstrip("+"))
    if _PERCENT.match(value):
        return number(float(value[:-1]) / 100, value.lstrip("+"))
    day = _date(value)
    if day is not None:
        return Typed("date", float((day - _EPOCH).days), value)
    if value[:1] in "+-" and len(value) > 1:
        return Formula("=" + value)
    return value


def _date(text: str) -> date | None:
    m = _ISO_DATE.match(text)
    parts = (m.group(1), m.group(2), m.group(3)) if m else None
    if parts is None and (m := _US_DATE.match(text)):
        parts = (m.group(3), m.group(1), m.group(2))
    if parts is None:
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def from_cell_data(cell: dict[str, Any]) -> Cell:
    """A CellData's userEnteredValue (updateCells/appendCells)."""
    uev = cell.get("userEnteredValue")
    if not uev:
        return ""
    if "formulaValue" in uev:
        return Formula(str(uev["formulaValue"]))
    if "stringValue" in uev:
        return str(uev["stringValue"])
    if "numberValue" in uev:
        return number(float(uev["numberValue"]))
    if "boolValue" in uev:
        return boolean(bool(uev["boolValue"]))
    raise EmulatorError(400, f"Invalid value: {json.dumps(uev)}")


def extended_value(cell: Cell, shown: str) -> dict[str, Any]:
    """The ExtendedValue a cell's value reads back as (effectiveValue)."""
    if isinstance(cell, Typed):
        if cell.kind == "bool":
            return {"boolValue": bool(cell.value)}
        return {"numberValue": cell.value}
    if isinstance(cell, Formula) and NUMBER.match(shown):
        return {"numberValue": float(shown)}
    return {"stringValue": shown}


def entered_value(cell: Cell) -> dict[str, Any]:
    """The userEnteredValue of a cell."""
    if isinstance(cell, Formula):
        return {"formulaValue": cell.text}
    if isinstance(cell, Typed):
        return extended_value(cell, cell.shown)
    return {"stringValue": cell}


def seed_cell(value: Any) -> Cell:
    """A seed/snapshot cell: text, {"formula": "=..."}, or a typed value as snap_cell writes it."""
    if isinstance(value, dict):
        if "formula" in value:
            return Formula(str(value["formula"]))
        if value.get("type") in ("number", "bool", "date") and "value" in value:
            v = float(value["value"])
            return Typed(str(value["type"]), v, str(value.get("shown", text_of(v))))
        raise ValueError(f"a seed cell object needs 'formula' (or 'type' and 'value'): {value!r}")
    return text_of(value)


def snap_cell(cell: Cell) -> str | dict[str, Any]:
    if isinstance(cell, Formula):
        return {"formula": cell.text}
    if isinstance(cell, Typed):
        return {"type": cell.kind, "value": cell.value, "shown": cell.shown}
    return cell
