"""Google's field masks: parse `sheets(properties,data.rowData)` or `gridProperties/rowCount`.

Why a module: a field mask is a small grammar of its own, used by spreadsheets.get both to cut
the answer down and to decide up front whether grid data is wanted at all, and by batchUpdate
requests (`updateSheetProperties.fields`, `updateCells.fields`) to say what they change.

Grammar (Google's partial-response syntax): names joined by `.` or `/` go down a level
(`a/b` = `a.b`), commas separate selections, `a(b,c)` selects b and c inside a, `*` is everything
at its level. No spaces: Google refuses `properties, sheets` (the space makes an unknown name).
"""

from __future__ import annotations

import re
from typing import Any

from connectors.emulators.base import EmulatorError

Mask = dict[str, "Mask | None"]  # None: the whole subtree
INVALID = "Request contains an invalid argument."
_NAME = re.compile(r"([\w*]+(?:[./][\w*]+)*)")


def parse_fields(text: str) -> Mask:
    """`a.b,c(d,e.f)` -> {"a": {"b": None}, "c": {"d": None, "e": {"f": None}}}."""
    pos = 0

    def items() -> Mask:
        nonlocal pos
        out: Mask = {}
        while pos < len(text):
            m = _NAME.match(text, pos)
            if m is None:
                raise EmulatorError(400, INVALID)
            pos = m.end()
            sub: Mask | None = None
            if text[pos : pos + 1] == "(":
                pos += 1
                sub = items()
                if text[pos : pos + 1] != ")":
                    raise EmulatorError(400, INVALID)
                pos += 1
            path = re.split(r"[./]", m.group(1))
            node: Mask | None = sub
            for name in reversed(path[1:]):
                node = {name: node}
            _merge(out, path[0], node)
            if text[pos : pos + 1] == ",":
                pos += 1
                continue
            break
        return out

    tree = items()
    if pos != len(text) or not tree:
        raise EmulatorError(400, INVALID)
    return tree


def leaves(mask: Mask, prefix: str = "") -> list[str]:
    """`{"a": {"b": None}, "c": None}` -> ["a.b", "c"]: the paths a mask selects."""
    out: list[str] = []
    for name, sub in mask.items():
        path = f"{prefix}.{name}" if prefix else name
        out += [path] if sub is None else leaves(sub, path)
    return out


def _merge(into: Mask, key: str, node: Mask | None) -> None:
    if key in into:
        old = into[key]
        if old is None or node is None:
            into[key] = None
            return
        for k, v in node.items():
            _merge(old, k, v)
        return
    into[key] = node


def prune(value: Any, mask: Mask | None) -> Any:
    if mask is None:
        return value
    if isinstance(value, list):
        return [prune(v, mask) for v in value]
    if isinstance(value, dict):
        if "*" in mask:
            return value
        return {k: prune(v, mask[k]) for k, v in value.items() if k in mask}
    return value


def sub_mask(mask: Mask | None, *path: str) -> tuple[bool, Mask | None]:
    """Is `path` selected by `mask`, and with which sub-mask?"""
    node = mask
    for name in path:
        if node is None:
            return True, None
        if "*" in node:
            return True, None
        if name not in node:
            return False, None
        node = node[name]
    return True, node
