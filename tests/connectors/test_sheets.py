"""The Sheets connector against the Google emulator, through the real gspread and google-auth."""

from __future__ import annotations

import dataclasses

import pytest

from connectors.emulators.sheets.server import GoogleEmulator
from connectors.sheets.connector import SheetsConnector
from sync.config.model import Config
from sync.core.domain import EffectKind, Outcome, OutcomeStatus, Platform, RequestType
from sync.errors import CredentialError
from tests.support.fixtures.common import RecordingJournal
from tests.support.fixtures.google import (
    ARI_CLIENTS,
    DS_CLIENTS,
    before_nth_request,
    book_path,
    make_effect,
    make_request,
    seed_tab,
)

DS = "sandbox-ds-tracker"
PLANNER = "sandbox-planner"
OFFBOARDING = "sandbox-offboarding"
MONTHLY = "sandbox-monthly"
CLIENTS = "Clients"
REMOVED = "Removed clients"
PLANNER_TAB = "Cancellations & Pauses"
ACME, BLUEBIRD, CEDAR = DS_CLIENTS


def run(connector: SheetsConnector, effects, journal: RecordingJournal) -> dict[str, Outcome]:
    outcomes = {o.key: o for o in connector.apply(effects, journal)}
    assert set(outcomes) == {e.key for e in effects}
    return outcomes


def row_of(emu: GoogleEmulator, sid: str, tab: str, header: str, value: str) -> dict[str, str]:
    rows = emu.rows(sid, tab)
    matches = [r for r in rows[1:] if value in r]
    assert len(matches) == 1, f"{value!r} in {len(matches)} rows of {tab}"
    return dict(zip(rows[0], matches[0] + [""] * (len(rows[0]) - len(matches[0])), strict=True))


# ----- each effect kind -----------------------------------------------------------------------
def test_planner_add_and_idempotent(sheets_connector, google_emulator, journal):
    req = make_request(1)
    effect = make_effect(EffectKind.PLANNER_ADD, "planner", req)
    out = run(sheets_connector, [effect], journal)
    assert out[effect.key].status is OutcomeStatus.APPLIED
    row = row_of(google_emulator, PLANNER, PLANNER_TAB, "Request ID", req.id)
    assert row == {
        "Request ID": req.id,
        "Client": "Acme Motors",
        "Type": "Cancellation",
        "Effective Date": "2026-12-01",
        "Reason": "Budget cuts",
        "Request Link": req.link,
    }
    again = run(sheets_connector, [effect], journal)
    assert again[effect.key].status is OutcomeStatus.ALREADY_DONE
    assert len(google_emulator.rows(PLANNER, PLANNER_TAB)) == 2


def test_tracker_status_cancel_and_pause(sheets_connector, google_emulator, journal):
    cancel = make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", make_request(1))
    pause_req = make_request(
        2,
        type=RequestType.PAUSE,
        account_id=ARI_CLIENTS[0][0],
        client=ARI_CLIENTS[0][1],
        platform=Platform.ARI,
    )
    pause = make_effect(EffectKind.TRACKER_STATUS, "ari_tracker", pause_req)
    out = run(sheets_connector, [cancel, pause], journal)
    assert {o.status for o in out.values()} == {OutcomeStatus.APPLIED}
    acme = row_of(google_emulator, DS, CLIENTS, "Client", "Acme Motors")
    assert (acme["Status"], acme["Cancel Date"], acme["Pause Date"]) == (
        "Cancelled",
        "2026-12-01",
        "",
    )
    assert acme["Account Manager"] == "AM 0"  # the column people added is untouched
    delta = row_of(google_emulator, "sandbox-ari-tracker", CLIENTS, "Client", "Delta Plumbing")
    assert (delta["Status"], delta["Pause Date"], delta["Cancel Date"]) == (
        "Paused",
        "2026-12-01",
        "",
    )
    bluebird = row_of(google_emulator, DS, CLIENTS, "Client", "Bluebird Dental")
    assert bluebird["Status"] == "Active"
    again = run(sheets_connector, [cancel, pause], journal)
    assert {o.status for o in again.values()} == {OutcomeStatus.ALREADY_DONE}


