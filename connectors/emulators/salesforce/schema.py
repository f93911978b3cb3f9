"""The emulated org's schema: which objects and fields exist, and what Salesforce says about them.

A real org refuses a field it does not have, a write to a read-only field, a value outside a
restricted picklist and a string over its length; the emulator can only do the same if it knows
the schema. Each object is kept in a compact, JSON-able form (the `schema` key of a seed, so a
sandbox's write-through persistence keeps it) and rendered in the REST API's own shapes:
`describeGlobal` (`GET /sobjects/`) and `describe` (`GET /sobjects/{name}/describe`), the
`DescribeSObjectResult` and `Field` keys as the REST API Developer Guide and simple-salesforce's
own fixtures show them.

Seed shape (every key but `name` and `type` optional; defaults follow the type)::

    "schema": {"Takedown_Request__c": {
        "label": "Takedown Request", "labelPlural": "Takedown Requests",
        "fields": [{"name": "Status__c", "type": "picklist", "label": "Status",
                    "picklistValues": ["Approved", "Withdrawn"], "restrictedPicklist": true},
                   {"name": "Sync_Message__c", "type": "textarea", "length": 32768}],
        "childRelationships": [{"relationshipName": "ProcessSteps",
                                "childSObject": "ProcessInstanceHistory",
                                "field": "TargetObjectId"}]}}

A seeded object's fields are merged over its default (`DEFAULTS`) by name, so a scenario adds
or reshapes fields without restating the rest; `"remove": ["Field__c"]` drops fields (an org
that lacks one). `values` is accepted for `picklistValues`. Every object gets the system fields
(`Id`, `IsDeleted`, `CreatedDate`, `CreatedById`, `LastModifiedDate`, `LastModifiedById`,
`SystemModstamp`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from connectors.emulators.salesforce.defaults import DEFAULTS, STANDARD_OBJECTS, SYSTEM_FIELDS

SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "currency": "xsd:double",
    "double": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
}
TEXT_TYPES = frozenset(
    {"string", "textarea", "picklist", "multipicklist", "email", "phone", "url", "combobox"}
)
_DEFAULT_LENGTH = {"id": 18, "reference": 18, "string": 255, "textarea": 255, "picklist": 255}
_DEFAULT_LENGTH.update({"multipicklist": 4099, "email": 80, "phone": 40, "url": 255})
# Long text areas: Salesforce returns at most 200 records a page when a query selects two or more.
LONG_TEXT_MIN = 256


def normalise_field(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A field spec with every compact key filled in from its type."""
    kind = str(spec.get("type", "string"))
    name = str(spec["name"])
    system = name in SYSTEM_FIELDS or kind == "id"
    out: dict[str, Any] = {
        "name": name,
        "type": kind,
        "label": spec.get("label") or name.removesuffix("__c").replace("_", " "),
        "length": int(spec.get("length", _DEFAULT_LENGTH.get(kind, 0))),
        "updateable": bool(spec.get("updateable", not system and not spec.get("autoNumber"))),
        "createable": bool(spec.get("createable", not system and not spec.get("autoNumber"))),
        "nillable": bool(spec.get("nillable", kind != "boolean" and not system)),
        "custom": bool(spec.get("custom", name.endswith("__c"))),
        "autoNumber": bool(spec.get("autoNumber", False)),
        "nameField": bool(spec.get("nameField", name == "Name")),
        "defaultedOnCreate": bool(spec.get("defaultedOnCreate", kind == "boolean" or system)),
        "restrictedPicklist": bool(spec.get("restrictedPicklist", False)),
        "picklistValues": [
            _picklist_value(v)
            for v in (spec["values"] if "values" in spec else spec.get("picklistValues", []))
        ],
        "referenceTo": list(spec.get("referenceTo", [])),
        "relationshipName": spec.get("relationshipName"),
        "precision": int(spec.get("precision", 18 if kind in ("currency", "double") else 0)),
        "scale": int(spec.get("scale", 2 if kind == "currency" else 0)),
        "extraTypeInfo": spec.get("extraTypeInfo")
        or (
            "plaintextarea"
            if kind == "textarea" and int(spec.get("length", 255)) >= LONG_TEXT_MIN
            else None
        ),
    }
    if kind == "reference" and out["relationshipName"] is None:
        out["relationshipName"] = name[:-3] + "__r" if name.endswith("__c") else name[:-2]
    return out


