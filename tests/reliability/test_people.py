"""People work in the trackers while the sync runs, through the whole engine.

The Sheets connector reads a spreadsheet, decides, then re-reads the tabs it will write just
before its one batchUpdate. A person's edit that lands after the first read (here: just before
the re-read) is seen: rows are found again by key and columns by header, a cell a person changed
is reported instead of overwritten, and a row a person deleted is reported. No other client's
row changes. What the sync could not do is in the outcome, the run log and the summary, and
stays owed for the next run.

The one window it cannot see, an edit landing between that re-read and the batchUpdate (Sheets
has no conditional write), is documented by a strict xfail below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.emulators.sheets.server import GoogleEmulator
from sync.core.domain import OutcomeStatus
from sync.ops.render import run_text
from tests.support.fixtures.google import before_nth_request, book_path
from tests.support.fixtures.sandbox import Agency
from tests.support.reliability import (
    TODAY,
    agency_for,
    core_requests,
    duplicated_rows,
    run,
    runlog,
    scenario,
)

DS, ARI, TAB, REMOVED = "sandbox-ds-tracker", "sandbox-ari-tracker", "Clients", "Removed clients"
KEY = "Salesforce Account ID"
CANCELLED = "001A00000000000AAA"  # Lone Star Powersports, ARI: cancelled, effective today
PAUSED = "001A00000000002AAA"  # Coastal Marine & Motorsports, DS: paused from tomorrow
STATUS_KEY = "a0T500000000002AAA/tracker_status/ds_tracker"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scenario(tmp_path_factory.mktemp("scenario"), core_requests())


@pytest.fixture
def agency(seeded: dict[str, Any], tmp_path: Path, sandbox_env: None) -> Any:
    with agency_for(tmp_path / "a", seeded) as a:
        yield a


def as_dicts(google: GoogleEmulator, sid: str, tab: str) -> list[dict[str, str]]:
    rows = google.rows(sid, tab)
    header = rows[0]
    return [dict(zip(header, r + [""] * (len(header) - len(r)), strict=False)) for r in rows[1:]]


def others(rows: list[dict[str, str]], key: str) -> list[dict[str, str]]:
    return [r for r in rows if r.get(KEY) != key]


def edit_before_the_reread(
    agency: Agency, sid: str, edit: Callable[[GoogleEmulator], None]
) -> dict[str, list[dict[str, str]]]:
    """Make `edit` land after the sync's first read of `sid` and before it writes; returns the
    tab as the person left it (filled in when the edit happens)."""
    google: GoogleEmulator = agency.emulators["google"]
    seen: dict[str, list[dict[str, str]]] = {}

    def person() -> None:
        edit(google)
        seen["after_edit"] = as_dicts(google, sid, TAB)

    before_nth_request(google, 2, person, method="GET", path=book_path(sid))
    return seen


def test_rows_inserted_above_then_the_cancelled_row_is_updated_and_removed_by_key(
    agency: Agency,
) -> None:
    google = agency.emulators["google"]
    new_rows = [["001A0000000NEW1AAA", "Brand New Dealer", "Active"], ["", "(spacer)"]]
    seen = edit_before_the_reread(agency, ARI, lambda g: g.insert_rows(ARI, TAB, 2, new_rows))
    result = run(agency)
    assert result.exit_code == 0, result.outcomes
    rows = as_dicts(google, ARI, TAB)
    assert [r[KEY] for r in rows if r[KEY] == CANCELLED] == []
    assert rows == others(seen["after_edit"], CANCELLED)  # every other row exactly as left
    copy = as_dicts(google, ARI, REMOVED)
    assert len(copy) == 1
    assert (copy[0][KEY], copy[0]["Client"], copy[0]["Status"]) == (
        CANCELLED,
        "Lone Star Powersports",
        "Cancelled",
    )


def test_the_tab_sorted_then_the_pause_lands_in_the_clients_own_row(agency: Agency) -> None:
    google = agency.emulators["google"]
    seen = edit_before_the_reread(
        agency, DS, lambda g: g.sort_tab(DS, TAB, "Client", descending=True)
    )
    result = run(agency)
    assert result.outcomes[STATUS_KEY].status is OutcomeStatus.APPLIED
    rows = as_dicts(google, DS, TAB)
    mine = [r for r in rows if r[KEY] == PAUSED]
    assert [(r["Status"], r["Pause Date"]) for r in mine] == [
        ("Paused", (TODAY + timedelta(days=1)).isoformat())
    ]
    assert others(rows, PAUSED) == others(seen["after_edit"], PAUSED)
    assert [r["Client"] for r in rows] == sorted((r["Client"] for r in rows), reverse=True)


def test_a_column_added_before_status_then_values_go_under_their_headers(
    agency: Agency,
) -> None:
    google = agency.emulators["google"]
    seen = edit_before_the_reread(
        agency, DS, lambda g: g.add_column(DS, TAB, "Renewal Month", before="C", values=["Jan"])
    )
    result = run(agency)
    assert result.outcomes[STATUS_KEY].status is OutcomeStatus.APPLIED
    rows = as_dicts(google, DS, TAB)
    mine = next(r for r in rows if r[KEY] == PAUSED)
    assert (mine["Status"], mine["Pause Date"], mine["Renewal Month"]) == (
        "Paused",
        (TODAY + timedelta(days=1)).isoformat(),
        "",
    )
    assert others(rows, PAUSED) == others(seen["after_edit"], PAUSED)


def test_the_clients_row_deleted_is_reported_and_nothing_else_is_written(agency: Agency) -> None:
    google = agency.emulators["google"]

    def delete_paused_row(g: GoogleEmulator) -> None:
        row = [r[1] for r in g.rows(DS, TAB)].index(PAUSED) + 1
        g.delete_row(DS, TAB, row)

    seen = edit_before_the_reread(agency, DS, delete_paused_row)
    result = run(agency)
    outcome = result.outcomes[STATUS_KEY]
    assert outcome.status is OutcomeStatus.NEEDS_PERSON
    assert "deleted or re-keyed by someone while the sync was working" in outcome.message
    assert "Coastal Marine & Motorsports" in outcome.message
    assert as_dicts(google, DS, TAB) == seen["after_edit"]  # not one cell written
    assert result.exit_code == 1
    # Reported where the ops lead looks, and held: the write-back waits for it.
    line = next(r for r in runlog(agency) if r.get("key") == STATUS_KEY)
    assert (line["outcome"], line["error"]) == ("needs_person", outcome.message)
    assert "NEEDS A PERSON" in run_text(result)
    assert "a0T500000000002AAA/salesforce_writeback/approval" in result.waiting_on
    # Every other effect of the run went through.
    others_done = {k: o.status for k, o in result.outcomes.items() if k != STATUS_KEY}
    assert set(others_done.values()) == {OutcomeStatus.APPLIED}
    # The next run says the row is missing (nothing to guess from) and still writes nothing.
    again = run(agency)
    assert again.outcomes[STATUS_KEY].status is OutcomeStatus.NEEDS_PERSON
    assert "no row with Salesforce Account ID" in again.outcomes[STATUS_KEY].message
    assert as_dicts(google, DS, TAB) == seen["after_edit"]


def test_a_cell_a_person_changed_is_reported_not_overwritten(agency: Agency) -> None:
    google = agency.emulators["google"]

    def put_on_hold(g: GoogleEmulator) -> None:
        row = [r[1] for r in g.rows(DS, TAB)].index(PAUSED) + 1
        g.set_cell(DS, TAB, f"E{row}", "On hold - call Kim")

    seen = edit_before_the_reread(agency, DS, put_on_hold)
    result = run(agency)
    outcome = result.outcomes[STATUS_KEY]
    assert outcome.status is OutcomeStatus.NEEDS_PERSON
    assert "'Status' was changed by someone from 'Active' to 'On hold - call Kim'" in (
        outcome.message
    )
    assert "not overwritten" in outcome.message
    assert as_dicts(google, DS, TAB) == seen["after_edit"]


def test_edits_between_runs_the_removal_still_finds_the_row_by_key(
    agency: Agency,
) -> None:
    """Approval-day effects one day, removal on the effective date: in between, people insert,
    sort and add columns. The removal never uses a remembered row number."""
    google = agency.emulators["google"]
    first = run(agency, TODAY - timedelta(days=1))
    assert first.exit_code == 0
    assert f"{'a0T500000000001AAA'}/tracker_remove/ari_tracker" not in first.outcomes
    google.insert_rows(ARI, TAB, 2, [["001A0000000NEW1AAA", "Aardvark Autos", "Active"]])
    google.sort_tab(ARI, TAB, "Client")
    google.add_column(ARI, TAB, "Region", before="A", values=["West", "East", "North"])
    left = as_dicts(google, ARI, TAB)
    second = run(agency)
    assert second.outcomes["a0T500000000001AAA/tracker_remove/ari_tracker"].status is (
        OutcomeStatus.APPLIED
    )
    assert as_dicts(google, ARI, TAB) == others(left, CANCELLED)
    assert duplicated_rows(agency) == {}


@pytest.mark.xfail(
    strict=True,
    reason="known limit (connectors/sheets/connector.py docstring): an edit landing between "
    "the sync's last read and its batchUpdate cannot be prevented (Sheets has no conditional "
    "write); it is detected and reported, see the next test",
)
def test_an_edit_in_the_last_instant_before_the_write_never_hits_another_row(
    agency: Agency,
) -> None:
    google = agency.emulators["google"]
    google.on_request(
        lambda _r: google.insert_rows(DS, TAB, 2, [["New Dealer", "001A0000000NEW1AAA"]]),
        method="POST",
        path=rf"{DS}:batchUpdate$",
    )
    run(agency)
    rows = as_dicts(google, DS, TAB)
    assert [r["Client"] for r in rows if r["Status"] == "Paused"] == [
        "Coastal Marine & Motorsports"
    ]


def test_an_edit_in_the_last_instant_is_reported_and_the_next_run_puts_it_right(
    agency: Agency,
) -> None:
    google = agency.emulators["google"]
    google.on_request(
        lambda _r: google.insert_rows(DS, TAB, 2, [["New Dealer", "001A0000000NEW1AAA"]]),
        method="POST",
        path=rf"{DS}:batchUpdate$",
    )
    first = run(agency)
    outcome = first.outcomes[STATUS_KEY]
    # The write's own answer shows the tab is not what the sync wrote: never "applied".
    assert outcome.status is OutcomeStatus.NEEDS_PERSON
    assert "tab 'Clients' rows" in outcome.message
    assert "changed at that very moment" in outcome.message
    assert "NEEDS A PERSON" in run_text(first)
    # The next run re-checks by key and pauses the right client's row.
    second = run(agency)
    assert second.outcomes[STATUS_KEY].status is OutcomeStatus.APPLIED
    rows = as_dicts(google, DS, TAB)
    assert [r["Status"] for r in rows if r[KEY] == PAUSED] == ["Paused"]
