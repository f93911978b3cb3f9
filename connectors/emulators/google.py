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
UNFORMATTED_VALUE | FORMULA); PUT values/{range}, POST values:batchUpdate, values/{range}:append
(`insertDataOption` OVERWRITE | INSERT_ROWS), values/{range}:clear, values:batchClear, all with
`valueInputOption` RAW | USER_ENTERED (required, as Google requires it); POST {id}:batchUpdate
with addSheet, deleteSheet, updateSheetProperties (title), insertDimension, deleteDimension,
appendDimension, updateCells, appendCells, sortRange. A batchUpdate is atomic: one bad request
and nothing changes. Errors: `{"error": {"code", "message", "status"}}` (400 INVALID_ARGUMENT for
a bad range or unknown tab, 404 NOT_FOUND for an unknown spreadsheet, 429 RESOURCE_EXHAUSTED...).

Cells are text. RAW input (and `stringValue`) is stored as given, "=x" included; USER_ENTERED
"=..." (and "+x"/"-x" that are not numbers) become formulas, "'x" becomes the text "x". A formula
reads back (FORMATTED_VALUE) as its value: HYPERLINK(url, label), string and number literals,
+ - * / over numbers and same-tab cell references; anything else reads "#NAME?". FORMULA render
returns the formula text.

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

A cell is a string (text, stored as is, even if it starts with "=") or `{"formula": "=..."}`.
Numbers, booleans and null in a seed become "5", "TRUE", "". Snapshot rows have trailing empty
cells and rows trimmed; the long tab form is used only when a grid's size or id was given.

"A person edits the sheet": `insert_rows`, `delete_row`, `sort_tab`, `set_cell`, `add_column`,
`rename_tab`; combine with the base's `on_request` hook to run them between a client's requests.
`lose_response()` applies a request and then answers 500, as when a write's answer is lost.

The spreadsheet model lives in `sheets_grid` (A1 text in `a1`), `fields` masks in `field_mask`
and key files in `google_keys`; this module keeps the routes, auth, seed/snapshot and edits.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from connectors.emulators.a1 import col_index, col_letter, parse_ref, quote_title
from connectors.emulators.base import (
    Emulator,
    EmulatorError,
    Request,
    Response,
    json_response,
    route,
)
from connectors.emulators.field_mask import Mask, parse_fields, prune, sub_mask
from connectors.emulators.google_keys import (
    TOKEN_URI,
    ServiceAccountKey,
    public_key_of,
    write_service_account_file,
)
from connectors.emulators.sheets_grid import (
    DEFAULT_COLS,
    DEFAULT_ROWS,
    NUMBER,
    Cell,
    Formula,
    Region,
    Sheet,
    Spreadsheet,
    evaluate,
    from_cell_data,
    seed_cell,
    text_of,
    user_entered,
)

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
    503: "UNAVAILABLE",
}
_QUOTA_TEXT = (
    "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per user' of "
    "service 'sheets.googleapis.com'."
)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class _Token:
    client_email: str
    scopes: tuple[str, ...]
    expires_at: float


