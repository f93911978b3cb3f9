"""A Salesforce org on 127.0.0.1 that the real simple-salesforce library talks to.

It speaks the public wire format, not our connector's convenience: the SOAP `login` call, the
OAuth 2.0 JWT bearer flow, REST `query`/`queryAll` with paging (then `nextRecordsUrl`),
`sobjects/` (describeGlobal), `sobjects/<Object>` (basic info) and `sobjects/<Object>/describe`,
`sobjects/<Object>` POST, `sobjects/<Object>/<Id>` GET and PATCH, sObject Collections
(`composite/sobjects` PATCH and POST) and `limits`; every REST answer carries
`Sforce-Limit-Info`, and errors have Salesforce's shape `[{"message": ..., "errorCode": ...}]`.
Anything else under `/services/data/` answers 501 with a message that says it is not modelled
by the emulator, never a 404 that reads like "no such record".

The org has a schema (`salesforce_schema`; defaults in `salesforce_defaults`): queries naming a
field, relationship or object it does not have, and writes to an unknown or read-only field, a
value outside a restricted picklist or a string over its length, are refused with Salesforce's
errors (`salesforce_checks`). Queries run on a SOQL subset big enough for the connector (parsed
and evaluated by `soql_engine`): relationship fields (`Account__r.Name`), the `ProcessSteps`
child subquery, WHERE with = != <> < > <= >= IN / NOT IN, LIKE, AND / OR / NOT, parentheses,
NULL, TRUE / FALSE, date and dateTime literals, ORDER BY (ASC/DESC, NULLS FIRST/LAST), LIMIT and
OFFSET. Like the real parser, it refuses AND and OR mixed without parentheses.

Queries are answered in `salesforce_query` (paging as Salesforce pages: 2,000 records, or at
most 200 with a child subquery or two long text fields), writes in `salesforce_writes`.

Seed shape (`seed(data)` adds to what is there; `snapshot()` returns the same shape, so
`SalesforceEmulator().seed(old.snapshot())` rebuilds an org):

    {
      "instance": "agency.my.salesforce.com",          # optional: the org's My Domain host
      "users": [{"username": "...", "password": "...", "security_token": "...",
                 "user_id": "005...", "name": "Jeremy Bliesner"}],    # user_id optional
      "consumer_keys": {"<consumer key>": "<RSA public key PEM, or '' to skip the signature>"},
      "schema": {"Takedown_Request__c": {"fields": [...]}},   # see salesforce_schema
      "records": {"Takedown_Request__c": [{...fields...}], "Account": [{...}]},
      "approvals": {"<record id>": [{"StepStatus": "Started" | "Approved" | "Rejected" |
                     "Removed", "ActorId": "005...", "Actor": {"Name": "..."},
                     "CreatedDate": "2026-11-20T09:00:00.000+0000", "Comments": ""}]},
      "limits": {"DailyApiRequests": {"Max": 15000, "Remaining": 15000}}
    }

Records get `Id` (18 characters, a per-object key prefix), `CreatedDate`, `SystemModstamp` and
`LastModifiedDate` when missing; an explicit (past) `SystemModstamp` is kept, which is how a test
simulates a transaction that committed late. Users are also `User` records (Id, Name, Username),
so `Actor.Name` resolves through `ActorId`. Standard objects (Account, User, the approval
objects) always exist; a custom object exists once it is named under "schema" or "records" (even
with an empty list), with its default schema if it has one; querying any other object is
`INVALID_TYPE`, as in a real org. A seeded record may only carry fields its object's schema has
(a typo in a scenario is refused at seeding, not silently kept). Dates use Salesforce's formats:
`2026-11-25T16:00:00.000+0000` and `2026-11-25`.

Why one module of about 520 lines: the org itself (sessions, users, SOAP and OAuth logins,
limits, describe, the records) with its routes; queries and writes are mixins of their own
(`query`, `writes`), as are the schema, its defaults, SOQL and the refusals (`checks`).
"""

from __future__ import annotations

import copy
import itertools
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

import jwt