def test_monthly_record(sheets_connector, google_emulator, journal):
    req = make_request(
        3, type=RequestType.CHANGE, new_package="OTT $1,500/mo", product_change_notes="Add OTT"
    )
    effect = make_effect(EffectKind.MONTHLY_RECORD, "monthly", req)
    assert run(sheets_connector, [effect], journal)[effect.key].status is OutcomeStatus.APPLIED
    row = row_of(google_emulator, MONTHLY, "Contract Changes", "Request ID", req.id)
    assert row["New Package / Budget"] == "OTT $1,500/mo"
    assert row["Product Change Notes"] == "Add OTT"
    assert row["Effective Date"] == "2026-12-01"


def test_offboarding_add_then_ninja_cat_flag_in_one_run(sheets_connector, google_emulator, journal):
    req = make_request(4, leaving_platform=True)
    add = make_effect(EffectKind.OFFBOARDING_ADD, "offboarding", req)
    flag = make_effect(EffectKind.NINJACAT_FLAG, "offboarding", req)
    out = run(sheets_connector, [flag, add], journal)
    assert out[add.key].status is OutcomeStatus.APPLIED
    assert out[flag.key].status is OutcomeStatus.APPLIED
    row = row_of(google_emulator, OFFBOARDING, "Offboarding", "Request ID", req.id)
    assert row["Salesforce Account ID"] == ACME[0]
    assert row["Platform"] == "DS"
    assert row["Ninja Cat"] == "Remove from Ninja Cat"
    again = run(sheets_connector, [add, flag], journal)
    assert {o.status for o in again.values()} == {OutcomeStatus.ALREADY_DONE}


def test_offboarding_add_leaves_ninja_cat_empty_and_flag_later(
    sheets_connector, google_emulator, journal
):
    req = make_request(5)
    add = make_effect(EffectKind.OFFBOARDING_ADD, "offboarding", req)
    run(sheets_connector, [add], journal)
    assert (
        row_of(google_emulator, OFFBOARDING, "Offboarding", "Request ID", req.id)["Ninja Cat"] == ""
    )
    flag = make_effect(EffectKind.NINJACAT_FLAG, "offboarding", req)
    assert run(sheets_connector, [flag], journal)[flag.key].status is OutcomeStatus.APPLIED
    assert row_of(google_emulator, OFFBOARDING, "Offboarding", "Request ID", req.id)[
        "Ninja Cat"
    ] == ("Remove from Ninja Cat")


# ----- removal ---------------------------------------------------------------------------------
def test_remove_keeps_a_full_copy(sheets_connector, google_emulator, journal):
    google_emulator.add_column(DS, CLIENTS, "Budget", values=["$900", "$1,200", "$300"])
    req = make_request(6, account_id=BLUEBIRD[0], client=BLUEBIRD[1])
    status = make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", req)
    remove = make_effect(EffectKind.TRACKER_REMOVE, "ds_tracker", req)
    out = run(sheets_connector, [remove, status], journal)
    assert {o.status for o in out.values()} == {OutcomeStatus.APPLIED}
    names = [r[1] for r in google_emulator.rows(DS, CLIENTS)[1:]]
    assert names == ["Acme Motors", "Cedar Roofing"]
    removed = google_emulator.rows(DS, REMOVED)
    assert removed[0] == [
        "Salesforce Account ID",
        "Client",
        "Status",
        "Pause Date",
        "Cancel Date",
        "Account Manager",
        "Budget",
        "Removed On",
        "Request ID",
    ]
    assert removed[1:] == [
        [
            BLUEBIRD[0],
            "Bluebird Dental",
            "Cancelled",
            "",
            "2026-12-01",
            "AM 1",
            "$1,200",
            "2026-11-25",
            req.id,
        ],
    ]
    # The status effect replayed after the removal: the row lives on in the copy.
    again = run(sheets_connector, [status, remove], journal)
    assert {o.status for o in again.values()} == {OutcomeStatus.ALREADY_DONE}
    assert len(google_emulator.rows(DS, REMOVED)) == 2