# ----- the emulator --------------------------------------------------------------------------
class GoogleEmulator(Emulator):
    service = "google"

    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[str, str] = {}
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.tokens: dict[str, _Token] = {}
        self.tokens_issued = 0
        self._lost: list[tuple[str, re.Pattern[str], int]] = []

    def lose_response(self, *, method: str = "POST", path: str = ".*", status: int = 500) -> None:
        """Handle the next matching request, then answer `status` instead of its result.

        What a write that landed but whose answer was lost (a proxy's 502, a timeout) looks like.
        """
        with self.lock:
            self._lost.append((method, re.compile(path), status))

    def dispatch(self, req: Request) -> Response | None:
        resp = super().dispatch(req)
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
        )

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            books: dict[str, Any] = {}
            for sid, book in self.spreadsheets.items():
                tabs: dict[str, Any] = {}
                for s in book.sheets:
                    rows = _trimmed([[_snap_cell(c) for c in r] for r in s.rows])
                    tabs[s.title] = (
                        {
                            "rows": rows,
                            "row_count": s.row_count,
                            "column_count": s.col_count,
                            "sheet_id": s.sheet_id,
                        }
                        if s.sized
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
            return _trimmed(
                [[s.display(r, c) for c in range(len(s.rows[r]))] for r in range(len(s.rows))]
            )

    def cell(self, spreadsheet_id: str, tab: str, a1: str) -> str | dict[str, str]:
        """One cell as the snapshot shows it: text, or {"formula": ...}."""
        with self.lock:
            s = self.sheet(spreadsheet_id, tab)
            r, c = parse_ref(a1, a1)
            return _snap_cell(s.get(r or 0, c or 0))

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
            _sort_rows(s, 1, len(s.rows), [(col, descending)])

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

    def _auth(self, req: Request, *, write: bool) -> None:
        header = req.header("Authorization")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        info = self.tokens.get(token)
        if info is None or info.expires_at < time.time():
            raise EmulatorError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
            )
        allowed = _WRITE_SCOPES if write else _READ_SCOPES
        if not any(s in allowed for s in info.scopes):
            raise EmulatorError(403, "Request had insufficient authentication scopes.")

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
        now = time.time()
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

    # ----- spreadsheets.get -------------------------------------------------------------
    @route("GET", rf"/v4/spreadsheets/{_SID}")
    def get_spreadsheet(self, req: Request, sid: str) -> Response:
        self._auth(req, write=False)
        book = self._book(sid)
        fields = req.arg("fields")
        mask = parse_fields(fields) if fields else None
        if mask is None:
            with_data = (req.arg("includeGridData") or "").lower() == "true"
            cell_mask: Mask | None = None
        else:
            with_data, cell_mask = sub_mask(mask, "sheets", "data", "rowData", "values")
        ranges = [book.region(r) for r in req.query.get("ranges", [])]
        return json_response(prune(_book_body(book, ranges, with_data, cell_mask), mask))

    # ----- values ------------------------------------------------------------------------

    @route("GET", rf"/v4/spreadsheets/{_SID}/values:batchGet")
    def values_batch_get(self, req: Request, sid: str) -> Response:
        self._auth(req, write=False)
        book = self._book(sid)
        out = [self._value_range(book.region(r), req) for r in req.query.get("ranges", [])]
        return json_response({"spreadsheetId": book.id, "valueRanges": out})

    @route("GET", rf"/v4/spreadsheets/{_SID}/values/(?P<rng>.+)")
    def values_get(self, req: Request, sid: str, rng: str) -> Response:
        self._auth(req, write=False)
        book = self._book(sid)
        return json_response(self._value_range(book.region(unquote(rng)), req))

    @route("PUT", rf"/v4/spreadsheets/{_SID}/values/(?P<rng>.+)")
    def values_update(self, req: Request, sid: str, rng: str) -> Response:
        self._auth(req, write=True)
        book = self._book(sid)
        option = _input_option(req.arg("valueInputOption"))
        body = req.json() or {}
        region = book.region(unquote(rng))
        result = _write(region, body.get("values") or [], body.get("majorDimension"), option)
        return json_response({"spreadsheetId": book.id, **result})

    @route("POST", rf"/v4/spreadsheets/{_SID}/values:batchUpdate")
    def values_batch_update(self, req: Request, sid: str) -> Response:
        self._auth(req, write=True)
        book = self._book(sid)
        body = req.json() or {}
        option = _input_option(body.get("valueInputOption"))
        work = book.copy()
        responses = []
        for item in body.get("data") or []:
            region = work.region(str(item.get("range", "")))
            res = _write(region, item.get("values") or [], item.get("majorDimension"), option)
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
    def values_append(self, req: Request, sid: str, rng: str) -> Response:
        self._auth(req, write=True)
        book = self._book(sid)
        option = _input_option(req.arg("valueInputOption"))
        insert = (req.arg("insertDataOption") or "OVERWRITE").upper()
        body = req.json() or {}
        values = _as_rows(body.get("values") or [], body.get("majorDimension"))
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
        return json_response(
            {
                "spreadsheetId": book.id,
                "tableRange": table.a1() if last >= 0 else "",
                "updates": {"spreadsheetId": book.id, **result},
            }
        )

    @route("POST", rf"/v4/spreadsheets/{_SID}/values/(?P<rng>.+):clear")
    def values_clear(self, req: Request, sid: str, rng: str) -> Response:
        self._auth(req, write=True)
        book = self._book(sid)
        region = book.region(unquote(rng))
        _clear(region)
        return json_response({"spreadsheetId": book.id, "clearedRange": region.a1()})

    @route("POST", rf"/v4/spreadsheets/{_SID}/values:batchClear")
    def values_batch_clear(self, req: Request, sid: str) -> Response:
        self._auth(req, write=True)
        book = self._book(sid)
        regions = [book.region(str(r)) for r in (req.json() or {}).get("ranges") or []]
        for g in regions:
            _clear(g)
        return json_response({"spreadsheetId": book.id, "clearedRanges": [g.a1() for g in regions]})

    def _value_range(self, region: Region, req: Request) -> dict[str, Any]:
        render = (req.arg("valueRenderOption") or "FORMATTED_VALUE").upper()
        major = (req.arg("majorDimension") or "ROWS").upper()
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
                out.append(_render(s, r, c, render))
            while out and out[-1] == "":
                out.pop()
            values.append(out)
        values = _trimmed(values)
        if major == "COLUMNS":
            width = max((len(r) for r in values), default=0)
            values = _trimmed([[r[c] if c < len(r) else "" for r in values] for c in range(width)])
        body: dict[str, Any] = {"range": region.a1(), "majorDimension": major}
        if values:
            body["values"] = values
        return body

    # ----- spreadsheets.batchUpdate -------------------------------------------------------
    @route("POST", rf"/v4/spreadsheets/{_SID}:batchUpdate")
    def batch_update(self, req: Request, sid: str) -> Response:
        self._auth(req, write=True)
        book = self._book(sid)
        body = req.json() or {}
        work = book.copy()  # atomic: applied to a copy, swapped in only if every request worked
        replies = []
        for i, request in enumerate(body.get("requests") or []):
            if not isinstance(request, dict) or len(request) != 1:
                raise EmulatorError(400, f"Invalid requests[{i}]: exactly one kind per request")
            kind, spec = next(iter(request.items()))
            handler = _REQUESTS.get(kind)
            if handler is None:
                raise EmulatorError(
                    400,
                    f"Invalid JSON payload received. Unknown name \"{kind}\" at 'requests[{i}]': "
                    "Cannot find field.",
                )
            replies.append(handler(work, spec or {}, f"requests[{i}].{kind}"))
        self.spreadsheets[book.id] = work
        answer: dict[str, Any] = {"spreadsheetId": book.id, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            # The book as it is after the update, as Google returns it (grid data only on ask).
            ranges = [work.region(r) for r in body.get("responseRanges") or []]
            with_data = bool(body.get("responseIncludeGridData"))
            answer["updatedSpreadsheet"] = _book_body(work, ranges, with_data, None)
        return json_response(answer)


# ----- helpers of the routes -----------------------------------------------------------------
def _book_body(
    book: Spreadsheet, ranges: list[Region], with_data: bool, cell_mask: Mask | None
) -> dict[str, Any]:
    """A Spreadsheet resource: spreadsheets.get and a batchUpdate's updatedSpreadsheet."""
    sheets: list[dict[str, Any]] = []
    for index, s in enumerate(book.sheets):
        regions = [g for g in ranges if g.sheet is s] if ranges else [Region(s, 0, 0, None, None)]
        if not regions:
            continue
        entry: dict[str, Any] = {"properties": s.properties(index)}
        if with_data:
            entry["data"] = [_grid_data(g, cell_mask) for g in regions]
        sheets.append(entry)
    return {
        "spreadsheetId": book.id,
        "properties": {
            "title": book.title,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
        },
        "sheets": sheets,
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.id}/edit",
    }