def _picklist_value(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {
            "active": bool(value.get("active", True)),
            "defaultValue": bool(value.get("defaultValue", False)),
            "label": str(value.get("label", value["value"])),
            "validFor": value.get("validFor"),
            "value": str(value["value"]),
        }
    return {"active": True, "defaultValue": False, "label": str(value), "validFor": None,
            "value": str(value)}  # fmt: skip


class Schema:
    """Every object of the org, by API name; lookups ignore case as SOQL does."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self._fields: dict[str, dict[str, dict[str, Any]]] = {}  # object -> lower name -> field
        for name in STANDARD_OBJECTS:
            self.add(name, {})

    def add(self, name: str, spec: Mapping[str, Any]) -> None:
        """Create or reshape an object: `spec`'s fields merge over what it has (or its default)."""
        base = self.objects.get(name) or _from_default(name)
        merged = {**base, **{k: copy.deepcopy(v) for k, v in spec.items() if k != "fields"}}
        merged.pop("remove", None)
        fields = {f["name"].lower(): f for f in base["fields"]}
        for gone in spec.get("remove", []):
            fields.pop(str(gone).lower(), None)
        for f in spec.get("fields", []):
            old = fields.get(str(f["name"]).lower(), {})
            fields[str(f["name"]).lower()] = normalise_field({**old, **f})
        merged["fields"] = list(fields.values())
        self.objects[name] = merged
        self._fields[name] = fields

    def ensure(self, name: str) -> str:
        """The object's own spelling, creating it (from its default, if any) when new."""
        found = self.find(name)
        if found is None:
            self.add(name, {})
            return name
        return found

    def find(self, name: str) -> str | None:
        low = name.lower()
        return next((o for o in self.objects if o.lower() == low), None)

    def field(self, obj: str, name: str) -> dict[str, Any] | None:
        return self._fields[obj].get(name.lower())

    def relationship(self, obj: str, rel: str) -> dict[str, Any] | None:
        """The reference field behind a relationship name (`Account__r`, `Actor`)."""
        low = rel.lower()
        return next(
            (
                f
                for f in self.objects[obj]["fields"]
                if f["type"] == "reference" and str(f["relationshipName"] or "").lower() == low
            ),
            None,
        )

    def child(self, obj: str, rel: str) -> dict[str, Any] | None:
        low = rel.lower()
        kids = self.objects[obj].get("childRelationships", [])
        return next((c for c in kids if str(c["relationshipName"]).lower() == low), None)

    def target(self, ref: Mapping[str, Any]) -> str:
        """The object a relationship leads to; a polymorphic one leads to `Name`."""
        targets = ref["referenceTo"]
        return str(targets[0]) if len(targets) == 1 and self.find(targets[0]) else "Name"

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.objects)

    def seed(self, data: Mapping[str, Any]) -> None:
        for name, spec in data.items():
            self.add(self.find(name) or name, spec)


def _from_default(name: str) -> dict[str, Any]:
    spec = copy.deepcopy(DEFAULTS.get(name, {}))
    custom = name.endswith("__c")
    label = spec.get("label") or name.removesuffix("__c").replace("_", " ")
    fields = {f: normalise_field(SYSTEM_FIELDS[f]) for f in SYSTEM_FIELDS}
    for f in spec.get("fields", []):
        fields[f["name"]] = normalise_field(f)
    return {
        "label": label,
        "labelPlural": spec.get("labelPlural") or label + "s",
        "custom": spec.get("custom", custom),
        "keyPrefix": spec.get("keyPrefix"),
        "queryable": spec.get("queryable", True),
        "updateable": spec.get("updateable", True),
        "createable": spec.get("createable", True),
        "fields": list(fields.values()),
        "childRelationships": spec.get("childRelationships", []),
    }


def describe_field(f: Mapping[str, Any]) -> dict[str, Any]:
    """One `Field` of a describe, every key Salesforce sends, in its alphabetical order."""
    kind = f["type"]
    text = kind in TEXT_TYPES
    return {
        "aggregatable": kind not in ("textarea", "multipicklist"),
        "aiPredictionField": False,
        "autoNumber": f["autoNumber"],
        "byteLength": f["length"] * 3 if text else (18 if kind in ("id", "reference") else 0),
        "calculated": False,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": f["createable"],
        "custom": f["custom"],
        "defaultValue": next((v["value"] for v in f["picklistValues"] if v["defaultValue"]), None)
        if kind != "boolean"
        else False,
        "defaultValueFormula": None,
        "defaultedOnCreate": f["defaultedOnCreate"],
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": 9 if kind == "int" else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": False,
        "extraTypeInfo": f["extraTypeInfo"],
        "filterable": kind != "textarea" or f["length"] < LONG_TEXT_MIN,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": kind not in ("textarea", "multipicklist", "currency", "double", "datetime"),
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": kind == "id",
        "inlineHelpText": None,
        "label": f["label"],
        "length": f["length"],
        "mask": None,
        "maskType": None,
        "name": f["name"],
        "nameField": f["nameField"],
        "namePointing": kind == "reference" and len(f["referenceTo"]) > 1,
        "nillable": f["nillable"],
        "permissionable": f["custom"] and f["nillable"],
        "picklistValues": copy.deepcopy(f["picklistValues"]),
        "polymorphicForeignKey": kind == "reference" and len(f["referenceTo"]) > 1,
        "precision": f["precision"],
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(f["referenceTo"]),
        "relationshipName": f["relationshipName"],
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": f["restrictedPicklist"],
        "scale": f["scale"],
        "searchPrefilterable": False,
        "soapType": SOAP_TYPES.get(kind, "xsd:string"),
        "sortable": kind not in ("textarea", "multipicklist") or f["length"] < LONG_TEXT_MIN,
        "type": kind,
        "unique": False,
        "updateable": f["updateable"],
        "writeRequiresMasterRead": False,
    }


