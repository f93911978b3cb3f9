"""Does the [salesforce] config match the org? Checked against describe, with no other I/O.

A misspelled field fails loudly only where Salesforce refuses it, and some mistakes it never
refuses: a status value that is not one of the picklist's values makes the poll match nothing,
and a message longer than its field fails every write-back after the sheets and emails went out.
So before a run acts, every mapped field is looked up in its object's describe (one call per
object, made by the connector and handed in as `describe`): it must exist, have a type the sync
can use, be updateable and long enough where the sync writes it, and the configured type,
status, platform and account-status values must be values of their picklists. A typo is
reported with the object and the closest existing names.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sync.config.model import Config
from sync.core.domain import WritebackTexts

# A describe result, or None when the org has no such object.
Describe = Callable[[str], Mapping[str, Any] | None]

TEXT = frozenset({"string", "textarea", "picklist", "combobox", "email", "url", "phone"})
DATE = frozenset({"date", "datetime"})
NUMBER = frozenset({"currency", "double", "int", "percent", "long"})
PICK = frozenset({"picklist", "combobox", "string"})


@dataclass(frozen=True)
class Need:
    """One mapped field: where config names it, what it must be, and what the sync writes."""

    key: str  # the config key, for the message
    path: str  # API name, possibly dotted (Account__r.Name)
    kinds: frozenset[str]
    values: tuple[str, ...] = ()  # configured values that must be picklist values
    values_key: str = ""
    writes: tuple[str, ...] = ()  # values the sync writes (checked against length, picklist)


def needs(cfg: Config, texts: WritebackTexts) -> dict[str, list[Need]]:
    """Every mapped field, by the object it is read from or written to; `texts` are what the
    write-backs write (worked out by the core from the same config, handed in by the wiring)."""
    sf = cfg.salesforce
    f = sf.fields
    k = "salesforce.fields."
    statuses, messages = texts.statuses, (texts.longest_message,)
    request = [
        Need(k + "name", f.name, TEXT),
        Need(k + "account", f.account, frozenset({"reference", "id", "string"})),
        Need(k + "account_name", f.account_name, TEXT),
        Need(k + "type", f.type, PICK, tuple(sf.type_values.values()), "salesforce.type_values"),
        Need(k + "status", f.status, PICK, (sf.approved_status,), "salesforce.approved_status"),
        Need(k + "effective_date", f.effective_date, DATE),
        Need(k + "reason", f.reason, TEXT),
        Need(
            k + "platform",
            f.platform,
            PICK,
            tuple(sf.platform_values.values()),
            "salesforce.platform_values",
        ),
        Need(k + "leaving_platform", f.leaving_platform, frozenset({"boolean"})),
        Need(k + "credit_amount", f.credit_amount, NUMBER),
        Need(k + "product_change_notes", f.product_change_notes, TEXT),
        Need(k + "new_package", f.new_package, TEXT),
        Need(
            k + "services",
            f.services,
            TEXT | {"multipicklist"},
            (cfg.reminders.seo_service,),
            "reminders.seo_service",
        ),
        Need(k + "modified", f.modified, frozenset({"datetime"})),
        Need(k + "sync_status", f.sync_status, TEXT, writes=statuses),
        Need(k + "sync_message", f.sync_message, TEXT, writes=messages),
    ]
    if sf.approval.source == "fields":
        for role, name in sf.approval.fields.items():
            kinds = DATE if role.endswith("_at") else TEXT | {"reference"}
            request.append(Need(f"salesforce.approval.fields.{role}", name, kinds))
    acc = sf.account
    account = [
        Need(
            "salesforce.account.status_field",
            acc.status_field,
            TEXT,
            writes=(acc.cancellation, acc.pause, acc.change),
        )
    ]
    out: dict[str, list[Need]] = {}
    for obj, items in ((sf.object, request), (acc.object, account)):
        out.setdefault(obj, []).extend(n for n in items if n.path)
    return out


def problems(
    cfg: Config,
    texts: WritebackTexts,
    describe: Describe,
    object_names: Callable[[], list[str]],
) -> list[str]:
    """What is wrong with the mapping, one line each; empty when it matches the org."""
    out: list[str] = []
    for obj, items in needs(cfg, texts).items():
        desc = describe(obj)
        if desc is None:
            key = (
                "salesforce.object" if obj == cfg.salesforce.object else "salesforce.account.object"
            )
            out.append(f"{key}: the org has no object '{obj}'{_closest(obj, object_names())}")
            continue
        for need in items:
            out.extend(_check(need, obj, desc, describe))
    return out


def _check(need: Need, obj: str, desc: Mapping[str, Any], describe: Describe) -> Iterator[str]:
    *rels, last = need.path.split(".")
    where, cur = obj, desc
    for rel in rels:
        ref = _find(cur, rel, key="relationshipName")
        if ref is None:
            names = [str(f["relationshipName"]) for f in cur["fields"] if f["relationshipName"]]
            yield f"{need.key}: {where} has no relationship '{rel}'{_closest(rel, names)}"
            return
        target = ref["referenceTo"][0] if len(ref["referenceTo"]) == 1 else ""
        nxt = describe(target) if target else None
        if nxt is None:
            return  # a polymorphic relationship: Salesforce checks it when the poll runs
        where, cur = target, nxt
    field = _find(cur, last, key="name")
    if field is None:
        names = [str(f["name"]) for f in cur["fields"]]
        yield f"{need.key}: {where} has no field '{last}'{_closest(last, names)}"
        return
    name, kind = field["name"], field["type"]
    if kind not in need.kinds:
        yield (
            f"{need.key}: {where}.{name} is a {kind} field; the sync needs "
            + " or ".join(sorted(need.kinds))
        )
        return
    picklist = [str(v["value"]) for v in field.get("picklistValues") or [] if v.get("active")]
    if kind in ("picklist", "multipicklist"):
        for value in need.values:
            if value not in picklist:
                yield (
                    f"{need.values_key}: '{value}' is not a value of the {where}.{name} picklist "
                    f"(its values: {', '.join(picklist) or 'none'})"
                )
    if not need.writes:
        return
    if not field.get("updateable"):
        yield f"{need.key}: {where}.{name} is read-only for the sync user (not updateable)"
        return
    if kind == "picklist" and field.get("restrictedPicklist"):
        for value in dict.fromkeys(need.writes):
            if value and value not in picklist:
                yield (
                    f"{need.key}: the sync writes '{value}', which is not a value of the "
                    f"restricted {where}.{name} picklist (its values: {', '.join(picklist)})"
                )
    longest = max((len(v) for v in need.writes), default=0)
    length = int(field.get("length") or 0)
    if length and longest > length:
        yield (
            f"{need.key}: {where}.{name} holds {length} characters, but the sync writes up to "
            f"{longest}"
        )


def _find(desc: Mapping[str, Any], name: str, *, key: str) -> Mapping[str, Any] | None:
    low = name.lower()
    return next((f for f in desc["fields"] if str(f.get(key) or "").lower() == low), None)


def _closest(name: str, names: list[str]) -> str:
    by_low = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(by_low), n=3, cutoff=0.6)
    return f" (closest: {', '.join(by_low[c] for c in close)})" if close else ""