def _oauth_error(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, 400)


def _snap_cell(cell: Cell) -> str | dict[str, str]:
    return {"formula": cell.text} if isinstance(cell, Formula) else cell


def _trimmed(rows: list[list[Any]]) -> list[list[Any]]:
    out = [r[:] for r in rows]
    for r in out:
        while r and r[-1] == "":
            r.pop()
    while out and not out[-1]:
        out.pop()
    return out


def _render(s: Sheet, r: int, c: int, render: str) -> Any:
    cell = s.rows[r][c]
    if isinstance(cell, Formula):
        if render == "FORMULA":
            return cell.text
        shown = evaluate(s, cell.text)
        if render == "UNFORMATTED_VALUE" and NUMBER.match(shown):
            return float(shown) if "." in shown else int(shown)
        return shown
    return cell


def _input_option(value: str | None) -> str:
    option = (value or "").upper()
    if option not in ("RAW", "USER_ENTERED"):
        raise EmulatorError(400, "'valueInputOption' is required but not specified")
    return option


def _as_rows(values: list[list[Any]], major: str | None) -> list[list[Any]]:
    if (major or "ROWS").upper() != "COLUMNS":
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
            cell = user_entered(v) if option == "USER_ENTERED" else text_of(v)
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


def _grid_data(region: Region, cell_mask: Mask | None) -> dict[str, Any]:
    """GridData for one region, built with only the cell fields asked for (big tabs stay fast)."""
    s = region.sheet
    want = None if cell_mask is None or "*" in cell_mask else set(cell_mask)
    r1 = min(region.rows_end(), len(s.rows))
    c1 = region.cols_end()
    row_data: list[dict[str, Any]] = []
    for r in range(region.r0, r1):
        row = s.rows[r]
        cells: list[dict[str, Any]] = []
        for c in range(region.c0, min(c1, len(row))):
            cells.append(_cell_data(s, r, c, want))
        while cells and not cells[-1]:
            cells.pop()
        row_data.append({"values": cells} if cells else {})
    while row_data and not row_data[-1]:
        row_data.pop()
    out: dict[str, Any] = {"rowData": row_data}
    if region.r0:
        out["startRow"] = region.r0
    if region.c0:
        out["startColumn"] = region.c0
    return out


