"""A1 notation as the Sheets API writes it: column letters, quoted tab titles, cell references.

Why a module: range text is parsed in several places (the API's ranges, formulas' cell
references, the person-edit helpers), and none of that needs the spreadsheet model itself.
"""

from __future__ import annotations

import re

from connectors.emulators.base import EmulatorError


def col_letter(index: int) -> str:
    """0 -> A, 26 -> AA."""
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def quote_title(title: str) -> str:
    """Quote a tab title in a range as Google does."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) and not re.fullmatch(
        r"[A-Za-z]{1,3}\d+", title
    ):
        return title
    return "'" + title.replace("'", "''") + "'"


_REF = re.compile(r"^\$?([A-Za-z]{0,3})\$?(\d*)$")


def parse_ref(ref: str, text: str) -> tuple[int | None, int | None]:
    m = _REF.match(ref)
    if not m or (not m.group(1) and not m.group(2)):
        raise EmulatorError(400, f"Unable to parse range: {text}")
    col = col_index(m.group(1)) if m.group(1) else None
    row = int(m.group(2)) - 1 if m.group(2) else None
    if row is not None and row < 0:
        raise EmulatorError(400, f"Unable to parse range: {text}")
    return row, col


def split_tab(text: str) -> tuple[str | None, str]:
    """'It''s'!A1 -> ("It's", "A1"); Tab!A1 -> ("Tab", "A1"); A1 -> (None, "A1")."""
    if text.startswith("'"):
        i, name = 1, []
        while i < len(text):
            if text[i] == "'":
                if text[i + 1 : i + 2] == "'":
                    name.append("'")
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest and not rest.startswith("!"):
                    raise EmulatorError(400, f"Unable to parse range: {text}")
                return "".join(name), rest[1:]
            name.append(text[i])
            i += 1
        raise EmulatorError(400, f"Unable to parse range: {text}")
    if "!" in text:
        tab, _, cells = text.rpartition("!")
        return tab, cells
    return None, text
