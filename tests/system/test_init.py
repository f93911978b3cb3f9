"""`sync init`: each discovery step on its own (pure), then against the sandbox end to end: the
written config has its TODOs, is refused until they are filled, and then passes `sync check`."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path
from typing import Any

import pytest

from connectors.emulators.salesforce.schema import Schema, describe
from sync.cli.app import main
from sync.cli.check import run_check
from sync.cli.init import init_command, sandbox_sheet_ids
from sync.config import from_org as ic
from sync.config.loading import load
from sync.errors import ConfigError
from sync.sandbox.agency import KEY_FILE
from tests.support.fixtures.sandbox import Agency


def _describe(**changes: dict[str, Any] | None) -> dict[str, Any]:
    """The emulator's default Takedown Request describe, with fields reshaped (None drops one)."""
    schema = Schema()
    schema.add(
        "Takedown_Request__c",
        {
            "remove": [name for name, change in changes.items() if change is None],
            "fields": [{"name": name, **change} for name, change in changes.items() if change],
        },
    )
    return describe(schema, "Takedown_Request__c", "59.0")


def test_object_found_by_label_else_a_todo_with_the_candidates() -> None:
    objects = [
        {"name": "Account", "label": "Account"},
        {"name": "TR__c", "label": "Takedown Request"},
        {"name": "Takedown_Old__c", "label": "Takedown Archive"},
    ]
    assert ic.pick_object(objects).values["object"] == "TR__c"
    missing = ic.pick_object(objects[:1] + objects[2:])
    assert missing.values == {}
    assert "candidates: Takedown_Old__c" in missing.todos[0]


def test_fields_mapped_by_label_and_type_with_picklist_values() -> None:
    found = ic.map_fields(_describe())
    assert found.todos == []
    assert found.values["type"] == "Request_Type__c"
    assert found.values["account_name"] == "Account__r.Name"
    assert found.values["type_values"] == {
        "cancellation": "Cancellation",
        "pause": "Contract Pause",
        "change": "Contract Change",
    }
    assert found.values["platform_values"] == {"DS": "DS", "ARI": "ARI"}
    assert found.values["approved_status"] == "Approved"


def test_a_missing_field_a_wrong_type_and_an_unknown_picklist_are_todos() -> None:
    found = ic.map_fields(
        _describe(
            Platform__c=None,
            Effective_Date__c={"type": "string"},
            Request_Type__c={"values": ["Cancel", "Cancel Partially", "Hold", "Upsell"]},
        )
    )
    todos = "\n".join(found.todos)
    assert "salesforce.fields.platform: no field labelled 'Platform'" in todos
    assert "salesforce.fields.effective_date: field Effective_Date__c is a string" in todos
    assert "salesforce.type_values.cancellation: 2 picklist value(s)" in todos
    assert "salesforce.type_values.pause: 0 picklist value(s)" in todos
    assert "platform" not in found.values


def test_approvers_by_name_to_user_ids_a_shared_or_unknown_name_is_a_todo() -> None:
    found = ic.map_approvers(
        {"first": ["Jeremy Bliesner"], "second": ["Dustin Hunter"], "finance": ["Finance Team"]},
        {"Jeremy Bliesner": ["005A"], "Dustin Hunter": ["005B", "005C"], "Finance Team": []},
    )
    assert found.values == {"first": ["005A"], "second": [], "finance": []}
    assert "2 users (005B, 005C) named 'Dustin Hunter'" in found.todos[0]
    assert "no user named 'Finance Team'" in found.todos[1]


def test_sheet_tab_and_columns_found_by_header_row() -> None:
    tabs = {
        "Notes": ["Anything"],
        "Clients ": ["Client Name", "SF Account ID", "Status", "Pause Date", "Cancellation Date"],
    }
    found = ic.map_sheet("ds_tracker", tabs)
    assert found.todos == []
    assert found.values["tab"] == "Clients "
    assert found.values["columns"]["account_id"] == "SF Account ID"
    assert found.values["columns"]["cancel_date"] == "Cancellation Date"
    partial = ic.map_sheet("ds_tracker", {"Clients": ["Client", "Status"]})
    assert "no tab has a header for account_id, pause_date, cancel_date" in partial.todos[0]


def test_boards_by_name_and_their_custom_fields() -> None:
    boards = [
        {"id": "b1", "name": "Targeted Digital Advertising",
         "customFields": [{"name": "Salesforce Account ID"}]},
        {"id": "b2", "name": "Random board", "customFields": []},
    ]  # fmt: skip
    found = ic.map_boards(boards, "Salesforce Account ID")
    assert found.values["boards"] == {"tda": "b1", "design": ""}
    assert "trello.boards.design: 0 open board(s)" in found.todos[0]
    assert "custom fields: Salesforce Account ID" in found.notes[0]


def test_init_against_the_sandbox_writes_a_config_that_passes_check_once_the_todos_are_filled(
    agency: Agency, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, path = io.StringIO(), tmp_path / "config" / "config.toml"
    cfg = agency.config
    init_command(
        cfg, agency.routes, output=path, sheets=sandbox_sheet_ids(cfg), force=False, out=out
    )
    printed, text = out.getvalue(), path.read_text()
    for step in (
        "request object: Takedown_Request__c",
        "approver first: Jeremy Bliesner",
        "sheets.ds_tracker: tab 'Clients'",
        "board tda: 'Targeted Digital Advertising'",
    ):
        assert f"found: {step}" in printed  # fmt: skip
    assert "TODO: email.manager_to" in printed
    assert "# TODO: email.manager_to" in text
    assert 'first = ["005000000000JBL"]' in text
    tomllib.loads(text)  # valid TOML
    with pytest.raises(ConfigError, match="not an email address: 'TODO'"):
        load(path)
    filled = text.replace('["TODO"]', '["someone@agency.example"]')
    assert 'TODO"' not in filled
    path.write_text(filled)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(agency.directory / KEY_FILE))
    report = io.StringIO()
    assert run_check(load(path), agency.routes, out=report) == 0, report.getvalue()
    assert "all good" in report.getvalue()


def test_init_outside_the_sandbox_logs_in_as_a_run_does_and_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shipped example config names the credentials' variables; none set: exit 2, one line,
    and no file written."""
    for var in ("SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    out = tmp_path / "config.toml"
    assert main(["init", "--output", str(out)]) == 2
    assert "export SF_USERNAME=" in capsys.readouterr().err
    assert not out.exists()
