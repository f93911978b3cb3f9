"""The smallest describe support `sync init` needs: describeGlobal and one object's describe.

Shapes follow Salesforce's REST API reference ("Describe Global", "sObject Describe"): the
global answer lists `sobjects` with name, label, labelPlural, keyPrefix, custom and the flags;
an object's describe lists `fields`, each with name, label, type, length, nillable, custom,
picklistValues (active, defaultValue, label, validFor, value), referenceTo and
relationshipName. Only those keys are modelled; layouts, record types and the many other
describe keys are not modelled by the emulator.

An org's schema comes from the seed's "schema" key (same shape as `DEFAULT_SCHEMA`); objects it
does not describe fall back to `DEFAULT_SCHEMA`, then to their records' field names as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

F = dict[str, Any]


def _f(name: str, label: str, type_: str, *values: str, ref: str = "") -> F:
    field: F = {"name": name, "label": label, "type": type_}
    if values:
        field["values"] = list(values)
    if ref:
        field["referenceTo"] = [ref]
    return field


DEFAULT_SCHEMA: dict[str, F] = {
    "Takedown_Request__c": {
        "label": "Takedown Request",
        "labelPlural": "Takedown Requests",
        "keyPrefix": "a0T",
        "fields": [
            _f("Id", "Record ID", "id"),
            _f("Name", "Takedown Request Name", "string"),
            _f("Account__c", "Account", "reference", ref="Account"),
            _f(
                "Request_Type__c",
                "Request Type",
                "picklist",
                "Cancellation",
                "Contract Pause",
                "Contract Change",
            ),
            _f(
                "Status__c",
                "Status",
                "picklist",
                "Draft",
                "Pending Approval",
                "Approved",
                "Rejected",
                "Withdrawn",
            ),
            _f("Effective_Date__c", "Effective Date", "date"),
            _f("Reason__c", "Reason", "textarea"),
            _f("Platform__c", "Platform", "picklist", "DS", "ARI"),
            _f("Leaving_Platform__c", "Leaving Platform", "boolean"),
            _f("Credit_Amount__c", "Credit Amount", "currency"),
            _f("Product_Change_Notes__c", "Product Change Notes", "textarea"),
            _f("New_Package_Or_Budget__c", "New Package or Budget", "string"),
            _f("Services__c", "Services", "multipicklist", "TDA", "SEO", "SEM", "Social"),
            _f("Sync_Status__c", "Sync Status", "string"),
            _f("Sync_Message__c", "Sync Message", "textarea"),
            _f("SystemModstamp", "System Modstamp", "datetime"),
        ],
    },
    "Account": {
        "label": "Account",
        "labelPlural": "Accounts",
        "keyPrefix": "001",
        "fields": [
            _f("Id", "Account ID", "id"),
            _f("Name", "Account Name", "string"),
            _f("Platform__c", "Platform", "picklist", "DS", "ARI"),
            _f(
                "TDA_Status__c",
                "TDA Status",
                "picklist",
                "Active",
                "Paused",
                "Cancelled",
                "Contract Changed",
            ),
        ],
    },
    "User": {
        "label": "User",
        "labelPlural": "Users",
        "keyPrefix": "005",
        "fields": [
            _f("Id", "User ID", "id"),
            _f("Name", "Full Name", "string"),
            _f("Username", "Username", "string"),
        ],
    },
}


def _schema_of(name: str, schema: Mapping[str, F], records: Iterable[Mapping[str, Any]]) -> F:
    if name in schema:
        return schema[name]
    if name in DEFAULT_SCHEMA:
        return DEFAULT_SCHEMA[name]
    keys = sorted({k for r in records for k in r if k != "attributes"})
    return {"label": name, "fields": [_f(k, k, "string") for k in keys]}


def describe_global(
    objects: Mapping[str, Iterable[Mapping[str, Any]]], schema: Mapping[str, F], version: str
) -> dict[str, Any]:
    """`GET /services/data/vXX.X/sobjects/`."""
    out = []
    for name in sorted(objects):
        s = _schema_of(name, schema, objects[name])
        base = f"/services/data/v{version}/sobjects/{name}"
        out.append(
            {
                "name": name,
                "label": s.get("label", name),
                "labelPlural": s.get("labelPlural", s.get("label", name)),
                "keyPrefix": s.get("keyPrefix"),
                "custom": name.endswith("__c"),
                "queryable": True,
                "createable": True,
                "updateable": True,
                "urls": {"sobject": base, "describe": base + "/describe"},
            }
        )
    return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": out}


def _picklist_value(value: str) -> dict[str, Any]:
    return {"active": True, "defaultValue": False, "label": value, "validFor": None, "value": value}


def describe(
    name: str, records: Iterable[Mapping[str, Any]], schema: Mapping[str, F], version: str
) -> dict[str, Any]:
    """`GET /services/data/vXX.X/sobjects/{name}/describe`."""
    s = _schema_of(name, schema, records)
    fields = []
    for f in s["fields"]:
        values = f.get("values", [])
        ref = f.get("referenceTo", [])
        fields.append(
            {
                "name": f["name"],
                "label": f["label"],
                "type": f["type"],
                "length": 255 if f["type"] in ("string", "picklist") else 0,
                "nillable": f["name"] not in ("Id", "Name"),
                "custom": f["name"].endswith("__c"),
                "updateable": f["type"] != "id",
                "picklistValues": [_picklist_value(v) for v in values],
                "referenceTo": ref,
                "relationshipName": f["name"][:-3] + "__r"
                if ref and f["name"].endswith("__c")
                else None,
            }
        )
    return {
        "name": name,
        "label": s.get("label", name),
        "labelPlural": s.get("labelPlural", s.get("label", name)),
        "keyPrefix": s.get("keyPrefix"),
        "custom": name.endswith("__c"),
        "queryable": True,
        "fields": fields,
        "urls": {"describe": f"/services/data/v{version}/sobjects/{name}/describe"},
    }