def _cell_data(s: Sheet, r: int, c: int, want: set[str] | None) -> dict[str, Any]:
    cell = s.rows[r][c]
    if cell == "":
        return {}
    if isinstance(cell, Formula):
        shown = evaluate(s, cell.text)
        entered: dict[str, Any] = {"formulaValue": cell.text}
    else:
        shown = cell
        entered = {"stringValue": cell}
    out: dict[str, Any] = {}
    if want is None or "userEnteredValue" in want:
        out["userEnteredValue"] = entered
    if want is None or "effectiveValue" in want:
        out["effectiveValue"] = (
            {"numberValue": float(shown)}
            if isinstance(cell, Formula) and NUMBER.match(shown)
            else {"stringValue": shown}
        )
    if want is None or "formattedValue" in want:
        out["formattedValue"] = shown
    return out


def _sort_rows(s: Sheet, start: int, end: int, specs: list[tuple[int, bool]]) -> None:
    block = s.rows[start:end]

    def key(col: int) -> Callable[[list[Cell]], tuple[int, Any]]:
        def k(row: list[Cell]) -> tuple[int, Any]:
            v = row[col] if col < len(row) else ""
            text = v.text if isinstance(v, Formula) else v
            if NUMBER.match(text):
                return (0, float(text))
            return (1, text.lower())

        return k

    for col, descending in reversed(specs):  # stable sorts, least significant key first
        empties = [r for r in block if (r[col] if col < len(r) else "") == ""]
        filled = [r for r in block if (r[col] if col < len(r) else "") != ""]
        filled.sort(key=key(col), reverse=descending)
        block = filled + empties  # Google keeps blanks last either way
    s.rows[start:end] = block