from connectors.emulators.base import (
    Emulator,
    EmulatorError,
    Request,
    Response,
    json_response,
    route,
)
from connectors.emulators.salesforce import checks, soql
from connectors.emulators.salesforce.query import (
    NOT_MODELLED,
    NOT_QUERIED,
    QueryRoutes,
    record_attributes,
)
from connectors.emulators.salesforce.schema import Schema, describe, describe_global
from connectors.emulators.salesforce.writes import RecordWrites, sf_datetime
from connectors.emulators.service_clock import service_now

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_INSTANCE = "agency.my.salesforce.com"
ORG_ID = "00D5g000004AgcyEAC"
KEY_PREFIXES = {"Account": "001", "Contact": "003", "User": "005", "Opportunity": "006"}
STEP_PREFIX = "04h"
# The base class's fault codes, in Salesforce's vocabulary.
_CODES = {
    "RATE_LIMITED": "REQUEST_LIMIT_EXCEEDED",
    "INTERNAL": "UNKNOWN_EXCEPTION",
    "UNAVAILABLE": "SERVER_UNAVAILABLE",
    "METHOD": "METHOD_NOT_ALLOWED",
}
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id18(id15: str) -> str:
    """The case-safe 18-character form of a 15-character Salesforce id."""
    suffix = ""
    for i in range(3):
        chunk = id15[i * 5 : i * 5 + 5]
        suffix += _ID_CHARS[sum(1 << j for j, c in enumerate(chunk) if "A" <= c <= "Z")]
    return id15 + suffix


