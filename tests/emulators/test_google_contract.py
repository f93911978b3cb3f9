"""The Google emulator held to Google's published Sheets v4 discovery document.

A catalogue of requests Google refuses, each answered with Google's status, `status` string and
message (formats from Google's own error reports, see connectors/emulators/sheets/discovery.py);
what the emulator does not model answers 501 "not modelled by the emulator"; and a whole sandbox run
sends only requests the document allows and gets only answers it describes.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from gspread.http_client import HTTPClient

from connectors.emulators.sheets.discovery import REFERENCE, sheets_v4
from connectors.emulators.sheets.server import Contract, GoogleEmulator
from sync.cli.app import main
from tests.support.fixtures.google import assert_contract_kept

API = "https://sheets.googleapis.com/v4/spreadsheets"
BOOK = "sandbox-planner"
TAB = "'Cancellations & Pauses'"
REFERENCE_SHA256 = "f7f55d1940e25fd99f7a143b67d95ebfd1236bd0e9043f0be36b8c2fb5bebd08"
SHEET_ID = 0


def send(http: HTTPClient, method: str, path: str, *, params: Any = None, **kw: Any) -> Any:
    """A raw request through the authorised gspread session (no client-side checks)."""
    return http.session.request(method, f"{API}/{path}", params=params, timeout=10, **kw)


def test_the_vendored_discovery_document_is_googles_unmodified() -> None:
    data = REFERENCE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == REFERENCE_SHA256
    assert sheets_v4().revision == "20261019"
    assert "sheets.spreadsheets.values.append" in sheets_v4().methods


def _update_props(properties: dict[str, Any], fields: str) -> dict[str, Any]:
    return {"requests": [{"updateSheetProperties": {"properties": properties, "fields": fields}}]}


# (name, method, path, params, json body, status, status string, message pattern, field)
CATALOGUE: list[tuple[str, str, str, Any, Any, int, str, str, str | None]] = [
    (
        "values not a list",
        "PUT",
        f"{BOOK}/values/A1",
        {"valueInputOption": "RAW"},
        {"values": "X"},
        400,
        "INVALID_ARGUMENT",
        r"^Invalid value at 'data\.values' \(type\.googleapis\.com/google\.protobuf\.ListValue\), "
        r'"X"$',
        "data.values",
    ),
    (
        "a row not a list",
        "PUT",
        f"{BOOK}/values/A1",
        {"valueInputOption": "RAW"},
        {"values": ["A"]},
        400,
        "INVALID_ARGUMENT",
        r"^Invalid value at 'data\.values\[0\]' "
        r'\(type\.googleapis\.com/google\.protobuf\.ListValue\), "A"$',
        "data.values[0]",
    ),
    (
        "a query option in the body",
        "PUT",
        f"{BOOK}/values/A1",
        {"valueInputOption": "RAW"},
        {"valueInputOption": "RAW", "values": [["a"]]},
        400,
        "INVALID_ARGUMENT",
        r"^Invalid JSON payload received\. Unknown name \"valueInputOption\" at 'data': "
        r"Cannot find field\.$",
        "data",
    ),
    (
        "bad majorDimension",
        "GET",
        f"{BOOK}/values/A1",
        {"majorDimension": "BOGUS"},
        None,
        400,
        "INVALID_ARGUMENT",
        r"^Invalid value at 'major_dimension' "
        r'\(type\.googleapis\.com/google\.apps\.sheets\.v4\.Dimension\), "BOGUS"$',
        "major_dimension",
    ),
    (
        "bad valueInputOption",
        "PUT",
        f"{BOOK}/values/A1",
        {"valueInputOption": "USER_ENTER"},
        {"values": [["a"]]},
        400,
        "INVALID_ARGUMENT",
        r"^Invalid value at 'value_input_option' "
        r'\(type\.googleapis\.com/google\.apps\.sheets\.v4\.ValueInputOption\), "USER_ENTER"$',
        "value_input_option",
    ),
    (
        "bad valueRenderOption",
        "GET",
        f"{BOOK}/values/A1",
        {"valueRenderOption": "formatted_value"},
        None,
        400,
        "INVALID_ARGUMENT",
        r"^Invalid value at 'value_render_option' .*ValueRenderOption\), \"formatted_value\"$",
        "value_render_option",
    ),
    (
        "unknown query parameter",
        "GET",
        f"{BOOK}/values/A1",
        {"sheetName": "x"},
        None,
        400,
        "INVALID_ARGUMENT",
        r'^Invalid JSON payload received\. Unknown name "sheetName": Cannot bind query '
        r"parameter\. Field 'sheetName' could not be found in request message\.$",
        None,
    ),
    (
        "bad boolean parameter",
        "GET",
        BOOK,
        {"includeGridData": "yes"},
        None,
        400,
        "INVALID_ARGUMENT",
        r"^Invalid value at 'include_grid_data' \(TYPE_BOOL\), \"yes\"$",
        "include_grid_data",
    ),
    (
        "unknown request kind",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        {"requests": [{"explode": {}}]},
        400,
        "INVALID_ARGUMENT",
        r"^Invalid JSON payload received\. Unknown name \"explode\" at 'requests\[0\]': "
        r"Cannot find field\.$",
        "requests[0]",
    ),
    (
        "unknown nested field",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        _update_props({"sheetId": SHEET_ID, "headerValues": ["a"]}, "title"),
        400,
        "INVALID_ARGUMENT",
        r"^Invalid JSON payload received\. Unknown name \"headerValues\" at "
        r"'requests\[0\]\.update_sheet_properties\.properties': Cannot find field\.$",
        "requests[0].update_sheet_properties.properties",
    ),
    (
        "unknown top-level field",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        {"requests": [{"deleteSheet": {"sheetId": 1}}], "dryRun": True},
        400,
        "INVALID_ARGUMENT",
        r'^Invalid JSON payload received\. Unknown name "dryRun": Cannot find field\.$',
        None,
    ),
    (
        "a string for an int32",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        {"requests": [{"deleteSheet": {"sheetId": "first"}}]},
        400,
        "INVALID_ARGUMENT",
        r"^Invalid value at 'requests\[0\]\.delete_sheet\.sheet_id' \(TYPE_INT32\), \"first\"$",
        "requests[0].delete_sheet.sheet_id",
    ),
    (
        "bad enum in the body",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        {
            "requests": [
                {
                    "insertDimension": {
                        "range": {
                            "sheetId": SHEET_ID,
                            "dimension": "BOGUS",
                            "startIndex": 1,
                            "endIndex": 2,
                        }
                    }
                }
            ]
        },
        400,
        "INVALID_ARGUMENT",
        r"^Invalid value at 'requests\[0\]\.insert_dimension\.range\.dimension' "
        r'\(type\.googleapis\.com/google\.apps\.sheets\.v4\.Dimension\), "BOGUS"$',
        "requests[0].insert_dimension.range.dimension",
    ),
    (
        "a string for a bool",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        {"requests": [{"deleteSheet": {"sheetId": 1}}], "includeSpreadsheetInResponse": "yes"},
        400,
        "INVALID_ARGUMENT",
        r"^Invalid value at 'include_spreadsheet_in_response' \(TYPE_BOOL\), \"yes\"$",
        "include_spreadsheet_in_response",
    ),
    (
        "two kinds in one request",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        {"requests": [{"deleteSheet": {"sheetId": 1}, "addSheet": {}}]},
        400,
        "INVALID_ARGUMENT",
        r"^Invalid value at 'requests\[0\]' \(oneof\), oneof field 'kind' is already set\.",
        "requests[0]",
    ),
    (
        "no requests",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        {"requests": []},
        400,
        "INVALID_ARGUMENT",
        r"^Must specify at least one request\.$",
        None,
    ),
    (
        "valueInputOption missing",
        "PUT",
        f"{BOOK}/values/A1",
        None,
        {"values": [["a"]]},
        400,
        "INVALID_ARGUMENT",
        r"^'valueInputOption' is required but not specified$",
        None,
    ),
    (
        "hide the only visible sheet",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        _update_props({"sheetId": SHEET_ID, "hidden": True}, "hidden"),
        400,
        "INVALID_ARGUMENT",
        r"^Invalid requests\[0\]\.updateSheetProperties: You can't hide all the sheets in a "
        r"document\.$",
        None,
    ),
    (
        "delete the only sheet",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        {"requests": [{"deleteSheet": {"sheetId": SHEET_ID}}]},
        400,
        "INVALID_ARGUMENT",
        r"^Invalid requests\[0\]\.deleteSheet: You can't remove all the sheets in a document\.$",
        None,
    ),
    (
        "unknown tab",
        "GET",
        f"{BOOK}/values/'No such tab'!A1",
        None,
        None,
        400,
        "INVALID_ARGUMENT",
        r"^Unable to parse range: 'No such tab'!A1$",
        None,
    ),
    (
        "unknown spreadsheet",
        "GET",
        "no-such-book",
        None,
        None,
        404,
        "NOT_FOUND",
        r"^Requested entity was not found\.$",
        None,
    ),
    (
        "an unknown name in fields",
        "GET",
        BOOK,
        {"fields": "sheets(propertiez)"},
        None,
        400,
        "INVALID_ARGUMENT",
        r"^Request contains an invalid argument\.$",
        None,
    ),
    (
        "a space in fields",
        "GET",
        BOOK,
        {"fields": "properties, sheets.properties"},
        None,
        400,
        "INVALID_ARGUMENT",
        r"^Request contains an invalid argument\.$",
        None,
    ),
    (
        "an object as a cell value",
        "PUT",
        f"{BOOK}/values/A1",
        {"valueInputOption": "RAW"},
        {"values": [["a", {"name": "Jane"}]]},
        400,
        "INVALID_ARGUMENT",
        r'^Invalid values\[0\]\[1\]: struct_value \{\n  fields \{\n    key: "name"\n',
        None,
    ),
    (
        "updateCells with both start and range",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        {
            "requests": [
                {
                    "updateCells": {
                        "start": {"sheetId": SHEET_ID},
                        "range": {"sheetId": SHEET_ID},
                        "fields": "userEnteredValue",
                    }
                }
            ]
        },
        400,
        "INVALID_ARGUMENT",
        r"^Invalid value at 'requests\[0\]\.update_cells' \(oneof\), oneof field 'area' is "
        r"already set\. Cannot set 'range'$",
        "requests[0].update_cells",
    ),
    (
        "a cell with two values",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        {
            "requests": [
                {
                    "appendCells": {
                        "sheetId": SHEET_ID,
                        "rows": [
                            {
                                "values": [
                                    {"userEnteredValue": {"stringValue": "a", "numberValue": 1}}
                                ]
                            }
                        ],
                        "fields": "userEnteredValue",
                    }
                }
            ]
        },
        400,
        "INVALID_ARGUMENT",
        r"^Invalid value at 'requests\[0\]\.append_cells\.rows\[0\]\.values\[0\]\."
        r"user_entered_value' \(oneof\), oneof field 'value' is already set\.",
        "requests[0].append_cells.rows[0].values[0].user_entered_value",
    ),
    (
        "duplicate tab title",
        "POST",
        f"{BOOK}:batchUpdate",
        None,
        {"requests": [{"addSheet": {"properties": {"title": "Cancellations & Pauses"}}}]},
        400,
        "INVALID_ARGUMENT",
        r'^Invalid requests\[0\]\.addSheet: A sheet with the name "Cancellations & Pauses" '
        r"already exists\. Please enter another name\.$",
        None,
    ),
]


@pytest.mark.sends_invalid_google_requests
@pytest.mark.parametrize(
    ("method", "path", "params", "body", "status", "state", "message", "where"),
    [pytest.param(*c[1:], id=c[0]) for c in CATALOGUE],
)
def test_google_refuses_and_so_does_the_emulator(
    gspread_http: HTTPClient,
    google_emulator: GoogleEmulator,
    method: str,
    path: str,
    params: Any,
    body: Any,
    status: int,
    state: str,
    message: str,
    where: str | None,
) -> None:
    before = google_emulator.snapshot()
    resp = send(gspread_http, method, path, params=params, json=body)
    error = resp.json()["error"]
    assert (resp.status_code, error["code"], error["status"]) == (status, status, state)
    assert re.search(message, error["message"]), error["message"]
    violations = [
        v
        for d in error.get("details", [])
        if d["@type"] == "type.googleapis.com/google.rpc.BadRequest"
        for v in d["fieldViolations"]
    ]
    if where is not None:
        assert violations == [{"field": where, "description": error["message"]}]
    assert google_emulator.snapshot() == before  # refused: nothing changed


def test_the_catalogue_is_at_least_fifteen_distinct_refusals() -> None:
    assert len({c[0] for c in CATALOGUE}) == len(CATALOGUE) >= 15
    assert len({repr(c[1:5]) for c in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.sends_invalid_google_requests
def test_a_malformed_body_and_a_missing_token(
    gspread_http: HTTPClient, google_emulator: GoogleEmulator
) -> None:
    resp = send(gspread_http, "POST", f"{BOOK}:batchUpdate", data=b"{bad")
    assert resp.status_code == 400
    assert resp.json()["error"]["message"].startswith("Invalid JSON payload received.")
    # Authentication comes before validation: no token and a bad body is a 401, not a 400.
    anonymous = requests.post(
        f"{google_emulator.base_url}/v4/spreadsheets/{BOOK}:batchUpdate", data=b"{bad", timeout=10
    )
    error = anonymous.json()["error"]
    assert (anonymous.status_code, error["status"]) == (401, "UNAUTHENTICATED")
    assert error["message"].startswith("Request is missing required authentication credential.")
    assert error["details"] == [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "CREDENTIALS_MISSING",
            "domain": "googleapis.com",
            "metadata": {
                "service": "sheets.googleapis.com",
                "method": "google.apps.sheets.v4.SpreadsheetsService.BatchUpdateSpreadsheet",
            },
        }
    ]
    stale = requests.get(
        f"{google_emulator.base_url}/v4/spreadsheets/{BOOK}",
        headers={"Authorization": "Bearer ya29.not-issued"},
        timeout=10,
    ).json()["error"]
    assert stale["message"].startswith("Request had invalid authentication credentials.")
    assert stale["details"][0]["reason"] == "ACCESS_TOKEN_TYPE_UNSUPPORTED"


@pytest.mark.parametrize(
    ("method", "path", "body", "what"),
    [
        ("POST", f"{BOOK}/values:batchGetByDataFilter", {}, "batchGetByDataFilter"),
        ("POST", f"{BOOK}/sheets/0:copyTo", {"destinationSpreadsheetId": "x"}, "copyTo"),
        (
            "POST",
            f"{BOOK}:batchUpdate",
            {"requests": [{"repeatCell": {"range": {"sheetId": 0}, "fields": "*"}}]},
            "repeatCell",
        ),
        (
            "POST",
            f"{BOOK}:batchUpdate",
            _update_props(
                {"sheetId": 0, "tabColorStyle": {"themeColor": "ACCENT1"}}, "tabColorStyle"
            ),
            "tabColorStyle",
        ),
        (
            "POST",
            f"{BOOK}:batchUpdate",
            {
                "requests": [
                    {
                        "updateCells": {
                            "start": {"sheetId": 0},
                            "rows": [{"values": [{"note": "n"}]}],
                            "fields": "note",
                        }
                    }
                ]
            },
            "note",
        ),
    ],
)
def test_what_is_not_modelled_says_so(
    gspread_http: HTTPClient, method: str, path: str, body: Any, what: str
) -> None:
    resp = send(gspread_http, method, path, json=body)
    error = resp.json()["error"]
    assert (resp.status_code, error["status"]) == (501, "UNIMPLEMENTED")
    assert what in error["message"]
    assert "not modelled by the emulator" in error["message"]


def test_an_undocumented_path_is_googles_plain_404(gspread_http: HTTPClient) -> None:
    resp = gspread_http.session.get("https://sheets.googleapis.com/v4/nowhere", timeout=10)
    assert resp.status_code == 404
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "was not found on this server" in resp.text


# ----- field masks ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields", ["gridProperties/rowCount", "gridProperties.rowCount", "gridProperties(rowCount)"]
)
def test_every_field_mask_spelling_is_honoured(
    gspread_http: HTTPClient, google_emulator: GoogleEmulator, fields: str
) -> None:
    grid = {"rowCount": 1234, "columnCount": 7}
    body = _update_props({"sheetId": 0, "title": "ignored", "gridProperties": grid}, fields)
    assert send(gspread_http, "POST", f"{BOOK}:batchUpdate", json=body).status_code == 200
    sheet = google_emulator.sheet(BOOK, "Cancellations & Pauses")
    assert (sheet.row_count, sheet.col_count) == (1234, 26)  # only rowCount was named


def test_response_field_masks_take_slashes(gspread_http: HTTPClient) -> None:
    got = send(gspread_http, "GET", BOOK, params={"fields": "sheets/properties/title"}).json()
    assert got == {"sheets": [{"properties": {"title": "Cancellations & Pauses"}}]}


def test_hiding_and_moving_tabs(gspread_http: HTTPClient, google_emulator: GoogleEmulator) -> None:
    add = {"requests": [{"addSheet": {"properties": {"title": "B", "sheetId": 7}}}]}
    assert send(gspread_http, "POST", f"{BOOK}:batchUpdate", json=add).status_code == 200
    hide = _update_props({"sheetId": 0, "hidden": True, "index": 2}, "hidden,index")
    assert send(gspread_http, "POST", f"{BOOK}:batchUpdate", json=hide).status_code == 200
    props = send(gspread_http, "GET", BOOK, params={"fields": "sheets.properties"}).json()
    shown = [(p["properties"]["title"], p["properties"].get("hidden")) for p in props["sheets"]]
    assert shown == [("B", None), ("Cancellations & Pauses", True)]  # false is left out
    again = _update_props({"sheetId": 7, "hidden": True}, "hidden")
    resp = send(gspread_http, "POST", f"{BOOK}:batchUpdate", json=again)
    assert "You can't hide all the sheets" in resp.json()["error"]["message"]


# ----- typed values and omitted keys ----------------------------------------------------------
def test_user_entered_input_is_typed_and_read_back_per_render_option(
    gspread_http: HTTPClient,
) -> None:
    typed = ["53", "2026-12-01", "TRUE", "'53", "=1+2", "1,234", "50%", "12/1/2026", "$5"]
    rng = f"{TAB}!A2"
    gspread_http.values_update(
        BOOK, rng, params={"valueInputOption": "USER_ENTERED"}, body={"values": [typed]}
    )
    gspread_http.values_update(
        BOOK, f"{TAB}!A3", params={"valueInputOption": "RAW"}, body={"values": [[53, "53", True]]}
    )

    def read(**params: str) -> list[list[Any]]:
        return list(gspread_http.values_get(BOOK, f"{TAB}!A2:I3", params=params)["values"])

    assert read() == [
        ["53", "2026-12-01", "TRUE", "53", "3", "1,234", "50%", "12/1/2026", "$5"],
        ["53", "53", "TRUE"],
    ]
    assert read(valueRenderOption="UNFORMATTED_VALUE") == [
        [53, 46357, True, "53", 3, 1234, 0.5, 46357, "$5"],
        [53, "53", True],
    ]
    assert read(valueRenderOption="UNFORMATTED_VALUE", dateTimeRenderOption="FORMATTED_STRING")[0][
        :2
    ] == [53, "2026-12-01"]
    assert read(valueRenderOption="FORMULA")[0][:5] == [53, 46357, True, "53", "=1+2"]


def test_keys_google_omits_when_empty(
    gspread_http: HTTPClient, google_emulator: GoogleEmulator
) -> None:
    google_emulator.seed({"spreadsheets": {"empty": {"title": "E", "sheets": {"T": []}}}})
    assert "values" not in gspread_http.values_get("empty", "T!A1:C3")
    grid = send(gspread_http, "GET", "empty", params={"includeGridData": "true"}).json()
    (data,) = grid["sheets"][0]["data"]
    assert "rowData" not in data  # no `rowData: []`
    assert len(data["rowMetadata"]) == 1000  # but the grid's row and column sizes, as Google
    assert data["columnMetadata"][0] == {"pixelSize": 100}
    appended = gspread_http.values_append(
        "empty", "T!A1", params={"valueInputOption": "RAW"}, body={"values": [["a"]]}
    )
    assert "tableRange" not in appended  # no table was there
    assert appended["updates"]["updatedRange"] == "T!A1"
    assert gspread_http.values_batch_get("empty", []) == {"spreadsheetId": "empty"}


# ----- a whole sandbox run --------------------------------------------------------------------
def test_a_whole_sandbox_run_keeps_to_the_discovery_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract = Contract()
    monkeypatch.setattr(GoogleEmulator, "default_contract", contract)
    # Every effect due at once, years after the effective dates: a backlog, allowed on purpose.
    box = ["--sandbox", "--sandbox-dir", str(tmp_path / "box"), "--as-of", "2099-01-01"]
    assert main([*box, "--allow-backlog"]) == 0
    assert contract.requests >= 10  # every sheet read, written, and the sync log appended
    assert contract.responses == contract.requests
    assert_contract_kept(contract)


def test_grid_data_types_cells_as_google_does(gspread_http: HTTPClient) -> None:
    gspread_http.values_update(
        BOOK,
        f"{TAB}!A2",
        params={"valueInputOption": "USER_ENTERED"},
        body={"values": [["53", "TRUE", "text", "2026-12-01"]]},
    )
    params = {"ranges": f"{TAB}!A2:D2", "includeGridData": "true"}
    grid = send(gspread_http, "GET", BOOK, params=params).json()
    (data,) = grid["sheets"][0]["data"]
    cells = data["rowData"][0]["values"]
    assert [c["userEnteredValue"] for c in cells] == [
        {"numberValue": 53},
        {"boolValue": True},
        {"stringValue": "text"},
        {"numberValue": 46357},
    ]
    assert [c["formattedValue"] for c in cells] == ["53", "TRUE", "text", "2026-12-01"]
    assert [c["effectiveFormat"]["horizontalAlignment"] for c in cells] == [
        "RIGHT",
        "CENTER",
        "LEFT",
        "RIGHT",
    ]
    assert (data["startRow"], len(data["rowMetadata"]), len(data["columnMetadata"])) == (1, 1, 4)


def test_the_referee_catches_a_bad_answer_and_records_a_bad_request(
    gspread_http: HTTPClient, google_emulator: GoogleEmulator
) -> None:
    """The contract checks can fail: a planted bad answer and a bad request are both caught."""
    append = sheets_v4().methods["sheets.spreadsheets.values.append"]
    planted = {"spreadsheetId": "s", "tableRange": 5, "updates": {"updatedCells": "many"}, "x": 1}
    problems = sheets_v4().check_response(append, planted)
    assert len(problems) == 3
    assert any('Unknown name "x"' in p for p in problems)
    assert any("'updates.updatedCells' (TYPE_INT32)" in p for p in problems)
    assert google_emulator.contract is not None
    before = len(google_emulator.contract.request_violations)
    send(gspread_http, "GET", f"{BOOK}/values/A1", params={"majorDimension": "BOGUS"})
    assert len(google_emulator.contract.request_violations) == before + 1
    google_emulator.contract.request_violations.clear()  # planted on purpose


def test_a_spreadsheet_is_created_as_google_creates_one(gspread_http: HTTPClient) -> None:
    resp = send(gspread_http, "POST", "", json={"properties": {"title": "New book"}})
    book = resp.json()
    assert resp.status_code == 200
    assert set(book) == {"spreadsheetId", "properties", "sheets", "spreadsheetUrl"}
    assert book["properties"]["title"] == "New book"
    assert [s["properties"]["title"] for s in book["sheets"]] == ["Sheet1"]
    assert book["sheets"][0]["properties"]["sheetId"] == 0
    got = gspread_http.values_get(book["spreadsheetId"], "Sheet1!A1")
    assert got == {"range": "Sheet1!A1", "majorDimension": "ROWS"}
    tabs = {"properties": {"title": "B"}, "sheets": [{"properties": {"title": "Data"}}]}
    assert [
        s["properties"]["title"] for s in send(gspread_http, "POST", "", json=tabs).json()["sheets"]
    ] == ["Data"]