# ----- batchUpdate requests (each: spreadsheet copy, spec, where -> reply) -------------------
def _grid(book: Spreadsheet, spec: dict[str, Any], where: str) -> tuple[Sheet, int, int, int, int]:
    s = book.by_id(spec.get("sheetId", 0), where)
    r0 = int(spec.get("startRowIndex", 0))
    r1 = int(spec.get("endRowIndex", s.row_count))
    c0 = int(spec.get("startColumnIndex", 0))
    c1 = int(spec.get("endColumnIndex", s.col_count))
    if not (0 <= r0 <= r1 <= s.row_count and 0 <= c0 <= c1 <= s.col_count):
        raise EmulatorError(400, f"Invalid {where}: Range is out of the grid's bounds.")
    return s, r0, r1, c0, c1


def _dimension(book: Spreadsheet, spec: dict[str, Any], where: str) -> tuple[Sheet, str, int, int]:
    rng = spec.get("range") or {}
    s = book.by_id(rng.get("sheetId", 0), where)
    dim = str(rng.get("dimension", "")).upper()
    if dim not in ("ROWS", "COLUMNS"):
        raise EmulatorError(400, f"Invalid {where}: dimension must be ROWS or COLUMNS")
    if "startIndex" not in rng or "endIndex" not in rng:
        raise EmulatorError(400, f"Invalid {where}: startIndex and endIndex are required")
    return s, dim, int(rng["startIndex"]), int(rng["endIndex"])


