"""The Google emulator, driven by the real gspread HTTP client and google-auth."""

from __future__ import annotations

import time
from pathlib import Path

import gspread.exceptions
import pytest
import requests
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2 import service_account
from gspread.http_client import HTTPClient

from connectors.emulators.sheets.server import (
    GoogleEmulator,
    ServiceAccountKey,
    parse_fields,
    write_service_account_file,
)
from connectors.http import build_session, mount_routes

PLANNER = "sandbox-planner"
TAB = "'Cancellations & Pauses'"
SCOPE = "https://www.googleapis.com/auth/spreadsheets"


def client_for(key_file: Path, routes: dict[str, str], email: str | None = None) -> HTTPClient:
    creds = service_account.Credentials.from_service_account_file(str(key_file), scopes=[SCOPE])
    session = AuthorizedSession(creds, auth_request=Request(session=build_session(routes)))
    mount_routes(session, routes)
    return HTTPClient(creds, session=session)


def values(http: HTTPClient, rng: str, **params: str) -> list[list[str]]:
    return list(http.values_get(PLANNER, rng, params=params or None).get("values", []))


# ----- auth ---------------------------------------------------------------------------------
def test_token_grant_then_sheets_call(gspread_http: HTTPClient, google_emulator: GoogleEmulator):
    meta = gspread_http.fetch_sheet_metadata(PLANNER)
    assert meta["properties"]["title"] == "Planner"
    assert [s["properties"]["title"] for s in meta["sheets"]] == ["Cancellations & Pauses"]
    assert google_emulator.tokens_issued == 1
    assert google_emulator.count("POST", "^/token$") == 1


def test_bad_signature_is_refused(tmp_path: Path, google_key: ServiceAccountKey, google_routes):
    # Same client_email, a different private key: the signature does not verify.
    impostor = write_service_account_file(
        tmp_path / "other.json", client_email=google_key.client_email
    )
    http = client_for(impostor.path, google_routes)
    with pytest.raises(RefreshError, match="invalid_grant: Invalid JWT Signature"):
        http.fetch_sheet_metadata(PLANNER)


def test_unknown_account_and_grant_type(tmp_path: Path, google_routes, google_emulator):
    stranger = write_service_account_file(
        tmp_path / "s.json", client_email="who@x.iam.gserviceaccount.com"
    )
    with pytest.raises(RefreshError, match="account not found"):
        client_for(stranger.path, google_routes).fetch_sheet_metadata(PLANNER)
    r = requests.post(
        f"{google_emulator.base_url}/token",
        data={"grant_type": "password", "assertion": "x"},
        timeout=5,
    )
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


def test_sheets_call_without_token_is_401(google_emulator: GoogleEmulator):
    r = requests.get(f"{google_emulator.base_url}/v4/spreadsheets/{PLANNER}", timeout=5)
    assert r.status_code == 401
    assert r.json()["error"]["status"] == "UNAUTHENTICATED"


def test_expired_token_is_refreshed(gspread_http: HTTPClient, google_emulator: GoogleEmulator):
    gspread_http.fetch_sheet_metadata(PLANNER)
    google_emulator.expire_sessions()
    meta = gspread_http.fetch_sheet_metadata(PLANNER)  # 401, refresh, retry: all inside google-auth
    assert meta["spreadsheetId"] == PLANNER
    assert google_emulator.tokens_issued == 2
    statuses = [c.status for c in google_emulator.calls if c.path.startswith("/v4/")]
    assert statuses == [200, 401, 200]


# ----- values -------------------------------------------------------------------------------
def test_values_update_get_and_trim(gspread_http: HTTPClient):
    gspread_http.values_update(
        PLANNER,
        f"{TAB}!A2",
        params={"valueInputOption": "RAW"},
        body={"values": [["a0X1", "Acme", "", ""], ["a0X2"]]},
    )
    assert values(gspread_http, f"{TAB}!A2:D") == [["a0X1", "Acme"], ["a0X2"]]
    got = gspread_http.values_get(PLANNER, f"{TAB}!A1:B2")
    assert got["range"] == "'Cancellations & Pauses'!A1:B2"
    assert got["values"] == [["Request ID", "Client"], ["a0X1", "Acme"]]
    # Whole tab, open-ended columns, unquoted single cell on the first tab.
    assert values(gspread_http, TAB)[1] == ["a0X1", "Acme"]
    assert values(gspread_http, f"{TAB}!B:B") == [["Client"], ["Acme"]]
    assert values(gspread_http, "A3") == [["a0X2"]]
    cols = gspread_http.values_get(PLANNER, f"{TAB}!A1:B2", params={"majorDimension": "COLUMNS"})
    assert cols["values"] == [["Request ID", "a0X1"], ["Client", "Acme"]]


