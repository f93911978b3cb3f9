"""Google's `fields` masks (partial responses): parse `sheets(properties,data.rowData)` and prune.

Why a module: a field mask is a small grammar of its own, used by spreadsheets.get both to cut
the answer down and to decide up front whether grid data is wanted at all.
"""

from __future__ import annotations

import re
from typing import Any

from connectors.emulators.base import EmulatorError

Mask = dict[str, "Mask | None"]  # None: the whole subtree


def parse_fields(text: str) -> Mask:
    """`a.b,c(d,e.f)` -> {"a": {"b": None}, "c": {"d": None, "e": {"f": None}}}."""
    pos = 0

    def items() -> Mask:
        nonlocal pos
        out: Mask = {}
        while pos < len(text):
            m = re.compile(r"\s*([\w*]+(?:\.[\w*]+)*)\s*").match(text, pos)
            if m is None:
                raise EmulatorError(400, f"Invalid field selection {text}")
            pos = m.end()
            sub: Mask | None = None
            if text[pos : pos + 1] == "(":
                pos += 1
                sub = items()
                if text[pos : pos + 1] != ")":
                    raise EmulatorError(400, f"Invalid field selection {text}")
                pos += 1
            path = m.group(1).split(".")
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
    if pos != len(text):
        raise EmulatorError(400, f"Invalid field selection {text}")
    return tree


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
