"""What the emulated org refuses, and in which words: SOQL names, and values written to records.

Salesforce checks every name in a query against the schema before it reads a row, and every
field of a write before it saves one. The errors are Salesforce's own (REST API Developer Guide,
"Status Codes and Error Responses"; SOAP API "StatusCode"), with the wording a real org uses:

- a field the object does not have, in SOQL: 400 `INVALID_FIELD`, "No such column 'X' on entity
  'Y'", after the query and a caret under the column (`ERROR at Row:1:Column:N`);
- a relationship it does not have: `INVALID_FIELD`, "Didn't understand relationship 'X' in field
  path"; in FROM (a child subquery): `INVALID_TYPE`;
- a long text area in WHERE or ORDER BY: `INVALID_FIELD`, "field 'X' can not be filtered (sorted)
  in a query call";
- a write naming a field the object does not have: 400 `INVALID_FIELD`, "No such column 'X' on
  sobject of type Y" for the whole request (the body cannot be deserialised, so no record of it
  is saved, in sObject Collections too);
- per record, with `fields`: `INVALID_FIELD_FOR_INSERT_UPDATE` (read-only field),
  `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`, `STRING_TOO_LONG`, `REQUIRED_FIELD_MISSING`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from connectors.emulators.base import EmulatorError
from connectors.emulators.salesforce import soql
from connectors.emulators.salesforce.schema import LONG_TEXT_MIN, TEXT_TYPES, Schema

_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom "
    "field name. Please reference your WSDL or the describe call for the appropriate names."
)
_REL_HINT = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' after the "
    "custom relationship name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)
_TYPE_HINT = (
    "If you are attempting to use a custom object, be sure to append the '__c' after the entity "
    "name. Please reference your WSDL or the describe call for the appropriate names."
)


def query_error(text: str, token: str, code: str, message: str) -> EmulatorError:
    """Salesforce's query error: the query, a caret under `token`, its row and column."""
    m = re.search(r"(?<![\w.])" + re.escape(token) + r"(?![\w])", text, re.I)
    return soql.error_at(text, m.start() if m else 0, code, message)


def unknown_object(text: str, name: str) -> EmulatorError:
    return query_error(
        text, name, "INVALID_TYPE", f"sObject type '{name}' is not supported. {_TYPE_HINT}"
    )


def check_query(schema: Schema, obj: str, q: soql.Query, text: str) -> None:
    """Every name in the query exists, or the error Salesforce gives for the first that does not."""
    for path in q.fields:
        _check_path(schema, obj, path, text)
    for path in _cond_paths(q.where):
        _usable(_check_path(schema, obj, path, text), path, "filtered", text)
    for path, _desc, _nulls in q.order:
        _usable(_check_path(schema, obj, path, text), path, "sorted", text)
    for sub in q.subqueries:
        child = schema.child(obj, sub.obj)
        if child is None:
            raise query_error(
                text,
                sub.obj,
                "INVALID_TYPE",
                f"Didn't understand relationship '{sub.obj}' in FROM part of query call. "
                + _REL_HINT,
            )
        kid = schema.find(str(child["childSObject"])) or "Name"
        for path in [*sub.fields, *_cond_paths(sub.where), *(p for p, _d, _n in sub.order)]:
            _check_path(schema, kid, path, text)


def _cond_paths(cond: soql.Cond | None) -> Iterator[str]:
    if cond is None:
        return
    if cond.op in ("and", "or", "not"):
        for part in cond.parts:
            yield from _cond_paths(part)
    else:
        yield cond.path


def _usable(field: dict[str, Any], path: str, how: str, text: str) -> None:
    """Long text areas cannot be filtered or sorted on: Salesforce refuses the query."""
    if field["type"] == "textarea" and field["length"] >= LONG_TEXT_MIN:
        raise query_error(
            text,
            path,
            "INVALID_FIELD",
            f"field '{field['name']}' can not be {how} in a query call",
        )


def _check_path(schema: Schema, obj: str, path: str, text: str) -> dict[str, Any]:
    *rels, last = path.split(".")
    cur = obj
    for rel in rels:
        ref = schema.relationship(cur, rel)
        if ref is None:
            raise query_error(
                text,
                path,
                "INVALID_FIELD",
                f"Didn't understand relationship '{rel}' in field path. {_REL_HINT}",
            )
        cur = schema.target(ref)
    field = schema.field(cur, last)
    if field is None:
        raise query_error(
            text, path, "INVALID_FIELD", f"No such column '{last}' on entity '{cur}'. {_FIELD_HINT}"
        )
    return field


def canonical(schema: Schema, obj: str, name: str) -> str:
    """A field's own spelling (`status__c` -> `Status__c`); SOQL and JSON keys ignore case."""
    f = schema.field(obj, name)
    return str(f["name"]) if f else name


# ----- writes ----------------------------------------------------------------------------------
def unknown_field(schema: Schema, obj: str, values: Mapping[str, Any]) -> EmulatorError | None:
    """The whole request's error when a record names a field its object does not have."""
    for key in values:
        if schema.field(obj, key) is None:
            return EmulatorError(
                400, f"No such column '{key}' on sobject of type {obj}", "INVALID_FIELD"
            )
    return None


def record_error(
    schema: Schema, obj: str, values: Mapping[str, Any], *, creating: bool
) -> dict[str, Any] | None:
    """The first per-record error Salesforce would give for these values, or None."""
    fields = [(schema.field(obj, k), k, v) for k, v in values.items()]
    locked = [
        str(f["name"])
        for f, _k, _v in fields
        if f is not None and not (f["createable"] if creating else f["updateable"])
    ]
    if locked:
        return item_error(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(locked)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or "
            "permission set.",
            locked,
        )
    for f, _key, value in fields:
        if f is None:
            continue
        name, label = str(f["name"]), str(f["label"])
        allowed = {v["value"] for v in f["picklistValues"] if v["active"]}
        restricted = f["type"] == "picklist" and f["restrictedPicklist"]
        if restricted and value not in (None, "") and str(value) not in allowed:
            return item_error(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{label}: bad value for restricted picklist field: {value}",
                [name],
            )
        if f["type"] in TEXT_TYPES and isinstance(value, str) and len(value) > f["length"]:
            return item_error(
                "STRING_TOO_LONG",
                f"{label}: data value too large: {value} (max length={f['length']})",
                [name],
            )
        if value in (None, "") and not f["nillable"] and f["type"] != "boolean":
            return item_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]",
                              [name])  # fmt: skip
    return None


def item_error(code: str, message: str, fields: list[str]) -> dict[str, Any]:
    """One entry of a SaveResult's `errors` (and, renamed, of a single-record error list)."""
    return {"statusCode": code, "message": message, "fields": list(fields)}