def _flags(name: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    writable = bool(obj["updateable"])
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": bool(obj["createable"]),
        "custom": bool(obj["custom"]),
        "customSetting": False,
        "deepCloneable": False,
        "deletable": writable,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj["keyPrefix"],
        "label": obj["label"],
        "labelPlural": obj["labelPlural"],
        "layoutable": writable,
        "mergeable": name in ("Account", "Contact", "Lead"),
        "mruEnabled": writable,
        "name": name,
        "queryable": bool(obj["queryable"]),
        "replicateable": bool(obj["queryable"]),
        "retrieveable": bool(obj["queryable"]),
        "searchable": writable,
        "triggerable": writable,
        "undeletable": writable,
        "updateable": writable,
    }


def _urls(name: str, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{name}"
    return {
        "rowTemplate": base + "/{ID}",
        "defaultValues": base + "/defaultValues?recordTypeId&fields",
        "describe": base + "/describe",
        "sobject": base,
    }


def describe_global(schema: Schema, version: str) -> dict[str, Any]:
    """`GET /sobjects/`: every object, with the same flags as its describe."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [
            {**_flags(name, obj), "urls": _urls(name, version)}
            for name, obj in sorted(schema.objects.items())
        ],
    }


def describe(schema: Schema, name: str, version: str) -> dict[str, Any]:
    """`GET /sobjects/{name}/describe`: the object, its fields and child relationships."""
    obj = schema.objects[name]
    flags = _flags(name, obj)
    base = f"/services/data/v{version}/sobjects/{name}"
    urls = {
        **_urls(name, version),
        "compactLayouts": base + "/describe/compactLayouts",
        "approvalLayouts": base + "/describe/approvalLayouts",
        "listviews": base + "/listviews",
        "quickActions": base + "/quickActions",
        "layouts": base + "/describe/layouts",
    }
    children = [
        {
            "cascadeDelete": False,
            "childSObject": c["childSObject"],
            "deprecatedAndHidden": False,
            "field": c["field"],
            "junctionIdListNames": [],
            "junctionReferenceTo": [],
            "relationshipName": c["relationshipName"],
            "restrictedDelete": False,
        }
        for c in obj.get("childRelationships", [])
    ]
    return {
        "actionOverrides": [],
        **{k: v for k, v in flags.items() if k not in ("hasSubtypes", "isInterface", "isSubtype")},
        "childRelationships": children,
        "compactLayoutable": flags["layoutable"],
        "defaultImplementation": None,
        "extendedBy": None,
        "extendsInterfaces": None,
        "fields": [describe_field(f) for f in obj["fields"]],
        "hasSubtypes": False,
        "implementedBy": None,
        "implementsInterfaces": None,
        "isInterface": False,
        "isSubtype": False,
        "listviewable": None,
        "lookupLayoutable": None,
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "recordTypeInfos": [
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": "012000000000000AAA",
                "urls": {"layout": base + "/describe/layouts/012000000000000AAA"},
            }
        ],
        "searchLayoutable": flags["searchable"],
        "sobjectDescribeOption": "FULL",
        "supportedScopes": [{"label": "All " + obj["labelPlural"].lower(), "name": "everything"}],
        "urls": urls,
    }


def long_text_count(schema: Schema, obj: str, paths: Iterable[str]) -> int:
    """How many of the selected (non-relationship) fields are custom long text areas."""
    count = 0
    for path in paths:
        f = schema.field(obj, path) if "." not in path else None
        if f and f["custom"] and f["type"] == "textarea" and f["length"] >= LONG_TEXT_MIN:
            count += 1
    return count
