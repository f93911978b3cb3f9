"""`python -m sync init`, decided without I/O: map what the org shows onto the sync's configuration.

Inputs are what the connectors read (describeGlobal, one object's describe, users by name, each
spreadsheet's header rows, the boards with their custom fields); the output is the body of a
commented config.toml. Whatever cannot be decided (no match, or several) becomes a `# TODO`
line beside a value `python -m sync check` or the config loader refuses, so it cannot be forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.config.model import REQUIRED_COLUMNS

REQUEST_LABEL = "Takedown Request"
# logical field -> (accepted labels, accepted describe types)
FIELD_LABELS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "account": (("Account", "Client Account", "Client"), ("reference",)),
    "type": (("Request Type", "Type"), ("picklist", "string")),
    "status": (("Status", "Approval Status"), ("picklist", "string")),
    "effective_date": (("Effective Date",), ("date", "datetime")),
    "reason": (("Reason", "Cancellation Reason"), ("textarea", "string", "picklist")),
    "platform": (("Platform",), ("picklist", "string")),
    "leaving_platform": (("Leaving Platform", "Leaving the Platform"), ("boolean",)),
    "credit_amount": (("Credit Amount", "Credit"), ("currency", "double")),
    "product_change_notes": (("Product Change Notes",), ("textarea", "string")),
    "new_package": (("New Package or Budget", "New Package", "New Budget"), ("string", "textarea")),
    "services": (("Services",), ("multipicklist", "string", "picklist")),
    "sync_status": (("Sync Status",), ("string", "picklist", "textarea")),
    "sync_message": (("Sync Message",), ("textarea", "string")),
}
TYPE_WORDS = {"cancellation": "cancel", "pause": "pause", "change": "change"}
# The sync's column names -> headers people use for them.
COLUMN_HEADERS: dict[str, tuple[str, ...]] = {
    "account_id": ("Salesforce Account ID", "Account ID", "SF Account ID"),
    "client": ("Client", "Client Name", "Account Name"),
    "status": ("Status",),
    "pause_date": ("Pause Date",),
    "cancel_date": ("Cancel Date", "Cancellation Date"),
    "request_id": ("Request ID", "Takedown Request ID"),
    "type": ("Type", "Request Type"),
    "effective_date": ("Effective Date",),
    "reason": ("Reason",),
    "link": ("Request Link", "Link"),
    "change": ("New Package / Budget", "New Package or Budget", "New Package", "New Budget"),
    "notes": ("Product Change Notes", "Notes"),
    "ninja_cat": ("Ninja Cat",),
    "platform": ("Platform",),
}
SHEET_KEYS = {
    "ds_tracker": "account_id",
    "ari_tracker": "account_id",
    "planner": "request_id",
    "monthly": "request_id",
    "offboarding": "request_id",
}
BOARD_NAMES = {
    "tda": "Targeted Digital Advertising",
    "design": "Digital Marketing Graphic Design",
}


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


@dataclass
class Found:
    """What init decided, and what it could not (each TODO is printed and written)."""

    values: dict[str, Any] = field(default_factory=dict)
    todos: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def pick_object(sobjects: Sequence[Mapping[str, Any]], label: str = REQUEST_LABEL) -> Found:
    out = Found()
    hits = [o for o in sobjects if norm(str(o.get("label", ""))) == norm(label)]
    if len(hits) == 1:
        out.values["object"] = str(hits[0]["name"])
        out.notes.append(f"request object: {hits[0]['name']} (label '{hits[0]['label']}')")
        return out
    near = [str(o["name"]) for o in sobjects if norm(label).split()[0] in norm(str(o.get("label")))]
    out.todos.append(
        f"salesforce.object: no single object labelled '{label}' "
        f"({'several: ' if hits else 'candidates: '}{', '.join(near) or 'none'})"
    )
    return out


def map_fields(describe: Mapping[str, Any]) -> Found:
    """The request object's fields by label and type, and the picklist values people chose."""
    out = Found()
    fields = list(describe.get("fields") or [])
    by_label: dict[str, list[Mapping[str, Any]]] = {}
    for f in fields:
        by_label.setdefault(norm(str(f.get("label", ""))), []).append(f)
    mapped: dict[str, Mapping[str, Any]] = {}
    for logical, (labels, types) in FIELD_LABELS.items():
        hits = [f for label in labels for f in by_label.get(norm(label), [])]
        hits = list({str(f["name"]): f for f in hits}.values())
        if len(hits) != 1:
            what = "several fields" if hits else "no field"
            named = " / ".join(repr(x) for x in labels)
            out.todos.append(f"salesforce.fields.{logical}: {what} labelled {named}")
            continue
        f = hits[0]
        if str(f.get("type")) not in types:
            out.todos.append(
                f"salesforce.fields.{logical}: field {f['name']} is a {f.get('type')}, expected "
                f"{' or '.join(types)}"
            )
            continue
        mapped[logical] = f
        out.values[logical] = str(f["name"])
    account = mapped.get("account")
    if account is not None and account.get("relationshipName"):
        out.values["account_name"] = f"{account['relationshipName']}.Name"
    elif account is not None:
        out.todos.append("salesforce.fields.account_name: the account field has no relationship")
    out.values["name"] = "Name"
    _picklists(mapped, out)
    return out


