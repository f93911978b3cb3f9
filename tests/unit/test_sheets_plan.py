"""Pure Sheets deciding (`connectors.sheets.plan`): no network."""

from __future__ import annotations

import unicodedata

from connectors.sheets.book import BookPlan, Tab, TabWrites, find_tab
from connectors.sheets.writes import batch_requests, rows_not_as_written


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_headers_match_across_unicode_forms_case_and_spacing() -> None:
    """Issue 15 defect 4: a header typed in decomposed form is the same header."""
    tab = Tab("Clients", 0, [["Salesforce Account ID", nfd("Fecha de  CANCELACIÓN")]])
    assert tab.columns("fecha de cancelación") == [1]


def test_tab_titles_match_across_unicode_forms() -> None:
    book = {
        nfd("Clientes dados de baja (Réservé)"): Tab(nfd("Clientes dados de baja (Réservé)"), 1, [])
    }
    found = find_tab(book, "clientes dados de baja (réservé)")
    assert found is not None
    assert found.sheet_id == 1


def test_keys_match_in_either_unicode_form_but_keep_their_case() -> None:
    """Sheet keys are ids: the form and surrounding spaces are ignored, never the case (an
    18-character Salesforce id encodes the case of its 15-character form)."""
    tab = Tab("t", 0, [["Key"], [nfd(" Réf-001 ")], ["001000000000001AAA"]])
    assert tab.find(0, unicodedata.normalize("NFC", "Réf-001")) == [1]
    assert tab.find(0, "001000000000001aaa") == []
    assert tab.find(0, "001000000000001") == [2]


def test_a_copied_formula_goes_in_as_a_formula_and_its_result_is_not_a_shifted_row() -> None:
    """Issue 15 defect 8: the copy's formula cells are formulaValue, the sync's own values
    stringValue, and the check of the write's answer accepts whatever the formula shows."""
    link = '=HYPERLINK("https://crm.example/1","CRM link")'
    removed = Tab("Removed clients", 5, [["Client", "CRM", "Status"]])
    w = TabWrites(removed, removed.title, headers=list(removed.headers), header_from=3)
    w.appends.append({0: "Acme", 1: link, 2: "=typed by the sync"})
    w.formula_cells.add((0, 1))
    plan = BookPlan(writes={removed.title: w})
    [append] = batch_requests(plan)
    cells = append["appendCells"]["rows"][0]["values"]
    assert cells[1] == {"userEnteredValue": {"formulaValue": link}}
    assert cells[2] == {"userEnteredValue": {"stringValue": "=typed by the sync"}}
    after = Tab(removed.title, 5, [*removed.rows, ["Acme", "CRM link", "=typed by the sync"]])
    assert rows_not_as_written(plan, {removed.title: removed}, {removed.title: after}) == {}
    shifted = Tab(removed.title, 5, [*removed.rows, ["Other", "CRM link", "=typed by the sync"]])
    assert rows_not_as_written(plan, {removed.title: removed}, {removed.title: shifted}) == {
        removed.title: [2]
    }