def _add_sheet(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    props = spec.get("properties") or {}
    title = str(props.get("title") or f"Sheet{len(book.sheets) + 1}")
    if book.by_title(title) is not None:
        raise EmulatorError(
            400,
            f'Invalid {where}: A sheet with the name "{title}" already exists. '
            "Please enter another name.",
        )
    sheet_id = props.get("sheetId")
    if sheet_id is None:
        sheet_id = book.new_sheet_id(title)
    elif any(s.sheet_id == sheet_id for s in book.sheets):
        raise EmulatorError(400, f"Invalid {where}: Sheet with id {sheet_id} already exists.")
    grid = props.get("gridProperties") or {}
    s = Sheet(
        int(sheet_id),
        title,
        row_count=int(grid.get("rowCount", DEFAULT_ROWS)),
        col_count=int(grid.get("columnCount", DEFAULT_COLS)),
    )
    index = min(int(props.get("index", len(book.sheets))), len(book.sheets))
    book.sheets.insert(index, s)
    return {"addSheet": {"properties": s.properties(index)}}


def _delete_sheet(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    s = book.by_id(spec.get("sheetId"), where)
    if len(book.sheets) == 1:
        raise EmulatorError(400, f"Invalid {where}: You can't remove all the sheets in a document.")
    book.sheets.remove(s)
    return {}


def _update_sheet_properties(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    props = spec.get("properties") or {}
    s = book.by_id(props.get("sheetId", 0), where)
    fields = str(spec.get("fields") or "")
    if not fields:
        raise EmulatorError(400, f"Invalid {where}: At least one field must be specified.")
    names = {f.strip() for f in fields.split(",")}
    if "title" in names or "*" in names:
        title = str(props.get("title", s.title))
        other = book.by_title(title)
        if other is not None and other is not s:
            raise EmulatorError(
                400, f'Invalid {where}: A sheet with the name "{title}" already exists.'
            )
        s.title = title
    grid = props.get("gridProperties") or {}
    if "gridProperties.rowCount" in names and "rowCount" in grid:
        s.row_count = max(int(grid["rowCount"]), len(s.rows))
    if "gridProperties.columnCount" in names and "columnCount" in grid:
        s.col_count = int(grid["columnCount"])
    return {}


def _insert_dimension(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    s, dim, start, end = _dimension(book, spec, where)
    limit = s.row_count if dim == "ROWS" else s.col_count
    if not 0 <= start < end or start > limit:
        raise EmulatorError(400, f"Invalid {where}: Range is out of the grid's bounds.")
    if dim == "ROWS":
        s.insert_rows(start, end - start)
    else:
        s.insert_cols(start, end - start)
    return {}


def _delete_dimension(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    s, dim, start, end = _dimension(book, spec, where)
    limit = s.row_count if dim == "ROWS" else s.col_count
    if not 0 <= start < end <= limit:
        raise EmulatorError(400, f"Invalid {where}: Cannot delete a range that is out of bounds.")
    if end - start >= limit:
        what = "rows" if dim == "ROWS" else "columns"
        raise EmulatorError(400, f"Invalid {where}: You can't delete all the {what} on the sheet.")
    if dim == "ROWS":
        s.delete_rows(start, end)
    else:
        s.delete_cols(start, end)
    return {}


def _append_dimension(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    s = book.by_id(spec.get("sheetId", 0), where)
    length = int(spec.get("length", 0))
    if length <= 0:
        raise EmulatorError(400, f"Invalid {where}: length must be positive")
    if str(spec.get("dimension", "")).upper() == "COLUMNS":
        s.col_count += length
    else:
        s.row_count += length
    return {}


def _put_rows(s: Sheet, r0: int, c0: int, rows: list[Any], fields: str, where: str) -> None:
    if not fields:
        raise EmulatorError(400, f"Invalid {where}: At least one field must be specified.")
    if not any(f.strip() in ("*", "userEnteredValue") for f in fields.split(",")):
        return  # formats only: values untouched
    for i, row in enumerate(rows):
        for j, cell in enumerate((row or {}).get("values") or []):
            s.put(r0 + i, c0 + j, from_cell_data(cell or {}))


def _update_cells(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    rows = spec.get("rows") or []
    fields = str(spec.get("fields") or "")
    if "start" in spec:
        start = spec["start"] or {}
        s = book.by_id(start.get("sheetId", 0), where)
        r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
        height = len(rows)
        width = max((len((r or {}).get("values") or []) for r in rows), default=0)
        if r0 + height > s.row_count or c0 + width > s.col_count:
            raise EmulatorError(400, f"Invalid {where}: Range is out of the grid's bounds.")
    elif "range" in spec:
        s, r0, r1, c0, c1 = _grid(book, spec["range"] or {}, where)
        if any(f.strip() in ("*", "userEnteredValue") for f in fields.split(",")):
            for r in range(r0, min(r1, len(s.rows))):  # the range is cleared, then written
                for c in range(c0, min(c1, len(s.rows[r]))):
                    s.rows[r][c] = ""
        rows = rows[: r1 - r0]
    else:
        raise EmulatorError(400, f"Invalid {where}: either start or range is required")
    _put_rows(s, r0, c0, rows, fields, where)
    return {}


def _append_cells(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    s = book.by_id(spec.get("sheetId", 0), where)
    rows = spec.get("rows") or []
    at = s.last_data_row() + 1
    width = max((len((r or {}).get("values") or []) for r in rows), default=0)
    s.row_count = max(s.row_count, at + len(rows))
    s.col_count = max(s.col_count, width)
    _put_rows(s, at, 0, rows, str(spec.get("fields") or ""), where)
    return {}


def _sort_range(book: Spreadsheet, spec: dict[str, Any], where: str) -> dict[str, Any]:
    s, r0, r1, _c0, _c1 = _grid(book, spec.get("range") or {}, where)
    specs = [
        (int(x.get("dimensionIndex", 0)), str(x.get("sortOrder", "ASCENDING")) == "DESCENDING")
        for x in spec.get("sortSpecs") or []
    ]
    _sort_rows(s, r0, min(r1, len(s.rows)), specs or [(0, False)])
    return {}


_REQUESTS: dict[str, Callable[[Spreadsheet, dict[str, Any], str], dict[str, Any]]] = {
    "addSheet": _add_sheet,
    "deleteSheet": _delete_sheet,
    "updateSheetProperties": _update_sheet_properties,
    "insertDimension": _insert_dimension,
    "deleteDimension": _delete_dimension,
    "appendDimension": _append_dimension,
    "updateCells": _update_cells,
    "appendCells": _append_cells,
    "sortRange": _sort_range,
}