def _values(f: Mapping[str, Any] | None) -> list[str]:
    if f is None:
        return []
    return [str(v["value"]) for v in f.get("picklistValues") or [] if v.get("active", True)]


def _picklists(mapped: Mapping[str, Mapping[str, Any]], out: Found) -> None:
    types = _values(mapped.get("type"))
    type_values: dict[str, str] = {}
    for kind, word in TYPE_WORDS.items():
        hits = [v for v in types if word in v.lower()]
        if len(hits) == 1:
            type_values[kind] = hits[0]
        else:
            out.todos.append(
                f"salesforce.type_values.{kind}: {len(hits)} picklist value(s) of the request type "
                f"contain '{word}' (values: {', '.join(types) or 'none'})"
            )
    out.values["type_values"] = type_values
    platforms = _values(mapped.get("platform"))
    platform_values: dict[str, str] = {}
    for plat in ("DS", "ARI"):
        hits = [v for v in platforms if v.strip().upper() == plat]
        if len(hits) == 1:
            platform_values[plat] = hits[0]
        else:
            out.todos.append(
                f"salesforce.platform_values.{plat}: no platform value '{plat}' "
                f"(values: {', '.join(platforms) or 'none'})"
            )
    out.values["platform_values"] = platform_values
    statuses = _values(mapped.get("status"))
    approved = [v for v in statuses if v.strip().lower() == "approved"]
    if len(approved) == 1:
        out.values["approved_status"] = approved[0]
    else:
        out.todos.append(
            f"salesforce.approved_status: no status value 'Approved' "
            f"(values: {', '.join(statuses) or 'none'})"
        )


def map_approvers(names: Mapping[str, Sequence[str]], users: Mapping[str, Sequence[str]]) -> Found:
    """role -> the user ids of the people named; a name found 0 or 2+ times is a TODO."""
    out = Found()
    for role, people in names.items():
        ids: list[str] = []
        for person in people:
            found = list(users.get(person, []))
            if len(found) == 1:
                ids.append(found[0])
                out.notes.append(f"approver {role}: {person} is user {found[0]}")
            else:
                what = "no user" if not found else f"{len(found)} users ({', '.join(found)})"
                out.todos.append(f"salesforce.approval.{role}: {what} named '{person}'")
        out.values[role] = ids
    return out


def map_sheet(kind: str, tabs: Mapping[str, Sequence[str]]) -> Found:
    """The tab of a spreadsheet whose header row has every column `kind` needs."""
    out = Found()
    wanted = [*REQUIRED_COLUMNS[kind], *(("notes",) if kind == "monthly" else ())]
    wanted += ["account_id", "platform"] if kind == "offboarding" else []
    best: tuple[int, str, dict[str, str]] | None = None
    complete: list[tuple[str, dict[str, str]]] = []
    for tab, headers in tabs.items():
        by_norm = {norm(h): h for h in headers if h.strip()}
        columns = {}
        for logical in dict.fromkeys(wanted):
            header = next(
                (by_norm[norm(x)] for x in COLUMN_HEADERS[logical] if norm(x) in by_norm), None
            )
            if header is not None:
                columns[logical] = header
        have = sum(1 for c in REQUIRED_COLUMNS[kind] if c in columns)
        if have == len(REQUIRED_COLUMNS[kind]):
            complete.append((tab, columns))
        if best is None or have > best[0]:
            best = (have, tab, columns)
    if len(complete) == 1:
        tab, columns = complete[0]
        out.values.update(tab=tab, columns=columns)
        out.notes.append(f"sheets.{kind}: tab '{tab}', columns {', '.join(columns.values())}")
        return out
    if complete:
        out.todos.append(
            f"sheets.{kind}.tab: several tabs fit ({', '.join(t for t, _ in complete)})"
        )
        tab, columns = complete[0]
    else:
        tab, columns = (best[1], best[2]) if best else ("", {})
        missing = [c for c in REQUIRED_COLUMNS[kind] if c not in columns]
        out.todos.append(
            f"sheets.{kind}: no tab has a header for {', '.join(missing)} "
            f"(tabs: {', '.join(tabs) or 'none'}); name the headers below"
        )
        for c in missing:
            columns[c] = ""
    out.values.update(tab=tab, columns=columns)
    return out


def map_boards(boards: Sequence[Mapping[str, Any]], field_name: str) -> Found:
    out = Found()
    ids: dict[str, str] = {}
    for key, title in BOARD_NAMES.items():
        hits = [b for b in boards if norm(str(b.get("name", ""))) == norm(title)]
        if len(hits) == 1:
            ids[key] = str(hits[0]["id"])
            has = any(
                norm(str(f.get("name", ""))) == norm(field_name) for f in hits[0]["customFields"]
            )
            fields = ", ".join(str(f.get("name")) for f in hits[0]["customFields"]) or "none"
            out.notes.append(
                f"board {key}: '{title}' ({hits[0]['id']}); custom fields: {fields}"
                + ("" if has else f" (no '{field_name}': cards match by description and title)")
            )
        else:
            ids[key] = ""
            out.todos.append(
                f"trello.boards.{key}: {len(hits)} open board(s) named '{title}' "
                f"(boards: {', '.join(str(b.get('name')) for b in boards) or 'none'})"
            )
    out.values["boards"] = ids
    return out