def test_remove_after_crash_between_copy_and_delete(
    sheets_connector, google_emulator, journal, config
):
    req = make_request(7, account_id=CEDAR[0], client=CEDAR[1])
    header = [
        *config.sheets.ds_tracker.columns.values(),
        "Account Manager",
        "Removed On",
        "Request ID",
    ]
    copy = [CEDAR[0], CEDAR[1], "Cancelled", "", "2026-12-01", "AM 2", "2026-11-24", req.id]
    seed_tab(
        google_emulator, dataclasses.replace(config.sheets.ds_tracker, tab=REMOVED), [header, copy]
    )
    remove = make_effect(EffectKind.TRACKER_REMOVE, "ds_tracker", req)
    out = run(sheets_connector, [remove], journal)
    assert out[remove.key].status is OutcomeStatus.APPLIED
    assert "earlier run" in out[remove.key].message
    assert CEDAR[1] not in {r[1] for r in google_emulator.rows(DS, CLIENTS)}
    assert google_emulator.rows(DS, REMOVED) == [header, copy]  # no second copy
    again = run(sheets_connector, [remove], journal)
    assert again[remove.key].status is OutcomeStatus.ALREADY_DONE


def test_pause_never_removes(sheets_connector, google_emulator, journal):
    req = make_request(8, type=RequestType.PAUSE)
    remove = make_effect(EffectKind.TRACKER_REMOVE, "ds_tracker", req)
    assert run(sheets_connector, [remove], journal)[remove.key].status is OutcomeStatus.NEEDS_PERSON
    assert len(google_emulator.rows(DS, CLIENTS)) == 4
    assert google_emulator.count("POST", "^/v4/") == 0


# ----- headers, keys and people -------------------------------------------------------------
def test_headers_in_another_order_with_extra_columns(
    sheets_connector, google_emulator, journal, config
):
    seed_tab(
        google_emulator,
        config.sheets.ds_tracker,
        [
            [
                "Notes",
                "Cancel Date",
                "Client",
                "Owner",
                "Status",
                "Pause Date",
                "Salesforce Account ID",
            ],
            ["vip", "", "Acme Motors", "Kim", "Active", "", ACME[0]],
            ["", "", "Bluebird Dental", "Lee", "Active", "", BLUEBIRD[0]],
        ],
    )
    effect = make_effect(
        EffectKind.TRACKER_STATUS, "ds_tracker", make_request(9, account_id=BLUEBIRD[0])
    )
    assert run(sheets_connector, [effect], journal)[effect.key].status is OutcomeStatus.APPLIED
    assert google_emulator.rows(DS, CLIENTS)[1:] == [
        ["vip", "", "Acme Motors", "Kim", "Active", "", ACME[0]],
        ["", "2026-12-01", "Bluebird Dental", "Lee", "Cancelled", "", BLUEBIRD[0]],
    ]


def test_missing_header_fails_only_that_effect(sheets_connector, google_emulator, journal):
    google_emulator.set_cell(DS, CLIENTS, "E1", "Cancelled On")  # a person renamed "Cancel Date"
    broken = make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", make_request(10))
    fine = make_effect(EffectKind.PLANNER_ADD, "planner", make_request(10))
    out = run(sheets_connector, [broken, fine], journal)
    assert out[broken.key].status is OutcomeStatus.FAILED
    message = out[broken.key].message
    assert "ds_tracker" in message
    assert "'Clients'" in message
    assert "'Cancel Date'" in message
    assert out[fine.key].status is OutcomeStatus.APPLIED
    assert row_of(google_emulator, DS, CLIENTS, "Client", "Acme Motors")["Status"] == "Active"


def test_flag_waits_when_the_offboarding_row_could_not_be_added(
    sheets_connector, google_emulator, journal
):
    google_emulator.set_cell(OFFBOARDING, "Offboarding", "F1", "Platforms")  # was "Platform"
    req = make_request(25, leaving_platform=True)
    add = make_effect(EffectKind.OFFBOARDING_ADD, "offboarding", req)
    flag = make_effect(EffectKind.NINJACAT_FLAG, "offboarding", req)
    out = run(sheets_connector, [add, flag], journal)
    assert out[add.key].status is OutcomeStatus.FAILED
    assert "'Platform'" in out[add.key].message
    assert out[flag.key].status is OutcomeStatus.FAILED
    assert "waits for the offboarding row" in out[flag.key].message
    assert google_emulator.requests_for(OFFBOARDING) == {"GET": 1, "PUT": 0, "POST": 0}


