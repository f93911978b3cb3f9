"""A local Google: the OAuth2 token endpoint and the Sheets API v4, on 127.0.0.1.

Why: the Sheets connector must be tested against what Google really sends (A1 ranges, trimmed
values, atomic batchUpdate, its error JSON) by the real gspread and google-auth, and the sandbox
needs trackers of thousands of rows that answer fast.

Auth: POST /token takes the service-account JWT-bearer grant (form fields `grant_type` =
urn:ietf:params:oauth:grant-type:jwt-bearer, `assertion`), checks the RS256 signature against the
public key registered for the JWT's `iss`, its `aud` and `exp`, and answers
`{"access_token", "expires_in", "token_type": "Bearer"}`; failures answer in OAuth shape
(`{"error": "invalid_grant", "error_description": ...}`). Every /v4 call needs
`Authorization: Bearer <issued token>` (401 UNAUTHENTICATED otherwise; a token whose scopes lack
spreadsheets gets 403 on writes). `expire_sessions()` forgets every token, so google-auth's
AuthorizedSession must refresh (it does, on the 401).

Sheets routes (sheets.googleapis.com): GET /v4/spreadsheets/{id} (`ranges`, `includeGridData`,
`fields` masks such as `sheets(properties,data.rowData.values.formattedValue)`); GET
values/{range}, values:batchGet (`majorDimension`, `valueRenderOption` FORMATTED_VALUE |
UNFORMATTED_VALUE | FORMULA, `dateTimeRenderOption`); PUT values/{range}, POST
values:batchUpdate, values/{range}:append (`insertDataOption` OVERWRITE | INSERT_ROWS),
values/{range}:clear, values:batchClear, with `valueInputOption` RAW | USER_ENTERED (required,
as Google requires it); POST {id}:batchUpdate with addSheet, deleteSheet, updateSheetProperties
(title, index, hidden, grid size), insertDimension, deleteDimension, appendDimension,
updateCells, appendCells, sortRange. A batchUpdate is atomic: one bad request and nothing
changes.

Held to Google's published discovery document (`discovery`, vendored in `reference/`): every
request's query and body are validated before it is handled, after authentication, and refused
with Google's 400 messages and `google.rpc.BadRequest` details; enum options are
case-sensitive. Field masks (`fields`, and the masks of updateSheetProperties/updateCells/
appendCells) follow Google's grammar (`field_mask`); each named field is honoured or refused.
Whatever is documented but not modelled (other batchUpdate kinds, formats and notes, tab
colours, other routes such as copyTo or the DataFilter methods, `includeValuesInResponse`,
`alt=media`) answers 501 UNIMPLEMENTED "... is not modelled by the emulator"; an undocumented
path gets Google's plain HTML 404. Errors: `{"error": {"code", "message", "status",
"details"?}}` (400 INVALID_ARGUMENT for a bad range or unknown tab, 404 NOT_FOUND for an unknown
spreadsheet, 401/403 with `google.rpc.ErrorInfo`, 429 RESOURCE_EXHAUSTED...). Keys Google leaves
out when empty (`tableRange`, `rowData`, `values`, `hidden: false`) are left out. An opt-in
`Contract` records request and response violations for the tests.

Cells (`sheets_cells`): text, formulas and typed values. RAW input stores strings as text (an
"=x" string included) and JSON numbers and booleans as such; USER_ENTERED types numbers,
booleans, dates and formulas as the Sheets UI does, and "'x" becomes the text "x". A formula
reads back (FORMATTED_VALUE) as its value: HYPERLINK(url, label), string and number literals,
+ - * / over numbers and same-tab cell references; anything else reads "#NAME?". FORMULA render
returns the formula text; UNFORMATTED_VALUE numbers, booleans and dates as serial numbers (or
strings with `dateTimeRenderOption=FORMATTED_STRING`).

`seed(data)` adds (or replaces, by key) service accounts and spreadsheets; `snapshot()` returns
everything in the same shape, so it seeds again::

    {"service_accounts": {"sync@p.iam.gserviceaccount.com": "-----BEGIN PUBLIC KEY-----..."},
     "spreadsheets": {
        "sandbox-planner": {
            "title": "Planner",
            "sheets": {                                   # tab title -> rows, in tab order
                "Cancellations & Pauses": [
                    ["Request ID", "Client", "Type"],
                    ["a0X1", "Acme", {"formula": "=HYPERLINK(\\"https://x\\",\\"Acme\\")"}]],
                "Big tab": {"rows": [["h"]], "row_count": 6000, "column_count": 30,
                            "sheet_id": 123}}}}}

A cell is a string (text, stored as is, even if it starts with "="), `{"formula": "=..."}`, or a
typed value `{"type": "number" | "bool" | "date", "value": 53.0, "shown": "53"}`. Numbers,
booleans and null in a seed become "5", "TRUE", "". Snapshot rows have trailing empty cells and
rows trimmed; the long tab form is used only when a grid's size or id was given or the tab is
hidden (`"hidden": true`).

"A person edits the sheet": `insert_rows`, `delete_row`, `sort_tab`, `set_cell`, `add_column`,
`rename_tab`; combine with the base's `on_request` hook to run them between a client's requests.
`lose_response()` applies a request and then answers 500, as when a write's answer is lost.

The spreadsheet model lives in `sheets_grid` (cells in `sheets_cells`, A1 text in `a1`), reads in
`sheets_read`, batchUpdate requests in `sheets_requests`, field masks in `field_mask`, the
discovery document's checks in `discovery` and key files in `google_keys`; this module keeps
the routes, auth, validation order, seed/snapshot and edits.

Why one module of about 990 lines: it is the route table of one service (OAuth2 token, and every
Sheets v4 method the sync or gspread may call), each route held to the discovery document by one
decorator and answering in one error shape; what the routes share (the spreadsheet model, cells,
A1 ranges, field masks, the batchUpdate requests, read-back rendering, the discovery referee,
keys) is already apart, one module each in this package. Split further, the routes would be
spread over files that each need the whole emulator's state.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from connectors.emulators.base import (
    Emulator,
    EmulatorError,
    Request,
    Response,
    json_response,
    route,
)
from connectors.emulators.service_clock import service_now
from connectors.emulators.sheets.a1 import col_index, col_letter, parse_ref, quote_title
from connectors.emulators.sheets.cells import raw, snap_cell
from connectors.emulators.sheets.discovery import Method, Violation, sheets_v4
from connectors.emulators.sheets.field_mask import Mask, parse_fields, prune, sub_mask
from connectors.emulators.sheets.grid import (
    DEFAULT_COLS,
    DEFAULT_ROWS,
    Cell,
    Formula,
    Region,
    Sheet,
    Spreadsheet,
    seed_cell,
    text_of,
    user_entered,
)
from connectors.emulators.sheets.keys import (
    TOKEN_URI,
    ServiceAccountKey,
    public_key_of,
    write_service_account_file,
)
from connectors.emulators.sheets.read import book_body, render_cell, trimmed
from connectors.emulators.sheets.requests import REQUESTS, not_modelled, sort_rows
from connectors.emulators.sheets.requests import check_modelled as _check_modelled

# This module's public names plus those that moved to a1, sheets_grid, field_mask and google_keys,
# re-exported so imports from here keep working.
__all__ = [
    "DEFAULT_COLS",
    "DEFAULT_ROWS",
    "JWT_GRANT",
    "SHEETS_SCOPE",
    "TOKEN_URI",
    "Cell",
    "Formula",
    "GoogleEmulator",
    "Mask",
    "Region",
    "ServiceAccountKey",
    "Sheet",
    "Spreadsheet",
    "col_index",
    "col_letter",
    "parse_fields",
    "prune",
    "public_key_of",
    "quote_title",
    "write_service_account_file",
]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
_WRITE_SCOPES = (SHEETS_SCOPE, "https://www.googleapis.com/auth/drive")
_READ_SCOPES = (
    *_WRITE_SCOPES,
    f"{SHEETS_SCOPE}.readonly",
    "https://www.googleapis.com/auth/drive.readonly",
)
_SID = r"(?P<sid>[^/:]+)"

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
}
_QUOTA_TEXT = (
    "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per user' of "
    "service 'sheets.googleapis.com'."
)


def _quota_details(resp: Response, *, write: bool, scope: str = "user") -> None:
    """A 429 as Google words it: the read or write per-minute quota, per user or per project,
    with ErrorInfo and Help (the shape of the 429s in gspread's recorded cassettes)."""
    kind = "Write" if write else "Read"
    per = "per user" if scope == "user" else ""
    limit = f"{kind} requests per minute {per}".rstrip()
    whose = "User" if scope == "user" else "Project"
    resp.body["error"]["message"] = (
        f"Quota exceeded for quota metric '{kind} requests' and limit '{limit}' of service "
        "'sheets.googleapis.com' for consumer 'project_number:000000000000'."
    )
    resp.body["error"]["details"] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {
                "quota_location": "global",
                "quota_metric": f"sheets.googleapis.com/{kind.lower()}_requests",
                "quota_limit": f"{kind}RequestsPerMinutePer{whose}",
                "quota_limit_value": "60" if scope == "user" else "300",
                "consumer": "projects/000000000000",
                "service": "sheets.googleapis.com",
                "quota_unit": "1/min/{project}/{user}" if scope == "user" else "1/min/{project}",
            },
        },
        {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [
                {
                    "description": "Request a higher quota limit.",
                    "url": "https://cloud.google.com/docs/quotas/help/request_increase",
                }
            ],
        },
    ]


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class _Token:
    client_email: str
    scopes: tuple[str, ...]
    expires_at: float


