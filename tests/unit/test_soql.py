"""SOQL text: values quoted by simple-salesforce's own quoting, names checked by us."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from simple_salesforce.format import quote_soql_value

from connectors.emulators.salesforce import soql as soql_engine
from connectors.salesforce import soql

TRICKY = ["Approved' OR Name != '", "back\\slash", 'say "hi"', "two\nlines\ttab", "50%_off", ""]


@pytest.mark.parametrize("value", TRICKY)
def test_values_are_quoted_by_the_client_library_and_read_back_intact(value: str) -> None:
    literal = soql.quote(value)
    assert literal == quote_soql_value(value)
    where = soql_engine.parse(f"SELECT Id FROM Account WHERE Name = {literal}").where
    assert where is not None
    assert where.values == [value]  # one literal, exactly the value: nothing widened


def test_in_lists_and_datetime_literals_use_the_library_forms() -> None:
    assert soql.in_list(["a", "b'c"]) == quote_soql_value(["a", "b'c"])
    with pytest.raises(ValueError, match="at least one"):
        soql.in_list([])
    when = datetime(2026, 11, 25, 10, 30, 15, 999_000, tzinfo=timezone(timedelta(hours=-6)))
    assert soql.datetime_literal(when) == "2026-11-25T16:30:15+00:00"  # UTC, seconds down
    with pytest.raises(ValueError, match="timezone-aware"):
        soql.datetime_literal(datetime(2026, 11, 25, 10, 30))  # naive: refused
    parsed = soql_engine.parse(
        f"SELECT Id FROM Account WHERE SystemModstamp > {soql.datetime_literal(when)}"
    ).where
    assert parsed is not None
    assert parsed.values == [datetime(2026, 11, 25, 16, 30, 15, tzinfo=UTC)]


@pytest.mark.parametrize("bad", ["Status__c FROM User --", "a b", "x'", "1Name", "Account__r."])
def test_names_that_are_not_api_names_are_refused(bad: str) -> None:
    with pytest.raises(soql.SoqlNameError):
        soql.name(bad)