def test_values_batch_get_and_batch_update(gspread_http: HTTPClient):
    gspread_http.values_batch_update(
        PLANNER,
        body={
            "valueInputOption": "RAW",
            "data": [
                {"range": f"{TAB}!A2", "values": [["r1"]]},
                {"range": f"{TAB}!B2", "values": [["c1"]]},
            ],
        },
    )
    got = gspread_http.values_batch_get(PLANNER, [f"{TAB}!A1:A2", f"{TAB}!B2"])
    assert [v["values"] for v in got["valueRanges"]] == [[["Request ID"], ["r1"]], [["c1"]]]


def test_values_append_finds_the_table_end(
    gspread_http: HTTPClient, google_emulator: GoogleEmulator
):
    for n in (1, 2):
        res = gspread_http.values_append(
            PLANNER,
            TAB,
            params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
            body={"values": [[f"a0X{n}", f"Client {n}"]]},
        )
    assert res["updates"]["updatedRange"] == "'Cancellations & Pauses'!A3:B3"
    assert google_emulator.rows(PLANNER, "Cancellations & Pauses")[1:] == [
        ["a0X1", "Client 1"],
        ["a0X2", "Client 2"],
    ]


def test_raw_vs_user_entered(gspread_http: HTTPClient, google_emulator: GoogleEmulator):
    link = '=HYPERLINK("https://x.example/1","Open")'
    gspread_http.values_update(
        PLANNER,
        f"{TAB}!A2",
        params={"valueInputOption": "RAW"},
        body={"values": [[link, "+1", "=1+2"]]},
    )
    gspread_http.values_update(
        PLANNER,
        f"{TAB}!A3",
        params={"valueInputOption": "USER_ENTERED"},
        body={"values": [[link, "+1", "=1+2", "'=kept", "-x"]]},
    )
    assert values(gspread_http, f"{TAB}!A2:E3") == [
        [link, "+1", "=1+2"],
        ["Open", "1", "3", "=kept", "#NAME?"],
    ]
    formulas = values(gspread_http, f"{TAB}!A3:C3", valueRenderOption="FORMULA")
    assert formulas == [[link, 1, "=1+2"]]  # a number, as Google answers
    assert google_emulator.cell(PLANNER, "Cancellations & Pauses", "A2") == link
    assert google_emulator.cell(PLANNER, "Cancellations & Pauses", "A3") == {"formula": link}


def test_value_input_option_is_required(gspread_http: HTTPClient):
    with pytest.raises(gspread.exceptions.APIError) as err:
        gspread_http.values_update(PLANNER, f"{TAB}!A2", body={"values": [["x"]]})
    assert err.value.code == 400


