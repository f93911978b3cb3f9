"""Pure Sheets deciding (`connectors.sheets_plan`): no network."""

from __future__ import annotations

import unicodedata

from connectors.sheets_plan import Tab, find_tab


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