class GoogleError(EmulatorError):
    """An error with Google's `google.rpc.BadRequest` field violations in `details`."""

    def __init__(
        self,
        status: int,
        message: str,
        violations: Iterable[Violation] = (),
        *,
        reason: str = "",
        method: str = "",
    ) -> None:
        super().__init__(status, message)
        self.violations = list(violations)
        self.reason = reason  # a google.rpc.ErrorInfo reason (auth errors)
        self.method = method


# The RPC behind each REST method, as Google names it in ErrorInfo metadata.
_RPC = {
    "sheets.spreadsheets.get": "GetSpreadsheet",
    "sheets.spreadsheets.batchUpdate": "BatchUpdateSpreadsheet",
    "sheets.spreadsheets.values.get": "GetValues",
    "sheets.spreadsheets.values.batchGet": "BatchGetValues",
    "sheets.spreadsheets.values.update": "UpdateValues",
    "sheets.spreadsheets.values.batchUpdate": "BatchUpdateValues",
    "sheets.spreadsheets.values.append": "AppendValues",
    "sheets.spreadsheets.values.clear": "ClearValues",
    "sheets.spreadsheets.values.batchClear": "BatchClearValues",
}
_SEE = "https://developers.google.com/identity/sign-in/web/devconsole-project."


@dataclass
class Contract:
    """Opt-in referee (tests): every request and answer checked against the discovery document.

    Request violations are refused anyway (400); recording them too lets a test assert that a
    client never sent one. Response violations are the emulator's own mistakes."""

    requests: int = 0
    responses: int = 0
    request_violations: list[str] = field(default_factory=list)
    response_violations: list[str] = field(default_factory=list)