# ----- errors -------------------------------------------------------------------------------
def test_error_shapes(gspread_http: HTTPClient, google_emulator: GoogleEmulator):
    with pytest.raises(gspread.exceptions.APIError) as err:
        gspread_http.values_get(PLANNER, "'No such tab'!A1")
    assert err.value.code == 400
    assert err.value.error["status"] == "INVALID_ARGUMENT"
    assert "Unable to parse range: 'No such tab'!A1" in err.value.error["message"]
    with pytest.raises(gspread.exceptions.APIError) as err:
        gspread_http.fetch_sheet_metadata("no-such-spreadsheet")
    assert (err.value.code, err.value.error["status"]) == (404, "NOT_FOUND")
    google_emulator.add_fault("429", path="/values/")
    with pytest.raises(gspread.exceptions.APIError) as err:
        gspread_http.values_get(PLANNER, TAB)
    assert (err.value.code, err.value.error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert "quota metric 'Read requests'" in err.value.error["message"]  # a GET: the read quota
    assert err.value.error["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert err.value.response.headers["Retry-After"] == "1"
    google_emulator.add_fault("503", path="/values/")
    with pytest.raises(gspread.exceptions.APIError) as err:
        gspread_http.values_get(PLANNER, TAB)
    assert err.value.code == 503


# ----- spreadsheets.get and batchUpdate ---------------------------------------------------
def test_metadata_fields_and_ranges(gspread_http: HTTPClient, google_emulator: GoogleEmulator):
    google_emulator.seed(
        {
            "spreadsheets": {
                "two": {"title": "T", "sheets": {"A": [["h1", "h2"], ["x"]], "B": [["b"]]}}
            }
        }
    )
    body = gspread_http.spreadsheets_get(
        "two",
        params={
            "ranges": ["B"],
            "fields": "sheets(properties(sheetId,title),data.rowData.values.formattedValue)",
        },
    )
    assert body == {
        "sheets": [
            {
                "properties": {"sheetId": body["sheets"][0]["properties"]["sheetId"], "title": "B"},
                "data": [{"rowData": [{"values": [{"formattedValue": "b"}]}]}],
            }
        ]
    }
    meta = gspread_http.spreadsheets_get("two", params={"includeGridData": "true"})
    first = meta["sheets"][0]
    assert first["properties"]["sheetId"] == 0
    assert first["properties"]["gridProperties"] == {"rowCount": 1000, "columnCount": 26}
    assert first["data"][0]["rowData"][1]["values"][0]["userEnteredValue"] == {"stringValue": "x"}
    assert parse_fields("a.b,c(d,e.f)") == {"a": {"b": None}, "c": {"d": None, "e": {"f": None}}}


def test_batch_update_requests(gspread_http: HTTPClient, google_emulator: GoogleEmulator):
    google_emulator.seed(
        {"spreadsheets": {"s": {"title": "S", "sheets": {"T": [["k"], ["1"], ["2"], ["3"]]}}}}
    )
    text = {"userEnteredValue": {"stringValue": "=1+1"}}
    res = gspread_http.batch_update(
        "s",
        {
            "requests": [
                {"addSheet": {"properties": {"sheetId": 77, "title": "New"}}},
                {
                    "updateCells": {
                        "start": {"sheetId": 77, "rowIndex": 0, "columnIndex": 0},
                        "rows": [
                            {"values": [text, {"userEnteredValue": {"formulaValue": "=1+1"}}]}
                        ],
                        "fields": "userEnteredValue",
                    }
                },
                {
                    "insertDimension": {
                        "range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}
                    }
                },
                {
                    "deleteDimension": {
                        "range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 3, "endIndex": 4}
                    }
                },
                {
                    "appendCells": {
                        "sheetId": 0,
                        "rows": [{"values": [{"userEnteredValue": {"stringValue": "4"}}]}],
                        "fields": "userEnteredValue",
                    }
                },
            ]
        },
    )
    assert res["replies"][0]["addSheet"]["properties"]["title"] == "New"
    assert res["replies"][1:] == [{}, {}, {}, {}]
    assert google_emulator.rows("s", "T") == [["k"], [], ["1"], ["3"], ["4"]]
    assert google_emulator.rows("s", "New") == [["=1+1", "2"]]
    assert google_emulator.snapshot()["spreadsheets"]["s"]["sheets"]["New"] == [
        ["=1+1", {"formula": "=1+1"}]
    ]


@pytest.mark.sends_invalid_google_requests
def test_batch_update_is_atomic(gspread_http: HTTPClient, google_emulator: GoogleEmulator):
    google_emulator.seed({"spreadsheets": {"s": {"title": "S", "sheets": {"T": [["k"], ["1"]]}}}})
    with pytest.raises(gspread.exceptions.APIError) as err:
        gspread_http.batch_update(
            "s",
            {
                "requests": [
                    {
                        "deleteDimension": {
                            "range": {
                                "sheetId": 0,
                                "dimension": "ROWS",
                                "startIndex": 1,
                                "endIndex": 2,
                            }
                        }
                    },
                    {
                        "deleteDimension": {
                            "range": {
                                "sheetId": 999,
                                "dimension": "ROWS",
                                "startIndex": 0,
                                "endIndex": 1,
                            }
                        }
                    },
                ]
            },
        )
    assert err.value.code == 400
    assert "No grid with id: 999" in err.value.error["message"]
    assert google_emulator.rows("s", "T") == [["k"], ["1"]]
    with pytest.raises(gspread.exceptions.APIError, match="Unknown name"):
        gspread_http.batch_update("s", {"requests": [{"explode": {}}]})


# ----- seed, snapshot, people -------------------------------------------------------------
def test_seed_snapshot_round_trip():
    emu = GoogleEmulator()
    data = {
        "service_accounts": {"a@b": "PEM"},
        "spreadsheets": {
            "x": {
                "title": "X",
                "sheets": {
                    "T": [["h", "=not a formula"], ["1", {"formula": '=HYPERLINK("u","L")'}]],
                    "Big": {"rows": [["k"]], "row_count": 6000, "column_count": 30, "sheet_id": 5},
                },
            }
        },
    }
    emu.seed(data)
    assert emu.snapshot() == data
    assert emu.rows("x", "T") == [["h", "=not a formula"], ["1", "L"]]


def test_person_edits(google_emulator: GoogleEmulator):
    sid, tab = "sandbox-ds-tracker", "Clients"
    google_emulator.insert_rows(sid, tab, 2, [["001X", "Zed Co"]])
    google_emulator.sort_tab(sid, tab, "Client", descending=True)
    assert [r[1] for r in google_emulator.rows(sid, tab)[1:]] == [
        "Zed Co",
        "Cedar Roofing",
        "Bluebird Dental",
        "Acme Motors",
    ]
    google_emulator.delete_row(sid, tab, 2)
    google_emulator.add_column(sid, tab, "Notes", before="A", values=["n1"])
    google_emulator.set_cell(sid, tab, "C2", "Paused")
    rows = google_emulator.rows(sid, tab)
    assert rows[0][:2] == ["Notes", "Salesforce Account ID"]
    assert rows[1][:4] == ["n1", "001000000000003AAA", "Paused", "Active"]


def test_big_tab_reads_fast(gspread_http: HTTPClient, google_emulator: GoogleEmulator):
    rows = [["Salesforce Account ID", "Client", "Status", "Pause Date", "Cancel Date", "AM"]]
    rows += [[f"001{n:015d}", f"Client {n}", "Active", "", "", "AM"] for n in range(5000)]
    google_emulator.seed({"spreadsheets": {"big": {"title": "Big", "sheets": {"Clients": rows}}}})
    started = time.perf_counter()
    body = gspread_http.spreadsheets_get(
        "big", params={"fields": "sheets(properties,data(rowData(values(formattedValue))))"}
    )
    got = gspread_http.values_get("big", "Clients")
    assert time.perf_counter() - started < 2.0
    assert len(body["sheets"][0]["data"][0]["rowData"]) == 5001
    assert got["values"][-1] == rows[-1]


def test_a_formula_reads_back_as_its_value_and_as_what_was_entered(
    gspread_http: HTTPClient, google_emulator: GoogleEmulator
) -> None:
    """What the sync relies on to copy a removed row's formulas (issue 15 defect 8): in
    spreadsheets.get, CellData.formattedValue is the result and CellData.userEnteredValue the
    ExtendedValue a person entered (`formulaValue` for a formula, `stringValue` for text),
    per Google's discovery document."""
    link = '=HYPERLINK("https://crm.example/1","CRM link")'
    google_emulator.seed(
        {"spreadsheets": {"s": {"title": "S", "sheets": {"T": [["=typed", {"formula": link}]]}}}}
    )
    fields = "sheets(data(rowData(values(formattedValue,userEnteredValue))))"
    body = gspread_http.spreadsheets_get("s", params={"fields": fields})
    text, formula = body["sheets"][0]["data"][0]["rowData"][0]["values"]
    assert text == {"formattedValue": "=typed", "userEnteredValue": {"stringValue": "=typed"}}
    assert formula == {"formattedValue": "CRM link", "userEnteredValue": {"formulaValue": link}}
    only_shown = gspread_http.spreadsheets_get(
        "s", params={"fields": "sheets(data(rowData(values(formattedValue))))"}
    )
    assert only_shown["sheets"][0]["data"][0]["rowData"][0]["values"][1] == {
        "formattedValue": "CRM link"
    }
