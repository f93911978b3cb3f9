"""Writes to the emulated org: one record (PATCH, POST) and sObject Collections (PATCH, POST).

Split from `salesforce` (the org, its sessions and queries) because what a write may do is a job
of its own: the request shape, Salesforce's limits on a collection, and the per-record checks
against the schema (`salesforce_checks`), answered the way the REST API answers them: a
top-level error list for a request it cannot take, per-record `SaveResult`s otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from connectors.emulators.base import EmulatorError, Request, Response, json_response, route
from connectors.emulators.salesforce import checks, soql
from connectors.emulators.salesforce.schema import Schema

COLLECTION_LIMIT = 200
CHUNK_LIMIT = 10


def sf_datetime(value: datetime) -> str:
    """Salesforce's own dateTime format: milliseconds and a +0000 offset."""
    v = value.astimezone(UTC)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}+0000"


class RecordWrites:
    """The write routes of `SalesforceEmulator` (a mixin: the org's state lives there)."""

    schema: Schema
    update_failures: dict[str, tuple[str, str]]
    clock: Callable[[], datetime]

    def _find(self, rid: object) -> tuple[str, dict[str, Any]] | None:
        raise NotImplementedError

    def _record_of(self, obj: str, rid: str) -> dict[str, Any]:
        raise NotImplementedError

    def _object(self, obj: str) -> str:
        raise NotImplementedError

    def _json_body(self, req: Request) -> Any:
        raise NotImplementedError

    def add_record(self, obj: str, fields: dict[str, Any] | None = None, **more: Any) -> str:
        raise NotImplementedError

    @route("PATCH", r"/services/data/v(?P<version>[\d.]+)/sobjects/(?P<obj>\w+)/(?P<rid>\w+)")
    def patch_record(self, req: Request, version: str, obj: str, rid: str) -> Response:
        rec = self._record_of(obj, rid)
        name = self._object(obj)
        values = self._values(req)
        problem = checks.unknown_field(self.schema, name, values) or None
        if problem is not None:
            raise problem
        failure = self._update_problem(name, rec["Id"], values)
        if failure is not None:
            return _dml_error(failure)
        self._apply_update(name, rec["Id"], values)
        return Response(204)

    @route("POST", r"/services/data/v(?P<version>[\d.]+)/sobjects/(?P<obj>\w+)")
    def create_record(self, req: Request, version: str, obj: str) -> Response:
        name = self._object(obj)
        values = self._values(req)
        problem = checks.unknown_field(self.schema, name, values)
        if problem is not None:
            raise problem
        failure = self._create_problem(name, values)
        if failure is not None:
            return _dml_error(failure)
        return json_response(
            {"id": self.add_record(name, values), "success": True, "errors": []}, 201
        )

    @route("PATCH", r"/services/data/v(?P<version>[\d.]+)/composite/sobjects")
    def composite_update(self, req: Request, version: str) -> Response:
        return self._collection(req, creating=False)

    @route("POST", r"/services/data/v(?P<version>[\d.]+)/composite/sobjects")
    def composite_create(self, req: Request, version: str) -> Response:
        return self._collection(req, creating=True)

    def _collection(self, req: Request, *, creating: bool) -> Response:
        """sObject Collections, as the REST API Developer Guide ("Update Records Using sObject
        Collections") describes it: at most 200 records (`EXCEEDED_ID_LIMIT`, Salesforce's own
        "record limit reached. cannot submit more than 200 records into this call"); records of
        several types are processed in chunks of consecutive same-type records, at most 10 a
        request. The guide documents that limit but not the REST answer to a breach; the
        emulator refuses the whole request with a 400 whose message is the platform's own
        ("Cannot have more than 10 chunks in a single operation. Please rearrange the data to
        reduce chunking.", as Apex raises it) under `INVALID_BATCH_REQUEST`."""
        body = self._json_body(req)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise EmulatorError(400, "records is required", "INVALID_INPUT")
        if len(records) > COLLECTION_LIMIT:
            raise EmulatorError(
                400,
                "record limit reached. cannot submit more than 200 records into this call",
                "EXCEEDED_ID_LIMIT",
            )
        items = [dict(raw) if isinstance(raw, dict) else {} for raw in records]
        types = [str((i.pop("attributes", None) or {}).get("type") or "") for i in items]
        chunks = sum(1 for i, t in enumerate(types) if i == 0 or t != types[i - 1])
        if chunks > CHUNK_LIMIT:
            raise EmulatorError(
                400,
                "Cannot have more than 10 chunks in a single operation. Please rearrange the "
                "data to reduce chunking.",
                "INVALID_BATCH_REQUEST",
            )
        plans: list[tuple[str, str, dict[str, Any], dict[str, Any] | None]] = []
        for kind, item in zip(types, items, strict=True):
            rid = str(item.pop("id", "") or item.pop("Id", "") or "")
            obj = self.schema.find(kind) if kind else None
            if kind and obj is None:
                raise EmulatorError(400, f"sObject type '{kind}' is not supported.", "INVALID_TYPE")
            if obj is not None:
                unknown = checks.unknown_field(self.schema, obj, item)
                if unknown is not None:
                    raise unknown
            if obj is None:
                problem: dict[str, Any] | None = checks.item_error(
                    "INVALID_TYPE", "Must specify a type in attributes", []
                )
            elif creating:
                problem = (
                    checks.item_error("INVALID_FIELD", "cannot specify Id in an insert call", [])
                    if rid
                    else self._create_problem(obj, item)
                )
            elif not rid:
                problem = checks.item_error(
                    "MISSING_ARGUMENT", "Id not specified in an update call", []
                )
            else:
                problem = self._update_problem(obj, rid, item)
            plans.append((obj or "", rid, item, problem))
        rolled_back = bool(body.get("allOrNone")) and any(p[3] for p in plans)
        results: list[dict[str, Any]] = []
        for obj, rid, values, problem in plans:
            if problem is not None:
                results.append({"success": False, "errors": [problem]})
            elif rolled_back:
                results.append(
                    {
                        **({} if creating else {"id": rid}),
                        "success": False,
                        "errors": [
                            checks.item_error(
                                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                "Record rolled back because not all records were valid and "
                                "the request was using AllOrNone header",
                                [],
                            )
                        ],
                    }
                )
            elif creating:
                results.append({"id": self.add_record(obj, values), "success": True, "errors": []})
            else:
                full_id = self._apply_update(obj, rid, values)
                results.append({"id": full_id, "success": True, "errors": []})
        return json_response(results)

    def _values(self, req: Request) -> dict[str, Any]:
        values = self._json_body(req)
        if not isinstance(values, dict):
            raise EmulatorError(400, "Expected a JSON object", "JSON_PARSER_ERROR")
        values.pop("attributes", None)
        return values

    def _update_problem(self, obj: str, rid: str, values: dict[str, Any]) -> dict[str, Any] | None:
        found = self._find(rid)
        if found is None or found[0].lower() != obj.lower():
            if not soql.ID_PATTERN.match(rid):
                return checks.item_error(
                    "MALFORMED_ID", f"{obj} ID: id value of incorrect type: {rid}", ["Id"]
                )
            return checks.item_error(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []
            )
        if found[1].get("IsDeleted"):
            return checks.item_error("ENTITY_IS_DELETED", "entity is deleted", [])
        problem = checks.record_error(self.schema, obj, values, creating=False)
        if problem is not None:
            return problem
        scripted = self.update_failures.get(rid[:15])
        if scripted is not None:
            return checks.item_error(scripted[0], scripted[1], [])
        return None

    def _create_problem(self, obj: str, values: dict[str, Any]) -> dict[str, Any] | None:
        problem = checks.record_error(self.schema, obj, values, creating=True)
        if problem is not None:
            return problem
        given = {k.lower() for k in values}
        missing = [
            f["name"]
            for f in self.schema.objects[obj]["fields"]
            if f["createable"]
            and not f["nillable"]
            and not f["defaultedOnCreate"]
            and f["name"].lower() not in given
        ]
        if missing:
            return checks.item_error(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )  # fmt: skip
        return None

    def _apply_update(self, obj: str, rid: str, values: dict[str, Any]) -> str:
        found = self._find(rid)
        assert found is not None
        rec = found[1]
        for key, value in values.items():
            rec[checks.canonical(self.schema, obj, key)] = value
        now = sf_datetime(self.clock())
        rec["SystemModstamp"] = rec["LastModifiedDate"] = now
        return str(rec["Id"])


def _dml_error(item: dict[str, Any]) -> Response:
    """A per-record error as a single-record call answers it: a list, `errorCode`, `fields`."""
    return json_response(
        [{"message": item["message"], "errorCode": item["statusCode"], "fields": item["fields"]}],
        400,
    )