def test_duplicate_keys_need_a_person(sheets_connector, google_emulator, journal):
    google_emulator.insert_rows(DS, CLIENTS, 4, [[ACME[0], "Acme Motors (old)", "Active"]])
    effect = make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", make_request(11))
    req = make_request(12)
    google_emulator.insert_rows(PLANNER, PLANNER_TAB, 2, [[req.id, "x"], [req.id, "y"]])
    planner = make_effect(EffectKind.PLANNER_ADD, "planner", req)
    out = run(sheets_connector, [effect, planner], journal)
    assert out[effect.key].status is OutcomeStatus.NEEDS_PERSON
    assert "rows 2, 4" in out[effect.key].message
    assert out[planner.key].status is OutcomeStatus.NEEDS_PERSON
    assert "rows 2, 3" in out[planner.key].message
    assert google_emulator.count("POST", "^/v4/") == 0


def test_salesforce_ids_match_in_15_or_18_characters(sheets_connector, google_emulator, journal):
    google_emulator.set_cell(DS, CLIENTS, "A3", BLUEBIRD[0][:15])  # a person pasted the short id
    google_emulator.insert_rows(DS, CLIENTS, 5, [["001000000000002ZZZ", "Not Bluebird", "Active"]])
    req = make_request(26, account_id=BLUEBIRD[0], client=BLUEBIRD[1])
    effect = make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", req)
    assert run(sheets_connector, [effect], journal)[effect.key].status is OutcomeStatus.APPLIED
    rows = google_emulator.rows(DS, CLIENTS)
    assert (rows[2][1], rows[2][2]) == ("Bluebird Dental", "Cancelled")
    assert (rows[4][1], rows[4][2]) == ("Not Bluebird", "Active")


def test_client_not_in_tracker(sheets_connector, journal):
    effect = make_effect(
        EffectKind.TRACKER_STATUS,
        "ds_tracker",
        make_request(13, account_id="001000000000999AAA", client="Nobody"),
    )
    out = run(sheets_connector, [effect], journal)
    assert out[effect.key].status is OutcomeStatus.NEEDS_PERSON
    assert "001000000000999AAA" in out[effect.key].message
    assert "Nobody" in out[effect.key].message


def test_person_inserts_rows_above_between_read_and_write(
    sheets_connector, google_emulator, journal
):
    # Acme is row 2 when read; before the verification read a person inserts two rows above it.
    before_nth_request(
        google_emulator,
        2,
        lambda: google_emulator.insert_rows(
            DS, CLIENTS, 2, [["001NEW1", "New One"], ["001NEW2", "New Two"]]
        ),
        method="GET",
        path=book_path(DS),
    )
    effect = make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", make_request(14))
    assert run(sheets_connector, [effect], journal)[effect.key].status is OutcomeStatus.APPLIED
    rows = google_emulator.rows(DS, CLIENTS)
    assert [r[2] if len(r) > 2 else "" for r in rows[1:]] == [
        "",
        "",
        "Cancelled",
        "Active",
        "Active",
    ]
    assert rows[3][1] == "Acme Motors"


def test_person_sorts_between_read_and_write(sheets_connector, google_emulator, journal):
    before_nth_request(
        google_emulator,
        2,
        lambda: google_emulator.sort_tab(DS, CLIENTS, "Client", descending=True),
        method="GET",
        path=book_path(DS),
    )
    req = make_request(15, account_id=CEDAR[0], client=CEDAR[1])
    status = make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", make_request(16))  # Acme
    remove = make_effect(EffectKind.TRACKER_REMOVE, "ds_tracker", req)  # Cedar
    out = run(sheets_connector, [status, remove], journal)
    assert {o.status for o in out.values()} == {OutcomeStatus.APPLIED}
    rows = google_emulator.rows(DS, CLIENTS)
    assert [(r[1], r[2]) for r in rows[1:]] == [
        ("Bluebird Dental", "Active"),
        ("Acme Motors", "Cancelled"),
    ]
    assert google_emulator.rows(DS, REMOVED)[1][:3] == [CEDAR[0], "Cedar Roofing", "Active"]


