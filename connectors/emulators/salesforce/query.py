"""Queries against the emulated org: `query`, `queryAll` and their next pages.

Split from `salesforce` (the org, its sessions and records) because answering a query is a job
of its own: the names checked against the schema (`salesforce_checks`), the rows selected and
ordered (`soql_engine`), each row shaped as the REST API shapes it (canonical field names,
`attributes`, relationship objects, the `ProcessSteps` child records or null), and pages cut as
Salesforce cuts them: 2,000 records by default, the `Sforce-Query-Options` `batchSize` honoured
between 200 and 2,000, and at most 200 when the query has a child-relationship subquery (child
rows count toward the batch) or selects two or more custom long text area fields (SOQL and SOSL
Reference, "Change the Batch Size in Queries"; REST API Developer Guide, "Query Options Header").
"""

from __future__ import annotations

import copy
import re
import secrets
from typing import Any

from connectors.emulators.base import EmulatorError, Request, Response, json_response, route
from connectors.emulators.salesforce import checks, soql
from connectors.emulators.salesforce.schema import Schema, long_text_count

PAGE_SIZE = 2000  # REST query batch size: the default and the maximum
MIN_PAGE_SIZE = 200  # the smallest batchSize, and the cap with a subquery or long text fields
NOT_MODELLED = soql.NOT_MODELLED
# Described, but holding no rows of their own: approval history is kept per record.
NOT_QUERIED = frozenset(
    {"ProcessInstance", "ProcessInstanceStep", "ProcessInstanceHistory", "Name"}
)
STEP_OBJECT = "ProcessInstanceHistory"
STEP_RELATIONSHIP = "ProcessSteps"
STEP_KEY = STEP_RELATIONSHIP


class QueryRoutes:
    """The query routes of `SalesforceEmulator` (a mixin: the org's state lives there)."""

    schema: Schema
    records: dict[str, dict[str, dict[str, Any]]]
    approvals: dict[str, list[dict[str, Any]]]
    _locators: dict[str, tuple[list[dict[str, Any]], int]]

    def _find(self, rid: object) -> tuple[str, dict[str, Any]] | None:
        raise NotImplementedError

    @route("GET", r"/services/data/v(?P<version>[\d.]+)/(?P<endpoint>query|queryAll)")
    def run_query(self, req: Request, version: str, endpoint: str) -> Response:
        text = req.arg("q") or ""
        if not text.strip():
            raise EmulatorError(400, "A query string has to be specified", "MALFORMED_QUERY")
        query = soql.parse(text)
        obj = self._queried_object(query, text)
        checks.check_query(self.schema, obj, query, text)
        rows = self._execute(query, obj, version, include_deleted=endpoint == "queryAll")
        return self._page(rows, self._page_size(req, query, obj), version, endpoint, "", 0)

    @route(
        "GET",
        r"/services/data/v(?P<version>[\d.]+)/(?P<endpoint>query|queryAll)/"
        r"(?P<locator>[A-Za-z0-9]+)-(?P<offset>\d+)",
    )
    def query_more(
        self, req: Request, version: str, endpoint: str, locator: str, offset: str
    ) -> Response:
        found = self._locators.get(locator)
        if found is None:
            raise EmulatorError(400, "invalid query locator", "INVALID_QUERY_LOCATOR")
        rows, size = found
        return self._page(rows, size, version, endpoint, locator, int(offset))

    def _page_size(self, req: Request, q: soql.Query, obj: str) -> int:
        size = PAGE_SIZE
        asked = re.search(r"batchSize=(\d+)", req.header("Sforce-Query-Options"))
        if asked:
            size = max(MIN_PAGE_SIZE, min(PAGE_SIZE, int(asked.group(1))))
        if q.subqueries or long_text_count(self.schema, obj, q.fields) >= 2:
            size = min(size, MIN_PAGE_SIZE)
        return size

    def _page(
        self,
        rows: list[dict[str, Any]],
        size: int,
        version: str,
        endpoint: str,
        locator: str,
        offset: int,
    ) -> Response:
        page = rows[offset : offset + size]
        done = offset + size >= len(rows)
        out: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": page}
        if not done:
            if not locator:
                locator = "01g" + secrets.token_hex(8)[:12] + "AAA"
                self._locators[locator] = (rows, size)
                while len(self._locators) > 50:
                    self._locators.pop(next(iter(self._locators)))
            out["nextRecordsUrl"] = (
                f"/services/data/v{version}/{endpoint}/{locator}-{offset + size}"
            )
        return json_response(out)

    # ----- query execution ---------------------------------------------------------------
    def _queried_object(self, q: soql.Query, text: str) -> str:
        obj = self.schema.find(q.obj)
        if obj is None:
            raise checks.unknown_object(text, q.obj)
        if obj in NOT_QUERIED or not self.schema.objects[obj].get("queryable", True):
            raise EmulatorError(
                501,
                f"queries FROM {obj} are not modelled by the emulator (its approval history is "
                "reached through a record's ProcessSteps subquery)",
                NOT_MODELLED,
            )
        for sub in q.subqueries:
            child = self.schema.child(obj, sub.obj)
            if child is not None and str(child["relationshipName"]) != STEP_RELATIONSHIP:
                raise EmulatorError(
                    501,
                    f"the {child['relationshipName']} subquery is not modelled by the emulator "
                    f"(only {STEP_RELATIONSHIP} is)",
                    NOT_MODELLED,
                )
        return obj

    def _execute(
        self, q: soql.Query, obj: str, version: str, *, include_deleted: bool
    ) -> list[dict[str, Any]]:
        rows = [
            r
            for r in self.records[obj].values()
            if (include_deleted or not r.get("IsDeleted"))
            and (q.where is None or soql.matches(q.where, r, self._find))
        ]
        rows = soql.select_rows(rows, q, self._find)
        return [self._project(r, obj, q, version) for r in rows]

    def _project(
        self, rec: dict[str, Any], obj: str, q: soql.Query, version: str
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": record_attributes(obj, rec.get("Id", ""), version)}
        for path in q.fields:
            *rels, last = path.split(".")
            target, cur, cur_obj = out, rec, obj
            for rel in rels:
                ref = self.schema.relationship(cur_obj, rel)
                rel_name = str(ref["relationshipName"]) if ref else rel
                related = soql.related(cur, rel_name, self._find)
                if related is None:
                    target[rel_name] = None
                    break
                rel_obj, rel_rec = related
                node = target.get(rel_name)
                if not isinstance(node, dict):
                    node = {
                        "attributes": record_attributes(rel_obj, rel_rec.get("Id", ""), version)
                    }
                    target[rel_name] = node
                target, cur, cur_obj = node, rel_rec, rel_obj
            else:
                key = checks.canonical(self.schema, cur_obj, last)
                target[key] = copy.deepcopy(cur.get(key, cur.get(soql.key_of(cur, key) or key)))
        for sub in q.subqueries:
            steps = self.approvals.get(str(rec.get("Id", "")), [])
            rows = [s for s in steps if sub.where is None or soql.matches(sub.where, s, self._find)]
            rows = soql.select_rows(rows, sub, self._find)
            out[STEP_KEY] = (
                {
                    "totalSize": len(rows),
                    "done": True,
                    "records": [self._project(s, STEP_OBJECT, sub, version) for s in rows],
                }
                if rows
                else None
            )
        return out


def record_attributes(obj: str, rid: Any, version: str) -> dict[str, str]:
    kind = "User" if obj == "Name" else obj
    return {"type": obj, "url": f"/services/data/v{version}/sobjects/{kind}/{rid}"}