_Handler = Callable[..., Response]


def _api(method_id: str) -> Callable[[_Handler], _Handler]:
    """Mark a route as the documented method `method_id`: auth, then the discovery checks."""

    def deco(fn: _Handler) -> _Handler:
        @functools.wraps(fn)
        def wrapper(self: GoogleEmulator, req: Request, **groups: str) -> Response:
            return self._handle(sheets_v4().methods[method_id], fn, req, groups)

        return wrapper

    return deco


# ----- the emulator --------------------------------------------------------------------------
class GoogleEmulator(Emulator):
    service = "google"
    # Set by a test to referee every emulator created afterwards (a whole sandbox run).
    default_contract: ClassVar[Contract | None] = None
    runtime_state = Emulator.runtime_state | {"tokens", "tokens_issued", "_lost", "contract"}

    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[str, str] = {}
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.tokens: dict[str, _Token] = {}
        self.tokens_issued = 0
        self._lost: list[tuple[str, re.Pattern[str], int]] = []
        self.contract: Contract | None = GoogleEmulator.default_contract

    # ----- the discovery document as referee ------------------------------------------------
    def _handle(
        self, method: Method, fn: _Handler, req: Request, groups: dict[str, str]
    ) -> Response:
        try:
            self._auth(req, write=req.method != "GET", method=method.id)
            problems = sheets_v4().check_query(method, req.query)
            if req.body:
                try:
                    body = json.loads(req.body)
                except ValueError:
                    text = "Invalid JSON payload received. Unexpected token."
                    raise GoogleError(400, text, [Violation("", text)]) from None
                problems += sheets_v4().check_request(method, body)
            if self.contract is not None:
                self.contract.requests += 1
                self.contract.request_violations += [
                    f"{method.id}: {p.description}" for p in problems
                ]
            if problems:
                raise GoogleError(400, "\n".join(p.description for p in problems), problems)
            _unmodelled_params(req)
            mask = self._fields_mask(method, req)
            resp = fn(self, req, **groups)
            if mask is not None and resp.status < 400:
                resp.body = prune(resp.body, mask)
        except EmulatorError as exc:
            resp = self._error_response(exc)
        if self.contract is not None and resp.status < 400:
            self.contract.responses += 1
            self.contract.response_violations += sheets_v4().check_response(method, resp.body)
        return resp

    def _route(self, req: Request) -> Response:
        """A path no route serves: a documented method answers "not modelled" (501); anything
        else Google's front end answers with its plain 404 page."""
        if any(pattern.match(req.path) and m == req.method for m, pattern, _ in self._routes):
            return super()._route(req)
        method = sheets_v4().match(req.method, req.path)
        if method is not None:
            return self._error_response(not_modelled(f"{method.id} ({req.method} {req.path})"))
        return Response(
            404,
            f"<!DOCTYPE html>\n<html lang=en>\n<title>Error 404 (Not Found)!!1</title>\n"
            f"<p><b>404.</b> <ins>That\u2019s an error.</ins>\n<p>The requested URL <code>"
            f"{req.path}</code> was not found on this server.  <ins>That\u2019s all we know.</ins>",
            content_type="text/html; charset=UTF-8",
        )

    def _error_response(self, exc: EmulatorError) -> Response:
        resp = self.error(exc.status, exc.message, exc.code)
        if not isinstance(exc, GoogleError) or not isinstance(resp.body, dict):
            return resp
        details: list[dict[str, Any]] = []
        if exc.violations:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [v.as_json() for v in exc.violations],
                }
            )
        if exc.reason:
            metadata = {"service": "sheets.googleapis.com"}
            if exc.method in _RPC:
                metadata["method"] = f"google.apps.sheets.v4.SpreadsheetsService.{_RPC[exc.method]}"
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": exc.reason,
                    "domain": "googleapis.com",
                    "metadata": metadata,
                }
            )
        if details:
            resp.body["error"]["details"] = details
        return resp

    def lose_response(self, *, method: str = "POST", path: str = ".*", status: int = 500) -> None:
        """Handle the next matching request, then answer `status` instead of its result.

        What a write that landed but whose answer was lost (a proxy's 502, a timeout) looks like.
        """
        with self.lock:
            self._lost.append((method, re.compile(path), status))

    def quota_keys(self, req: Request) -> dict[str, str]:
        """A Sheets call counts as a read or a write, per user (the access token's service
        account) and per project (the emulator has one); token calls are not Sheets calls."""
        if not req.path.startswith("/v4/spreadsheets"):
            return {}
        kind = "Read" if _is_read(req) else "Write"
        header = req.header("Authorization")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        info = self.tokens.get(token)
        user = info.client_email if info is not None else token
        return {
            f"{kind}RequestsPerMinutePerUser": user,
            f"{kind}RequestsPerMinutePerProject": "project",
        }

    def quota_refusal(self, window: str, req: Request) -> Response:
        """429 RESOURCE_EXHAUSTED naming the quota, and no Retry-After: Google sends none."""
        resp = self.error(429, _QUOTA_TEXT)
        _quota_details(
            resp, write=window.startswith("Write"), scope="user" if "User" in window else "project"
        )
        return resp

    def dispatch(self, req: Request) -> Response | None:
        resp = super().dispatch(req)
        if (
            resp is not None
            and resp.status == 429
            and isinstance(resp.body, dict)
            and "details" not in resp.body["error"]
        ):
            _quota_details(resp, write=not _is_read(req))
        with self.lock:
            for i, (method, pattern, status) in enumerate(self._lost):
                if resp is not None and method == req.method and pattern.search(req.path):
                    del self._lost[i]
                    return self.error(status, "Internal error encountered.")
        return resp

    # ----- seed / snapshot ---------------------------------------------------------------
    def seed(self, data: dict[str, Any]) -> None:
        with self.lock:
            for email, pem in (data.get("service_accounts") or {}).items():
                self.add_service_account(email, pem)
            for sid, spec in (data.get("spreadsheets") or {}).items():
                book = Spreadsheet(sid, str(spec.get("title") or sid))
                for title, tab in (spec.get("sheets") or {}).items():
                    book.sheets.append(self._seed_sheet(book, title, tab))
                if not book.sheets:
                    book.sheets.append(Sheet(0, "Sheet1"))
                self.spreadsheets[sid] = book

    def _seed_sheet(self, book: Spreadsheet, title: str, tab: Any) -> Sheet:
        long_form = isinstance(tab, dict)
        spec = tab if long_form else {"rows": tab}
        rows = [[seed_cell(v) for v in row] for row in spec.get("rows") or []]
        width = max((len(r) for r in rows), default=0)
        sheet_id = spec.get("sheet_id")
        return Sheet(
            sheet_id=int(sheet_id) if sheet_id is not None else book.new_sheet_id(title),
            title=title,
            rows=rows,
            row_count=int(spec.get("row_count") or max(DEFAULT_ROWS, len(rows))),
            col_count=int(spec.get("column_count") or max(DEFAULT_COLS, width)),
            sized=long_form,
            hidden=bool(spec.get("hidden", False)),
        )

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            books: dict[str, Any] = {}
            for sid, book in self.spreadsheets.items():
                tabs: dict[str, Any] = {}
                for s in book.sheets:
                    rows = trimmed([[snap_cell(c) for c in r] for r in s.rows])
                    tabs[s.title] = (
                        {
                            "rows": rows,
                            "row_count": s.row_count,
                            "column_count": s.col_count,
                            "sheet_id": s.sheet_id,
                            **({"hidden": True} if s.hidden else {}),
                        }
                        if s.sized or s.hidden
                        else rows
                    )
                books[sid] = {"title": book.title, "sheets": tabs}
            return {"service_accounts": dict(self.accounts), "spreadsheets": books}

    def add_service_account(self, client_email: str, public_key_pem: str) -> None:
        with self.lock:
            self.accounts[client_email] = public_key_pem

    def trust_key_file(self, key_file: str | Path) -> None:
        """Register the public half of a service-account key file."""
        self.add_service_account(*public_key_of(key_file))

    def expire_sessions(self) -> None:
        with self.lock:
            self.tokens.clear()

    # ----- a person edits the sheet (tests; 1-based rows as people count them) -----------
    def sheet(self, spreadsheet_id: str, tab: str) -> Sheet:
        book = self._book(spreadsheet_id)
        found = book.by_title(tab)
        if found is None:
            raise KeyError(f"{spreadsheet_id} has no tab {tab!r}")
        return found

    def rows(self, spreadsheet_id: str, tab: str) -> list[list[str]]:
        """A tab's displayed values, trailing empties trimmed (what a person sees)."""
        with self.lock:
            s = self.sheet(spreadsheet_id, tab)
            return trimmed(
                [[s.display(r, c) for c in range(len(s.rows[r]))] for r in range(len(s.rows))]
            )

    def cell(self, spreadsheet_id: str, tab: str, a1: str) -> str | dict[str, str]:
        """One cell as the snapshot shows it: text, or {"formula": ...}."""
        with self.lock:
            s = self.sheet(spreadsheet_id, tab)
            r, c = parse_ref(a1, a1)
            return snap_cell(s.get(r or 0, c or 0))

    def insert_rows(
        self, spreadsheet_id: str, tab: str, before_row: int, rows: Iterable[Iterable[Any]]
    ) -> None:
        with self.lock:
            s = self.sheet(spreadsheet_id, tab)
            new = [[text_of(v) for v in row] for row in rows]
            at = before_row - 1
            s.insert_rows(at, len(new))
            for i, row in enumerate(new):
                for c, v in enumerate(row):
                    s.put(at + i, c, v)

    def delete_row(self, spreadsheet_id: str, tab: str, row: int) -> None:
        with self.lock:
            s = self.sheet(spreadsheet_id, tab)
            s.delete_rows(row - 1, row)

    def sort_tab(
        self, spreadsheet_id: str, tab: str, header: str, *, descending: bool = False
    ) -> None:
        """Sort the rows below the header row by the column headed `header`."""
        with self.lock:
            s = self.sheet(spreadsheet_id, tab)
            col = [s.display(0, c) for c in range(len(s.rows[0]))].index(header)
            sort_rows(s, 1, len(s.rows), [(col, descending)])

    def set_cell(
        self, spreadsheet_id: str, tab: str, a1: str, value: str, *, formula: bool = False
    ) -> None:
        with self.lock:
            s = self.sheet(spreadsheet_id, tab)
            r, c = parse_ref(a1, a1)
            s.put(r or 0, c or 0, Formula(value) if formula else value)

    def add_column(
        self,
        spreadsheet_id: str,
        tab: str,
        header: str,
        *,
        before: str | None = None,
        values: Iterable[str] = (),
    ) -> None:
        """Insert a column (before column letter `before`, else at the end) headed `header`."""
        with self.lock:
            s = self.sheet(spreadsheet_id, tab)
            width = max((len(r) for r in s.rows), default=0)
            at = col_index(before) if before else width
            s.insert_cols(at, 1)
            for r, v in enumerate([header, *values]):
                s.put(r, at, v)

    def rename_tab(self, spreadsheet_id: str, tab: str, new_title: str) -> None:
        with self.lock:
            self.sheet(spreadsheet_id, tab).title = new_title

    def requests_for(self, spreadsheet_id: str) -> dict[str, int]:
        """Requests received for one spreadsheet, by method (faulted ones included)."""
        pattern = rf"^/v4/spreadsheets/{re.escape(spreadsheet_id)}(?:[/:]|$)"
        return {m: self.count(m, pattern) for m in ("GET", "PUT", "POST")}

    # ----- errors and auth -------------------------------------------------------------
    def error(self, status: int, message: str, code: str = "") -> Response:
        if status == 429:
            message = _QUOTA_TEXT
        return json_response(
            {
                "error": {
                    "code": status,
                    "message": message,
                    "status": _STATUS.get(status, "UNKNOWN"),
                }
            },
            status,
        )

    def _auth(self, req: Request, *, write: bool, method: str = "") -> None:
        header = req.header("Authorization")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not token and not req.arg("access_token") and not req.arg("key"):
            raise GoogleError(
                401,
                "Request is missing required authentication credential. Expected OAuth 2 access "
                f"token, login cookie or other valid authentication credential. See {_SEE}",
                reason="CREDENTIALS_MISSING",
                method=method,
            )
        info = self.tokens.get(token or req.arg("access_token") or "")
        if info is None or info.expires_at < service_now().timestamp():
            raise GoogleError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                f"login cookie or other valid authentication credential. See {_SEE}",
                reason="ACCESS_TOKEN_TYPE_UNSUPPORTED" if info is None else "ACCESS_TOKEN_EXPIRED",
                method=method,
            )
        allowed = _WRITE_SCOPES if write else _READ_SCOPES
        if not any(s in allowed for s in info.scopes):
            raise GoogleError(
                403,
                "Request had insufficient authentication scopes.",
                reason="ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                method=method,
            )

    def _book(self, sid: str) -> Spreadsheet:
        book = self.spreadsheets.get(unquote(sid))
        if book is None:
            raise EmulatorError(404, "Requested entity was not found.")
        return book

    @route("POST", r"/token")
    def token(self, req: Request) -> Response:
        form = req.form()
        if form.get("grant_type") != JWT_GRANT:
            return _oauth_error(
                "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}"
            )
        try:
            head_b64, body_b64, sig_b64 = form.get("assertion", "").split(".")
            header = json.loads(_b64decode(head_b64))
            claims = json.loads(_b64decode(body_b64))
            signature = _b64decode(sig_b64)
        except ValueError:
            return _oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token.")
        if header.get("alg") != "RS256":
            return _oauth_error("invalid_grant", "Invalid JWT: unsupported signing algorithm.")
        pem = self.accounts.get(str(claims.get("iss", "")))
        if pem is None:
            return _oauth_error("invalid_grant", "Invalid grant: account not found")
        public = serialization.load_pem_public_key(pem.encode())
        if not isinstance(public, rsa.RSAPublicKey):
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        try:
            public.verify(
                signature,
                f"{head_b64}.{body_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        now = service_now().timestamp()  # google-auth signs iat/exp with the real clock
        if claims.get("aud") != TOKEN_URI:
            return _oauth_error("invalid_grant", "Invalid JWT: Failed audience check.")
        if float(claims.get("exp", 0)) < now or float(claims.get("iat", 0)) > now + 300:
            return _oauth_error(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                "timeframe. Check your iat and exp values in the JWT claim.",
            )
        token = "ya29.emu-" + secrets.token_urlsafe(24)
        self.tokens[token] = _Token(
            str(claims["iss"]), tuple(str(claims.get("scope", "")).split()), now + 3599
        )
        self.tokens_issued += 1
        return json_response({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    # ----- spreadsheets.create ----------------------------------------------------------
    @route("POST", r"/v4/spreadsheets")
    @_api("sheets.spreadsheets.create")
    def create_spreadsheet(self, req: Request) -> Response:
        """A new spreadsheet with the given title and tabs (default: one "Sheet1" tab)."""
        body = req.json() or {}
        props = body.get("properties") or {}
        _check_modelled(props, ("title", "locale", "timeZone", "autoRecalc"), "properties")
        if props.get("locale", "en_US") != "en_US" or props.get("autoRecalc", "ON_CHANGE") not in (
            "ON_CHANGE",
            "RECALCULATION_INTERVAL_UNSPECIFIED",
        ):
            raise not_modelled("A locale or recalculation other than en_US/ON_CHANGE")
        sid = secrets.token_urlsafe(33)[:44]
        book = Spreadsheet(sid, str(props.get("title") or "Untitled spreadsheet"))
        for i, sheet in enumerate(body.get("sheets") or []):
            _check_modelled(sheet, ("properties",), f"sheets[{i}]")
            REQUESTS["addSheet"](
                book, {"properties": sheet.get("properties") or {}}, f"sheets[{i}]"
            )
        if not book.sheets:
            book.sheets.append(Sheet(0, "Sheet1"))
        self.spreadsheets[sid] = book
        return json_response(book_body(book, [], False, None))

    # ----- spreadsheets.get -------------------------------------------------------------
    @route("GET", rf"/v4/spreadsheets/{_SID}")
    @_api("sheets.spreadsheets.get")
    def get_spreadsheet(self, req: Request, sid: str) -> Response:
        book = self._book(sid)
        fields = req.arg("fields")
        mask = parse_fields(fields) if fields else None
        if mask is None:
            with_data = (req.arg("includeGridData") or "").lower() == "true"
            cell_mask: Mask | None = None
        else:
            with_data, cell_mask = sub_mask(mask, "sheets", "data", "rowData", "values")
        ranges = [book.region(r) for r in req.query.get("ranges", [])]
        meta = mask is None or sub_mask(mask, "sheets", "data", "rowMetadata")[0]
        body = book_body(book, ranges, with_data, cell_mask, meta=meta)
        return json_response(prune(body, mask))

    # ----- values ------------------------------------------------------------------------

    @route("GET", rf"/v4/spreadsheets/{_SID}/values:batchGet")
    @_api("sheets.spreadsheets.values.batchGet")
    def values_batch_get(self, req: Request, sid: str) -> Response:
        book = self._book(sid)
        out = [self._value_range(book.region(r), req) for r in req.query.get("ranges", [])]
        answer: dict[str, Any] = {"spreadsheetId": book.id}
        if out:  # an empty list is left out, as Google does
            answer["valueRanges"] = out
        return json_response(answer)

    @route("GET", rf"/v4/spreadsheets/{_SID}/values/(?P<rng>.+)")
    @_api("sheets.spreadsheets.values.get")
    def values_get(self, req: Request, sid: str, rng: str) -> Response:
        book = self._book(sid)
        return json_response(self._value_range(book.region(unquote(rng)), req))

    @route("PUT", rf"/v4/spreadsheets/{_SID}/values/(?P<rng>.+)")
    @_api("sheets.spreadsheets.values.update")
    def values_update(self, req: Request, sid: str, rng: str) -> Response:
        book = self._book(sid)
        option = _input_option(req.arg("valueInputOption"))
        body = req.json() or {}
        region = book.region(unquote(rng))
        result = _write(region, _cells(body.get("values")), body.get("majorDimension"), option)
        return json_response({"spreadsheetId": book.id, **result})

    @route("POST", rf"/v4/spreadsheets/{_SID}/values:batchUpdate")
    @_api("sheets.spreadsheets.values.batchUpdate")
    def values_batch_update(self, req: Request, sid: str) -> Response:
        book = self._book(sid)
        body = req.json() or {}
        option = _input_option(body.get("valueInputOption"))
        work = book.copy()
        responses = []
        for item in body.get("data") or []:
            region = work.region(str(item.get("range", "")))
            res = _write(region, _cells(item.get("values")), item.get("majorDimension"), option)
            responses.append({"spreadsheetId": book.id, **res})
        self.spreadsheets[book.id] = work
        return json_response(
            {
                "spreadsheetId": book.id,
                "totalUpdatedRows": sum(r["updatedRows"] for r in responses),
                "totalUpdatedColumns": sum(r["updatedColumns"] for r in responses),
                "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
                "totalUpdatedSheets": len(
                    {r["updatedRange"].rpartition("!")[0] for r in responses}
                ),
                "responses": responses,
            }
        )

    @route("POST", rf"/v4/spreadsheets/{_SID}/values/(?P<rng>.+):append")
    @_api("sheets.spreadsheets.values.append")
    def values_append(self, req: Request, sid: str, rng: str) -> Response:
        book = self._book(sid)
        option = _input_option(req.arg("valueInputOption"))
        insert = req.arg("insertDataOption") or "OVERWRITE"
        body = req.json() or {}
        values = _as_rows(_cells(body.get("values")), body.get("majorDimension"))
        region = book.region(unquote(rng))
        s = region.sheet
        last = s.last_data_row(region.c0, region.c1)
        table = Region(s, region.r0, region.c0, max(last + 1, region.r0 + 1), region.c1)
        at = max(last + 1, region.r0)
        if insert == "INSERT_ROWS":
            s.insert_rows(at, len(values))
        elif at + len(values) > s.row_count:
            s.row_count = at + len(values)
        width = max((len(r) for r in values), default=0)
        s.col_count = max(s.col_count, region.c0 + width)
        target = Region(s, at, region.c0, at + len(values), region.c0 + max(width, 1))
        result = _write(target, values, "ROWS", option)
        answer: dict[str, Any] = {"spreadsheetId": book.id}
        if last >= 0:  # Google leaves tableRange out when the range held no table
            answer["tableRange"] = table.a1()
        answer["updates"] = {"spreadsheetId": book.id, **result}
        return json_response(answer)

    @route("POST", rf"/v4/spreadsheets/{_SID}/values/(?P<rng>.+):clear")
    @_api("sheets.spreadsheets.values.clear")
    def values_clear(self, req: Request, sid: str, rng: str) -> Response:
        book = self._book(sid)
        region = book.region(unquote(rng))
        _clear(region)
        return json_response({"spreadsheetId": book.id, "clearedRange": region.a1()})

    @route("POST", rf"/v4/spreadsheets/{_SID}/values:batchClear")
    @_api("sheets.spreadsheets.values.batchClear")
    def values_batch_clear(self, req: Request, sid: str) -> Response:
        book = self._book(sid)
        regions = [book.region(str(r)) for r in (req.json() or {}).get("ranges") or []]
        for g in regions:
            _clear(g)
        answer: dict[str, Any] = {"spreadsheetId": book.id}
        if regions:
            answer["clearedRanges"] = [g.a1() for g in regions]
        return json_response(answer)

    def _value_range(self, region: Region, req: Request) -> dict[str, Any]:
        render = req.arg("valueRenderOption") or "FORMATTED_VALUE"
        date_render = req.arg("dateTimeRenderOption") or "SERIAL_NUMBER"
        major = req.arg("majorDimension") or "ROWS"
        s = region.sheet
        if region.r0 >= s.row_count or region.c0 >= s.col_count:
            raise EmulatorError(
                400,
                f"Range ({region.a1()}) exceeds grid limits. Max rows: {s.row_count}, "
                f"max columns: {s.col_count}",
            )
        r1 = min(region.rows_end(), len(s.rows))
        c1 = region.cols_end()
        values: list[list[Any]] = []
        for r in range(region.r0, r1):
            row = s.rows[r]
            out: list[Any] = []
            for c in range(region.c0, min(c1, len(row))):
                out.append(render_cell(s, r, c, render, date_render))
            while out and out[-1] == "":
                out.pop()
            values.append(out)
        values = trimmed(values)
        if major == "COLUMNS":
            width = max((len(r) for r in values), default=0)
            values = trimmed([[r[c] if c < len(r) else "" for r in values] for c in range(width)])
        body: dict[str, Any] = {"range": region.a1(), "majorDimension": major}
        if values:
            body["values"] = values
        return body

    # ----- spreadsheets.batchUpdate -------------------------------------------------------
    @route("POST", rf"/v4/spreadsheets/{_SID}:batchUpdate")
    @_api("sheets.spreadsheets.batchUpdate")
    def batch_update(self, req: Request, sid: str) -> Response:
        book = self._book(sid)
        body = req.json() or {}
        work = book.copy()  # atomic: applied to a copy, swapped in only if every request worked
        replies = []
        requests = body.get("requests") or []
        if not requests:
            raise EmulatorError(400, "Must specify at least one request.")
        for i, request in enumerate(requests):
            if not request:  # two kinds are refused by the discovery checks (a oneof)
                raise EmulatorError(400, f"Invalid requests[{i}]: No request set.")
            kind, spec = next(iter(request.items()))
            handler = REQUESTS.get(kind)
            if handler is None:
                raise not_modelled(f"The {kind} request (requests[{i}])")
            replies.append(handler(work, spec or {}, f"requests[{i}].{kind}"))
        self.spreadsheets[book.id] = work
        answer: dict[str, Any] = {"spreadsheetId": book.id, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            # The book as it is after the update, as Google returns it (grid data only on ask).
            ranges = [work.region(r) for r in body.get("responseRanges") or []]
            with_data = bool(body.get("responseIncludeGridData"))
            # `fields` prunes the answer afterwards (the route wrapper); building only the cell
            # fields it keeps is the same answer, without rendering every cell of big tabs.
            text = req.arg("fields")
            mask = parse_fields(text) if text else None
            picked, cell_mask = sub_mask(
                mask, "updatedSpreadsheet", "sheets", "data", "rowData", "values"
            )
            meta = (
                mask is None
                or sub_mask(mask, "updatedSpreadsheet", "sheets", "data", "rowMetadata")[0]
            )
            answer["updatedSpreadsheet"] = book_body(
                work, ranges, with_data and picked, cell_mask, meta=meta
            )
        return json_response(answer)

    def _fields_mask(self, method: Method, req: Request) -> Mask | None:
        """The `fields` system parameter, checked against the method's response schema."""
        text = req.arg("fields")
        if not text or method.response is None:
            return None
        mask = parse_fields(text)
        if sheets_v4().unknown_paths(method.response, mask):
            raise EmulatorError(400, "Request contains an invalid argument.")
        return mask


# ----- helpers of the routes -----------------------------------------------------------------
def _oauth_error(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, 400)


def _input_option(value: str | None) -> str:
    option = value or ""
    if option in ("", "INPUT_VALUE_OPTION_UNSPECIFIED"):
        raise EmulatorError(400, "'valueInputOption' is required but not specified")
    return option


def _unmodelled_params(req: Request) -> None:
    """Documented query parameters whose effect the emulator does not model."""
    if req.arg("alt", "json") != "json":
        raise not_modelled(f"alt={req.arg('alt')}")
    if req.arg("$.xgafv", "2") != "2":
        raise not_modelled("The v1 error format ($.xgafv=1)")
    if "callback" in req.query:
        raise not_modelled("JSONP (callback)")
    if req.arg("includeValuesInResponse", "false") in ("true", "True", "1"):
        raise not_modelled("includeValuesInResponse")


def _cells(values: list[list[Any]] | None) -> list[list[Any]]:
    """ValueRange.values: a cell may be a string, number, boolean or null; Google's backend
    refuses an object or a list with the protobuf Value it got (proto text format)."""
    rows = values or []
    for i, row in enumerate(rows):
        for j, v in enumerate(row or []):
            if isinstance(v, dict | list):
                raise EmulatorError(400, f"Invalid values[{i}][{j}]: {_proto_text(v)}")
    return [row or [] for row in rows]


def _proto_text(value: Any, indent: int = 0) -> str:
    """A google.protobuf.Value in protobuf text format, as Google quotes it in errors."""
    pad = "  " * indent
    if isinstance(value, dict):
        inner = "".join(
            f"{pad}  fields {{\n{pad}    key: {json.dumps(k)}\n{pad}    value {{\n"
            f"{_proto_text(v, indent + 3)}{pad}    }}\n{pad}  }}\n"
            for k, v in value.items()
        )
        return f"{pad}struct_value {{\n{inner}{pad}}}\n"
    if isinstance(value, list):
        inner = "".join(f"{pad}  values {{\n{_proto_text(v, indent + 2)}{pad}  }}\n" for v in value)
        return f"{pad}list_value {{\n{inner}{pad}}}\n"
    if isinstance(value, bool):
        return f"{pad}bool_value: {'true' if value else 'false'}\n"
    if isinstance(value, int | float):
        return f"{pad}number_value: {text_of(float(value))}\n"
    if value is None:
        return f"{pad}null_value: NULL_VALUE\n"
    return f"{pad}string_value: {json.dumps(value, ensure_ascii=False)}\n"


def _as_rows(values: list[list[Any]], major: str | None) -> list[list[Any]]:
    if major != "COLUMNS":
        return values
    height = max((len(c) for c in values), default=0)
    return [[col[r] if r < len(col) else None for col in values] for r in range(height)]


def _write(
    region: Region, values: list[list[Any]], major: str | None, option: str
) -> dict[str, Any]:
    rows = _as_rows(values, major)
    s = region.sheet
    height = len(rows)
    width = max((len(r) for r in rows), default=0)
    if region.r1 == region.r0 + 1 and region.c1 == region.c0 + 1:  # one cell: an anchor
        region = Region(s, region.r0, region.c0, None, None)
    if region.r1 is not None and height > region.r1 - region.r0:
        raise EmulatorError(
            400,
            f"Requested writing within range [{region.a1()}], but tried writing to row "
            f"[{region.r0 + height}]",
        )
    if region.c1 is not None and width > region.c1 - region.c0:
        raise EmulatorError(
            400,
            f"Requested writing within range [{region.a1()}], but tried writing to column "
            f"[{col_letter(region.c0 + width - 1)}]",
        )
    if region.r0 + height > s.row_count or region.c0 + width > s.col_count:
        raise EmulatorError(
            400,
            f"Range ({region.a1()}) exceeds grid limits. Max rows: {s.row_count}, "
            f"max columns: {s.col_count}",
        )
    cells = 0
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is None:  # null leaves the cell as it is
                continue
            cell = user_entered(v) if option == "USER_ENTERED" else raw(v)
            s.put(region.r0 + i, region.c0 + j, cell)
            cells += 1
    done = Region(s, region.r0, region.c0, region.r0 + max(height, 1), region.c0 + max(width, 1))
    return {
        "updatedRange": done.a1(),
        "updatedRows": height,
        "updatedColumns": width,
        "updatedCells": cells,
    }


def _clear(region: Region) -> None:
    s = region.sheet
    for r in range(region.r0, min(region.rows_end(), len(s.rows))):
        row = s.rows[r]
        for c in range(region.c0, min(region.cols_end(), len(row))):
            row[c] = ""


def _is_read(req: Request) -> bool:
    """Google's usage limits count "any method that retrieves data" as a read: every GET, and
    the POSTs that only read (getByDataFilter, values:batchGetByDataFilter)."""
    return req.method == "GET" or req.path.endswith("ByDataFilter")