class SalesforceEmulator(QueryRoutes, RecordWrites, Emulator):
    service: ClassVar[str] = "salesforce"
    runtime_state = Emulator.runtime_state | {
        "clock", "tokens", "update_failures", "_locators", "_counter"
    }  # fmt: skip
    volatile_state = frozenset({"limits"})  # every REST call counts against the daily limit

    def __init__(
        self, *, instance: str = DEFAULT_INSTANCE, clock: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__()
        self.instance = instance
        self.clock: Callable[[], datetime] = clock or service_now
        self.users: dict[str, dict[str, str]] = {}  # username -> user
        self.consumer_keys: dict[str, str] = {}
        self.schema = Schema()
        self.records: dict[str, dict[str, dict[str, Any]]] = {"User": {}, "Account": {}}
        self.approvals: dict[str, list[dict[str, Any]]] = {}
        self.limits: dict[str, dict[str, int]] = {
            "DailyApiRequests": {"Max": 15000, "Remaining": 15000}
        }
        self.tokens: dict[str, str] = {}  # access token -> user id
        self.update_failures: dict[str, tuple[str, str]] = {}
        self._locators: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self._by_id: dict[str, tuple[str, str]] = {}  # 15-char id -> (object, 18-char id)
        self._prefixes: dict[str, str] = dict(KEY_PREFIXES)
        self._counter = itertools.count(1)

    # ----- seeding and inspection (tests and the sandbox) -------------------------------
    def seed(self, data: dict[str, Any]) -> None:
        with self.lock:
            if data.get("instance"):
                self.instance = str(data["instance"])
            for user in data.get("users", []):
                self.add_user(**user)
            for key, pem in data.get("consumer_keys", {}).items():
                self.consumer_keys[key] = pem or ""
            self.schema.seed(data.get("schema", {}))
            for name in data.get("schema", {}):
                if name not in NOT_QUERIED:
                    self.records.setdefault(self.schema.ensure(name), {})
            for name, recs in data.get("records", {}).items():
                obj = self.schema.ensure(name)
                self.records.setdefault(obj, {})
                for rec in recs:
                    self.add_record(obj, rec)
            for rid, steps in data.get("approvals", {}).items():
                for step in steps:
                    self._store_step(rid, dict(step))
            for name, values in data.get("limits", {}).items():
                self.limits.setdefault(name, {}).update(values)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(
                {
                    "instance": self.instance,
                    "users": list(self.users.values()),
                    "consumer_keys": self.consumer_keys,
                    "schema": self.schema.snapshot(),
                    "records": {
                        obj: list(recs.values())
                        for obj, recs in self.records.items()
                        if obj != "User"
                    },
                    "approvals": self.approvals,
                    "limits": self.limits,
                }
            )

    def add_user(
        self,
        username: str,
        password: str,
        security_token: str = "",
        user_id: str = "",
        name: str = "",
    ) -> str:
        with self.lock:
            uid = user_id or self._new_id("User")
            self.users[username] = {
                "username": username,
                "password": password,
                "security_token": security_token,
                "user_id": uid,
                "name": name or username,
            }
            self._put("User", {"Id": uid, "Name": name or username, "Username": username})
            return uid

    def add_field(self, obj: str, **spec: Any) -> None:
        """Add (or reshape) one field of an object, as an admin would in Setup."""
        with self.lock:
            name = self.schema.ensure(obj)
            self.records.setdefault(name, {})
            self.schema.add(name, {"fields": [spec]})

    def add_record(self, obj: str, fields: dict[str, Any] | None = None, **more: Any) -> str:
        """Insert a record; returns its Id. Give `SystemModstamp` to backdate the commit.

        Raises ValueError for a field the object's schema does not have: a seed with a typo
        would otherwise hide exactly the mistakes the schema is there to catch."""
        with self.lock:
            obj = self.schema.ensure(obj)
            self.records.setdefault(obj, {})
            given = {k: v for k, v in {**(fields or {}), **more}.items() if k != "attributes"}
            unknown = [k for k in given if self.schema.field(obj, k) is None]
            if unknown:
                raise ValueError(
                    f"{obj} has no field(s) {', '.join(unknown)}; add them to the seed's "
                    f"'schema' (or with add_field) first"
                )
            rec = {checks.canonical(self.schema, obj, k): v for k, v in given.items()}
            now = sf_datetime(self.clock())
            rec.setdefault("Id", self._new_id(obj))
            rec.setdefault("CreatedDate", now)
            rec.setdefault("SystemModstamp", now)
            rec.setdefault("LastModifiedDate", rec["SystemModstamp"])
            self._put(obj, rec)
            return str(rec["Id"])

    def add_approval(
        self,
        record_id: str,
        status: str,
        actor: str,
        *,
        actor_id: str = "",
        at: datetime | str | None = None,
        comments: str = "",
    ) -> str:
        """Append a ProcessInstanceHistory row; the actor's id is found by name if not given."""
        with self.lock:
            if not actor_id:
                actor_id = next(
                    (u["user_id"] for u in self.users.values() if u["name"] == actor), ""
                )
            when = at if isinstance(at, str) else sf_datetime(at or self.clock())
            step = {
                "StepStatus": status,
                "ActorId": actor_id,
                "Actor": {"Name": actor},
                "CreatedDate": when,
                "Comments": comments,
            }
            return self._store_step(record_id, step)

    def record(self, record_id: str) -> dict[str, Any] | None:
        with self.lock:
            found = self._find(record_id)
            return copy.deepcopy(found[1]) if found else None

    def records_of(self, obj: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self.records.get(obj, {}).values()))

    def issue_token(self, username: str) -> str:
        """A session id for `username`, as if the user had logged in elsewhere."""
        with self.lock:
            token = f"{ORG_ID}!{secrets.token_urlsafe(32)}"
            self.tokens[token] = self.users[username]["user_id"]
            return token

    def expire_sessions(self) -> None:
        with self.lock:
            self.tokens.clear()

    def set_usage(self, used: int, maximum: int | None = None) -> None:
        with self.lock:
            daily = self.limits["DailyApiRequests"]
            if maximum is not None:
                daily["Max"] = maximum
            daily["Remaining"] = daily["Max"] - used

    @property
    def api_usage(self) -> tuple[int, int]:
        with self.lock:
            daily = self.limits["DailyApiRequests"]
            return daily["Max"] - daily["Remaining"], daily["Max"]

    def fail_update(self, record_id: str, code: str, message: str) -> None:
        """Make every later update of this record fail (a validation rule, a lock)."""
        with self.lock:
            self.update_failures[record_id[:15]] = (code, message)

    # ----- error shape and the REST gate -----------------------------------------------
    def error(self, status: int, message: str, code: str = "") -> Response:
        return json_response(
            [{"message": message, "errorCode": _CODES.get(code, code or "UNKNOWN_EXCEPTION")}],
            status,
        )

    def _route(self, req: Request) -> Response:
        """Every REST call: a valid session, the daily allocation, one request counted."""
        if not req.path.startswith("/services/data/"):
            return super()._route(req)
        daily = self.limits["DailyApiRequests"]
        auth = req.header("Authorization")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if token not in self.tokens:
            resp = self.error(401, "Session expired or invalid", "INVALID_SESSION_ID")
        elif daily["Remaining"] <= 0:
            resp = self.error(403, "TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED")
        else:
            daily["Remaining"] -= 1
            modelled = any(
                method == req.method and pattern.match(req.path)
                for method, pattern, _name in self._routes
            )
            resp = (
                super()._route(req)
                if modelled
                else self.error(
                    501,
                    f"{req.method} {req.path} is not modelled by the emulator (a real org may "
                    "well answer it; this one only knows the calls the sync makes)",
                    NOT_MODELLED,
                )
            )
        used, maximum = daily["Max"] - daily["Remaining"], daily["Max"]
        resp.headers["Sforce-Limit-Info"] = f"api-usage={used}/{maximum}"
        if resp.content_type == "application/json":
            resp.content_type = "application/json;charset=UTF-8"  # as the REST API labels it
        return resp

    # ----- auth --------------------------------------------------------------------------
    @route("POST", r"/services/Soap/u/(?P<version>[\d.]+)")
    def soap_login(self, req: Request, version: str) -> Response:
        try:
            root = ET.fromstring(req.body)  # noqa: S314 - local test traffic only
        except ET.ParseError:
            return _soap_fault("INVALID_REQUEST", "could not parse the SOAP request")
        values = {el.tag.rsplit("}", 1)[-1]: el.text or "" for el in root.iter()}
        user = self.users.get(values.get("username", ""))
        if user is None or values.get("password") != user["password"] + user["security_token"]:
            return _soap_fault(
                "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
            )
        token = f"{ORG_ID}!{secrets.token_urlsafe(32)}"
        self.tokens[token] = user["user_id"]
        server = f"https://{self.instance}/services/Soap/u/{version}/{ORG_ID[:15]}"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<soapenv:Body><loginResponse><result>"
            f"<metadataServerUrl>https://{self.instance}/services/Soap/m/{version}/"
            f"{ORG_ID[:15]}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
            f"<serverUrl>{server}</serverUrl><sessionId>{token}</sessionId>"
            f"<userId>{user['user_id']}</userId>"
            f"<userInfo><organizationId>{ORG_ID}</organizationId>"
            f"<userFullName>{_xml(user['name'])}</userFullName>"
            f"<userName>{_xml(user['username'])}</userName></userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Response(200, body, content_type="text/xml; charset=utf-8")

    @route("POST", r"/services/oauth2/token")
    def oauth_token(self, req: Request) -> Response:
        form = req.form()
        if form.get("grant_type") != JWT_GRANT:
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        assertion = form.get("assertion", "")
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return _oauth_error("invalid_grant", "invalid assertion")
        pem = self.consumer_keys.get(str(claims.get("iss", "")))
        if pem is None:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        try:
            if pem:
                jwt.decode(
                    assertion,
                    pem,
                    algorithms=["RS256"],
                    options={"require": ["exp"], "verify_aud": False},
                )
            elif int(claims["exp"]) < self.clock().timestamp():
                raise jwt.ExpiredSignatureError("expired")
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            return _oauth_error("invalid_grant", "invalid assertion")
        aud = str(claims.get("aud", ""))
        if not (aud.startswith("https://") and aud.endswith(".salesforce.com")):
            return _oauth_error("invalid_grant", "audience is invalid")
        user = self.users.get(str(claims.get("sub", "")))
        if user is None:
            return _oauth_error("invalid_grant", "invalid assertion")
        token = f"{ORG_ID}!{secrets.token_urlsafe(32)}"
        self.tokens[token] = user["user_id"]
        return json_response(
            {
                "access_token": token,
                "scope": "api",
                "instance_url": f"https://{self.instance}",
                "id": f"https://login.salesforce.com/id/{ORG_ID}/{user['user_id']}",
                "token_type": "Bearer",
            }
        )

    # ----- REST --------------------------------------------------------------------------
    @route("GET", r"/services/data/v(?P<version>[\d.]+)/limits")
    def get_limits(self, req: Request, version: str) -> Response:
        return json_response(copy.deepcopy(self.limits))

    @route("GET", r"/services/data/v(?P<version>[\d.]+)/sobjects")
    def describe_global(self, req: Request, version: str) -> Response:
        return json_response(describe_global(self.schema, version))

    @route("GET", r"/services/data/v(?P<version>[\d.]+)/sobjects/(?P<obj>\w+)/describe")
    def describe_object(self, req: Request, version: str, obj: str) -> Response:
        return json_response(describe(self.schema, self._object(obj), version))

    @route("GET", r"/services/data/v(?P<version>[\d.]+)/sobjects/(?P<obj>\w+)")
    def basic_info(self, req: Request, version: str, obj: str) -> Response:
        """`sf.<Object>.metadata()`: the object's describeGlobal entry and recent items."""
        name = self._object(obj)
        entry = next(
            o for o in describe_global(self.schema, version)["sobjects"] if o["name"] == name
        )
        return json_response({"objectDescribe": entry, "recentItems": []})

    @route("GET", r"/services/data/v(?P<version>[\d.]+)/sobjects/(?P<obj>\w+)/(?P<rid>\w+)")
    def get_record(self, req: Request, version: str, obj: str, rid: str) -> Response:
        rec = self._record_of(obj, rid)
        name = self._object(obj)
        wanted = [f.strip() for f in (req.arg("fields") or "").split(",") if f.strip()]
        for w in wanted:
            if self.schema.field(name, w) is None:
                raise EmulatorError(
                    400, f"No such column '{w}' on sobject of type {name}", "INVALID_FIELD"
                )
        out: dict[str, Any] = {"attributes": record_attributes(name, rec["Id"], version)}
        for f in self.schema.objects[name]["fields"]:
            if not wanted or f["name"].lower() in {w.lower() for w in wanted} or f["name"] == "Id":
                out[f["name"]] = copy.deepcopy(rec.get(f["name"]))
        return json_response(out)

    # ----- internals ---------------------------------------------------------------------
    def _new_id(self, obj: str) -> str:
        """A new id with the object's key prefix (its schema's, else a fresh `a0X` one that
        its describe then reports)."""
        prefix = self._prefixes.get(obj)
        if prefix is None:
            spec = self.schema.objects.get(obj, {})
            prefix = (
                spec.get("keyPrefix")
                or "a0" + _ID_CHARS[(len(self._prefixes) - len(KEY_PREFIXES)) % 26]
            )
            self._prefixes[obj] = prefix
            if spec:
                spec["keyPrefix"] = prefix
        return id18(f"{prefix}Ag{next(self._counter):010d}")

    def _put(self, obj: str, rec: dict[str, Any]) -> None:
        rid = str(rec["Id"])
        self.records.setdefault(obj, {})[rid] = rec
        self._by_id[rid[:15]] = (obj, rid)

    def _store_step(self, record_id: str, step: dict[str, Any]) -> str:
        step.setdefault("Id", id18(f"{STEP_PREFIX}Ag{next(self._counter):010d}"))
        step.setdefault("CreatedDate", sf_datetime(self.clock()))
        self.approvals.setdefault(record_id, []).append(step)
        return str(step["Id"])

    def _find(self, rid: object) -> tuple[str, dict[str, Any]] | None:
        if not isinstance(rid, str) or not soql.ID_PATTERN.match(rid):
            return None
        hit = self._by_id.get(rid[:15])
        if hit is None:
            return None
        obj, full = hit
        return obj, self.records[obj][full]

    def _object(self, obj: str) -> str:
        """The object named in a URL, in its own spelling; 404 as Salesforce answers if none."""
        name = self.schema.find(obj)
        if name is None:
            raise EmulatorError(404, "The requested resource does not exist", "NOT_FOUND")
        return name

    def _record_of(self, obj: str, rid: str) -> dict[str, Any]:
        found = self._find(rid)
        if found is None or found[0].lower() != obj.lower():
            raise EmulatorError(404, "The requested resource does not exist", "NOT_FOUND")
        return found[1]

    def _json_body(self, req: Request) -> Any:
        try:
            return req.json()
        except ValueError:
            raise EmulatorError(
                400, "The request body is not valid JSON", "JSON_PARSER_ERROR"
            ) from None


# ----- wire-format helpers ------------------------------------------------------------------
def _oauth_error(code: str, description: str) -> Response:
    return json_response({"error": code, "error_description": description}, 400)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _soap_fault(code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {_xml(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{_xml(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(500, body, content_type="text/xml; charset=utf-8")