def test_person_deletes_the_row_between_read_and_write(sheets_connector, google_emulator, journal):
    before_nth_request(
        google_emulator,
        2,
        lambda: google_emulator.delete_row(DS, CLIENTS, 2),  # Acme's row
        method="GET",
        path=book_path(DS),
    )
    acme = make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", make_request(17))
    cedar = make_effect(
        EffectKind.TRACKER_STATUS, "ds_tracker", make_request(18, account_id=CEDAR[0])
    )
    out = run(sheets_connector, [acme, cedar], journal)
    assert out[acme.key].status is OutcomeStatus.NEEDS_PERSON
    assert "deleted" in out[acme.key].message
    assert out[cedar.key].status is OutcomeStatus.APPLIED
    rows = google_emulator.rows(DS, CLIENTS)
    assert [(r[1], r[2]) for r in rows[1:]] == [
        ("Bluebird Dental", "Active"),
        ("Cedar Roofing", "Cancelled"),
    ]


def test_cell_changed_by_a_person_is_reported_not_overwritten(
    sheets_connector, google_emulator, journal
):
    before_nth_request(
        google_emulator,
        2,
        lambda: google_emulator.set_cell(DS, CLIENTS, "C2", "On hold - call Kim"),
        method="GET",
        path=book_path(DS),
    )
    effect = make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", make_request(19))
    out = run(sheets_connector, [effect], journal)
    assert out[effect.key].status is OutcomeStatus.NEEDS_PERSON
    assert "'Active' to 'On hold - call Kim'" in out[effect.key].message
    acme = row_of(google_emulator, DS, CLIENTS, "Client", "Acme Motors")
    assert (acme["Status"], acme["Cancel Date"]) == ("On hold - call Kim", "")


def test_formula_looking_values_stay_text(sheets_connector, google_emulator, journal):
    req = make_request(
        20,
        client='=HYPERLINK("https://evil.example","click")',
        reason="+1 -x @x",
    )
    effect = make_effect(EffectKind.PLANNER_ADD, "planner", req)
    assert run(sheets_connector, [effect], journal)[effect.key].status is OutcomeStatus.APPLIED
    assert (
        google_emulator.cell(PLANNER, PLANNER_TAB, "B2")
        == '=HYPERLINK("https://evil.example","click")'
    )
    assert google_emulator.cell(PLANNER, PLANNER_TAB, "E2") == "+1 -x @x"


# ----- the wire --------------------------------------------------------------------------------
def test_429_then_success(sheets_connector, google_emulator, journal):
    google_emulator.add_fault("429", method="POST", path=r":batchUpdate$", times=1)
    google_emulator.add_fault("503", method="GET", path=book_path(PLANNER), times=1)
    effect = make_effect(EffectKind.PLANNER_ADD, "planner", make_request(21))
    out = run(sheets_connector, [effect], journal)[effect.key]
    assert out.status is OutcomeStatus.APPLIED
    assert out.retries == 2
    assert len(google_emulator.rows(PLANNER, PLANNER_TAB)) == 2


def test_expired_token_and_dropped_connection(sheets_connector, google_emulator, journal):
    google_emulator.add_fault("drop", method="GET", path=book_path(PLANNER), times=1)
    google_emulator.add_fault("expired", method="POST", path=r":batchUpdate$", times=1)
    effect = make_effect(EffectKind.PLANNER_ADD, "planner", make_request(24))
    out = run(sheets_connector, [effect], journal)[effect.key]
    assert out.status is OutcomeStatus.APPLIED
    assert out.retries == 1  # the drop; the expired token is refreshed inside google-auth
    assert google_emulator.tokens_issued == 2
    assert len(google_emulator.rows(PLANNER, PLANNER_TAB)) == 2


def test_write_that_landed_but_failed_is_not_doubled(sheets_connector, google_emulator, journal):
    # The batchUpdate is applied, then its answer is lost: the retry must see the row, not add it.
    google_emulator.lose_response(method="POST", path=r":batchUpdate$")
    effect = make_effect(EffectKind.PLANNER_ADD, "planner", make_request(22))
    out = run(sheets_connector, [effect], journal)[effect.key]
    assert out.status is OutcomeStatus.APPLIED
    assert out.retries == 1
    assert len(google_emulator.rows(PLANNER, PLANNER_TAB)) == 2
    assert google_emulator.count("POST", r":batchUpdate$") == 1


