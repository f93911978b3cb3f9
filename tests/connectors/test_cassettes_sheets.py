"""Google Sheets' main flows, pinned as recorded HTTP: read, batch write, row removal.

Replayed from cassettes/sheets/ (no emulator, no network); recorded from the Google emulator when
a cassette is missing, or from real sheets with `--record-mode=rewrite`. The sheets start as
`sandbox_sheets()` seeds them (the DS tracker with Acme Motors, Bluebird Dental and Cedar
Roofing), plus one Planner row for request 1, and no "Removed clients" tab.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from vcr.cassette import Cassette

from connectors.emulators.sheets.server import Contract, GoogleEmulator, ServiceAccountKey
from connectors.sheets.connector import SheetsConnector
from sync.config.model import Config
from sync.core.domain import EffectKind, Outcome, OutcomeStatus
from tests.support.cassette_plugin import GOOGLE_KEY_ENV, CassetteRun, Mode
from tests.support.fixtures.common import RecordingJournal
from tests.support.fixtures.google import (
    DS_CLIENTS,
    assert_contract_kept,
    make_effect,
    make_request,
    sandbox_sheets,
    seed_tab,
    sheet_headers,
)

pytestmark = pytest.mark.cassette

ACME, BLUEBIRD, CEDAR = DS_CLIENTS


@dataclass
class SheetsWorld:
    connector: SheetsConnector
    config: Config
    emulator: GoogleEmulator | None  # only while recording from the emulator


@pytest.fixture
def sheets(
    cassette_run: CassetteRun, cassette: Cassette, config: Config, google_key: ServiceAccountKey
) -> Iterator[SheetsWorld]:
    key_file = (
        Path(os.environ[GOOGLE_KEY_ENV]) if cassette_run.mode is Mode.REAL else google_key.path
    )
    cassette_run.know_service_account(key_file)
    cfg = cassette_run.configure(config)
    cfg = dataclasses.replace(
        cfg, sheets=dataclasses.replace(cfg.sheets, service_account_file=str(key_file))
    )
    emulator = None
    if cassette_run.mode is Mode.EMULATORS:
        emulator = GoogleEmulator()
        emulator.contract = Contract()  # what is recorded keeps to Google's discovery document
        emulator.seed(
            {
                "service_accounts": {google_key.client_email: google_key.public_key_pem},
                "spreadsheets": sandbox_sheets(config),
            }
        )
        emulator.start()
        planner = config.sheets.planner
        row = make_request(1)
        seed_tab(
            emulator,
            planner,
            [sheet_headers(planner), [row.id, row.client_name, "Cancellation", "2026-12-01"]],
        )
    routes = {"googleapis.com": emulator.base_url} if emulator else None
    connector = SheetsConnector(cfg, routes=cassette_run.routes(routes), retry=cassette_run.retry())
    try:
        yield SheetsWorld(connector, cfg, emulator)
    finally:
        connector.close()
        if emulator is not None:
            emulator.stop()
    if emulator is not None and emulator.contract is not None:
        assert_contract_kept(emulator.contract)


def run(world: SheetsWorld, effects: list[Any], journal: RecordingJournal) -> dict[str, Outcome]:
    outcomes = {o.key: o for o in world.connector.apply(effects, journal)}
    assert set(outcomes) == {e.key for e in effects}
    return outcomes


def batch_updates(cassette: Cassette) -> dict[str, list[dict[str, Any]]]:
    """Each spreadsheet's batchUpdate requests, by spreadsheet id."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in cassette.requests:
        if r.method == "POST" and r.path.endswith(":batchUpdate"):
            sid = r.path.rsplit("/", 1)[-1].removesuffix(":batchUpdate")
            out.setdefault(sid, []).extend(json.loads(r.body)["requests"])
    return out


@pytest.mark.replay_via_routes
class TestRead:
    def test_a_row_already_there_is_read_once_and_not_written(
        self, sheets: SheetsWorld, cassette: Cassette, journal: RecordingJournal
    ) -> None:
        effect = make_effect(EffectKind.PLANNER_ADD, "planner", make_request(1))
        outcome = run(sheets, [effect], journal)[effect.key]
        assert outcome.status is OutcomeStatus.ALREADY_DONE, outcome.message
        reads = [r for r in cassette.requests if r.method == "GET"]
        assert len(reads) == 1
        assert reads[0].path == f"/v4/spreadsheets/{sheets.config.sheets.planner.spreadsheet_id}"
        assert not batch_updates(cassette)


class TestBatchWrite:
    def test_status_cells_and_a_new_row_in_one_batch_per_spreadsheet(
        self, sheets: SheetsWorld, cassette: Cassette, journal: RecordingJournal
    ) -> None:
        bluebird = make_request(2, account_id=BLUEBIRD[0], client=BLUEBIRD[1])
        status = make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", bluebird)
        planner = make_effect(EffectKind.PLANNER_ADD, "planner", bluebird)
        outcomes = run(sheets, [status, planner], journal)
        assert {o.status for o in outcomes.values()} == {OutcomeStatus.APPLIED}
        cfg = sheets.config.sheets
        writes = batch_updates(cassette)
        assert sorted(writes) == sorted([cfg.ds_tracker.spreadsheet_id, cfg.planner.spreadsheet_id])
        tracker = writes[cfg.ds_tracker.spreadsheet_id]
        assert [next(iter(r)) for r in tracker] == ["updateCells", "updateCells"]
        cells = [r["updateCells"]["rows"][0]["values"][0] for r in tracker]
        assert [c["userEnteredValue"]["stringValue"] for c in cells] == ["Cancelled", "2026-12-01"]
        (append,) = writes[cfg.planner.spreadsheet_id]
        row = append["appendCells"]["rows"][0]["values"]
        assert row[0]["userEnteredValue"]["stringValue"] == bluebird.id


class TestRowRemoval:
    def test_row_is_copied_to_a_new_removed_tab_and_deleted_in_one_batch(
        self, sheets: SheetsWorld, cassette: Cassette, journal: RecordingJournal
    ) -> None:
        cedar = make_request(3, account_id=CEDAR[0], client=CEDAR[1])
        effect = make_effect(EffectKind.TRACKER_REMOVE, "ds_tracker", cedar)
        outcome = run(sheets, [effect], journal)[effect.key]
        assert outcome.status is OutcomeStatus.APPLIED, outcome.message
        (batch,) = batch_updates(cassette).values()
        assert [next(iter(r)) for r in batch] == [
            "addSheet",
            "updateCells",  # the new tab's header row
            "appendCells",  # the copy, with "Removed On" and "Request ID"
            "deleteDimension",
        ]
        new_tab = batch[0]["addSheet"]["properties"]["sheetId"]
        assert batch[2]["appendCells"]["sheetId"] == new_tab
        copy = [
            c.get("userEnteredValue", {}).get("stringValue", "")
            for c in batch[2]["appendCells"]["rows"][0]["values"]
        ]
        assert CEDAR[0] in copy
        assert CEDAR[1] in copy
        assert journal.today.isoformat() in copy
        assert batch[3]["deleteDimension"]["range"]["startIndex"] == 3  # Cedar's row