def test_fatal_error_fails_that_spreadsheet_only(
    sheets_config: Config, google_routes, google_emulator, journal
):
    sheets = dataclasses.replace(
        sheets_config.sheets,
        monthly=dataclasses.replace(sheets_config.sheets.monthly, spreadsheet_id="gone"),
    )
    connector = SheetsConnector(
        dataclasses.replace(sheets_config, sheets=sheets), routes=google_routes
    )
    try:
        gone = make_effect(
            EffectKind.MONTHLY_RECORD, "monthly", make_request(23, type=RequestType.CHANGE)
        )
        fine = make_effect(EffectKind.PLANNER_ADD, "planner", make_request(23))
        out = run(connector, [gone, fine], journal)
    finally:
        connector.close()
    assert out[gone.key].status is OutcomeStatus.FAILED
    assert "404" in out[gone.key].message
    assert "shared with" in out[gone.key].message
    assert out[fine.key].status is OutcomeStatus.APPLIED


def test_missing_key_file_is_a_credential_error(config: Config, monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    sheets = dataclasses.replace(config.sheets, service_account_file="")
    with pytest.raises(CredentialError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        SheetsConnector(dataclasses.replace(config, sheets=sheets))


def _effects(n: int) -> list:
    """n requests, each causing every Sheets effect a cancellation can."""
    out = []
    for i in range(n):
        account, client = DS_CLIENTS[i % 3] if i < 3 else (f"001{900000 + i:012d}", f"Client {i}")
        req = make_request(1000 + i, account_id=account, client=client, leaving_platform=True)
        out += [
            make_effect(EffectKind.PLANNER_ADD, "planner", req),
            make_effect(EffectKind.OFFBOARDING_ADD, "offboarding", req),
            make_effect(EffectKind.NINJACAT_FLAG, "offboarding", req),
            make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", req),
            make_effect(EffectKind.MONTHLY_RECORD, "monthly", req),
        ]
    return out


@pytest.mark.parametrize("n", [2, 40])
def test_request_count_does_not_grow_with_effects(
    n, sheets_connector, google_emulator, journal, config
):
    # Trackers with every client, so every status effect has a row to update.
    rows = [list(config.sheets.ds_tracker.columns.values())]
    rows += [[f"001{900000 + i:012d}", f"Client {i}", "Active"] for i in range(n * 5)]
    rows += [[a, c, "Active"] for a, c in DS_CLIENTS]
    seed_tab(google_emulator, config.sheets.ds_tracker, rows)
    effects = _effects(n)  # 10 or 200 effects
    out = run(sheets_connector, effects, journal)
    assert {o.status for o in out.values()} == {OutcomeStatus.APPLIED}
    for sid in (DS, PLANNER, OFFBOARDING, MONTHLY):
        assert google_emulator.requests_for(sid) == {"GET": 2, "PUT": 0, "POST": 1}, sid
    assert google_emulator.count("POST", "^/token$") == 1
    assert len(google_emulator.rows(PLANNER, PLANNER_TAB)) == n + 1
    google_emulator.reset_counts()
    again = run(sheets_connector, effects, journal)
    assert {o.status for o in again.values()} == {OutcomeStatus.ALREADY_DONE}
    for sid in (DS, PLANNER, OFFBOARDING, MONTHLY):  # nothing to do: one read, no write
        assert google_emulator.requests_for(sid) == {"GET": 1, "PUT": 0, "POST": 0}, sid


def test_the_write_answer_carries_only_the_displayed_values_the_row_check_reads(
    sheets_connector, google_emulator, journal
):
    """The batchUpdate's own answer is how a row shifted under the write is seen; without a
    `fields` mask Google would send every cell's entered, effective and formatted value and its
    format, for every row of each written tab (about 20 MB for two 5,000-row trackers)."""
    answers: list[dict] = []

    def keep(response, *_args, **_kwargs):
        if response.request.method == "POST" and ":batchUpdate" in response.request.url:
            answers.append(response.json())

    sheets_connector._session.hooks["response"].append(keep)
    req = make_request(7, account_id=BLUEBIRD[0], client=BLUEBIRD[1])
    out = run(
        sheets_connector, [make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", req)], journal
    )
    assert {o.status for o in out.values()} == {OutcomeStatus.APPLIED}
    [answer] = answers
    assert set(answer) == {"updatedSpreadsheet"}
    [sheet] = answer["updatedSpreadsheet"]["sheets"]
    assert set(sheet) == {"properties", "data"}
    cells = [c for g in sheet["data"] for row in g["rowData"] for c in row.get("values", [])]
    assert cells
    assert all(set(c) <= {"formattedValue"} for c in cells)
    assert any(c.get("formattedValue") == "Bluebird Dental" for c in cells)
