"""A [salesforce] mapping that does not match the org is caught before anything happens.

The three probes of issue 13 (a misspelled status field, a misspelled reason field, a write-back
to `Sync_Statsu__c`), each through `sync check` and through a real run against the bundled
agency: the check names the field, the object and the closest names, and the run stops with
exit code 3 before it reads a request or writes anything. Then the rest of what describe
lets the sync check: types, picklist values, write access and lengths.
"""

from __future__ import annotations

import dataclasses
import io
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from typing import Any

import pytest

from connectors.emulators.salesforce.server import SalesforceEmulator
from connectors.salesforce.connector import SalesforceConnector
from sync.config.model import Config
from sync.exitcodes import ExitCode
from tests.support.fixtures.salesforce import make_sf_connector
from tests.support.fixtures.sandbox import Agency
from tests.support.reliability import cli_on

TODAY = date(2026, 11, 25)
TR = "Takedown_Request__c"


def remapped(cfg: Config, **fields: str) -> Config:
    sf = cfg.salesforce
    return dataclasses.replace(
        cfg, salesforce=dataclasses.replace(sf, fields=dataclasses.replace(sf.fields, **fields))
    )


def cli(agency: Agency, cfg: Config, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with (
        cli_on(dataclasses.replace(agency, config=cfg)) as main,
        redirect_stdout(out),
        redirect_stderr(err),
    ):
        as_of = [] if argv[0] == "check" else ["--as-of", TODAY.isoformat()]
        code = main([*as_of, *argv])
    return code, out.getvalue(), err.getvalue()


PROBES = [
    ("status", "Stauts__c", "salesforce.fields.status: Takedown_Request__c has no field "
     "'Stauts__c' (closest: Status__c,"),
    ("reason", "Reasn__c", "salesforce.fields.reason: Takedown_Request__c has no field "
     "'Reasn__c' (closest: Reason__c"),
    ("sync_status", "Sync_Statsu__c", "salesforce.fields.sync_status: Takedown_Request__c has "
     "no field 'Sync_Statsu__c' (closest: Sync_Status__c"),
]  # fmt: skip


@pytest.mark.parametrize(("key", "typo", "message"), PROBES, ids=[p[0] for p in PROBES])
def test_a_misspelled_field_is_caught_by_check_and_stops_the_run(
    agency: Agency, key: str, typo: str, message: str
) -> None:
    cfg = remapped(agency.config, **{key: typo})
    code, out, _err = cli(agency, cfg, "check")
    assert code == 1
    assert "salesforce: PROBLEMS" in out
    assert message in out

    for name in ("salesforce", "google", "trello"):
        agency.emulators[name].reset_counts()
    code, out, err = cli(agency, cfg, "run")
    assert code == ExitCode.FATAL
    flat = " ".join(err.split())  # the STOPPED paragraph is wrapped like the rest
    assert "the [salesforce] settings do not match the org, so nothing was done" in flat
    assert message in flat
    sf: SalesforceEmulator = agency.emulators["salesforce"]
    assert sf.count("GET", "/query") == 0  # stopped before polling: never "0 requests"
    assert sf.count("GET", "/describe$") == 2
    # Nothing was acted on: the only write is the run's own row in the Sync Log tab, and the
    # only emails go to the operations lead (the alert saying why the run stopped, and the
    # morning summary): none to Simpli.fi, the manager or the teams.
    assert agency.http_writes() == 1
    assert agency.emulators["google"].count("POST", "Sync%20Log") == 1
    mail = agency.outbox()
    assert {m.rcpt_tos for m in mail} == {("digital-ops-lead@agency.example",)}
    assert any(message.encode() in m.data for m in mail)


def test_a_dry_run_with_a_wrong_mapping_stops_too(agency: Agency) -> None:
    cfg = remapped(agency.config, sync_status="Sync_Statsu__c")
    code, out, err = cli(agency, cfg, "--dry-run")
    assert code == ExitCode.FATAL
    assert out == ""
    assert PROBES[2][2] in " ".join(err.split())


def test_the_same_run_with_the_right_mapping_acts(agency: Agency) -> None:
    code, out, _err = cli(agency, agency.config, "check")
    assert "salesforce: ok" in out
    assert (
        "note: mapping checked against the describe of Takedown_Request__c, Account "
        "(2 API calls, made before every run too)"
    ) in out
    code, out, _err = cli(agency, agency.config, "run")
    assert code in (0, 1)
    assert agency.http_writes() > 0


# ----- the rest of the describe-based checks -----------------------------------------------------
@pytest.fixture
def conn(config: Config, sf_emulator: SalesforceEmulator, sf_env: None) -> SalesforceConnector:
    return make_sf_connector(config, sf_emulator)


def problems_with(config: Config, sf_emulator: SalesforceEmulator, **changes: Any) -> list[str]:
    cfg = dataclasses.replace(config, salesforce=dataclasses.replace(config.salesforce, **changes))
    return make_sf_connector(cfg, sf_emulator).mapping_problems()


def test_the_bundled_mapping_matches_the_default_schema_in_one_describe_per_object(
    conn: SalesforceConnector, sf_emulator: SalesforceEmulator
) -> None:
    assert conn.mapping_problems() == []
    assert sf_emulator.count("GET", "/describe$") == 2  # Takedown_Request__c and Account
    assert sf_emulator.count("GET") == 2


def test_a_wrong_type_is_reported(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None
) -> None:
    fields = dataclasses.replace(
        config.salesforce.fields, effective_date="Reason__c", credit_amount="Platform__c"
    )
    assert problems_with(config, sf_emulator, fields=fields) == [
        "salesforce.fields.effective_date: Takedown_Request__c.Reason__c is a textarea field; "
        "the sync needs date or datetime",
        "salesforce.fields.credit_amount: Takedown_Request__c.Platform__c is a picklist field; "
        "the sync needs currency or double or int or long or percent",
    ]


def test_configured_values_must_be_picklist_values(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None
) -> None:
    types = {**config.salesforce.type_values, "pause": "Contract Pauses"}
    account = dataclasses.replace(config.salesforce.account, cancellation="Canceled")
    found = problems_with(
        config, sf_emulator, approved_status="Aproved", type_values=types, account=account
    )
    assert found == [
        "salesforce.type_values: 'Contract Pauses' is not a value of the "
        "Takedown_Request__c.Request_Type__c picklist (its values: Cancellation, Contract "
        "Pause, Contract Change)",
        "salesforce.approved_status: 'Aproved' is not a value of the Takedown_Request__c."
        "Status__c picklist (its values: Draft, Pending Approval, Approved, Rejected, "
        "Withdrawn)",
        "salesforce.account.status_field: the sync writes 'Canceled', which is not a value of "
        "the restricted Account.TDA_Status__c picklist (its values: Active, Cancelled, Paused, "
        "Contract Changed)",
    ]


def test_the_seo_service_must_be_one_of_the_services(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None
) -> None:
    cfg = dataclasses.replace(
        config, reminders=dataclasses.replace(config.reminders, seo_service="S.E.O.")
    )
    assert make_sf_connector(cfg, sf_emulator).mapping_problems() == [
        "reminders.seo_service: 'S.E.O.' is not a value of the Takedown_Request__c.Services__c "
        "picklist (its values: TDA, SEO, SEM, Social)"
    ]


def test_write_back_fields_must_be_updateable_and_long_enough(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None
) -> None:
    sf_emulator.add_field(TR, name="Sync_Message__c", type="string", length=80)
    fields = dataclasses.replace(config.salesforce.fields, sync_status="Name")
    found = problems_with(config, sf_emulator, fields=fields)
    assert found[0] == (
        "salesforce.fields.sync_status: Takedown_Request__c.Name is read-only for the sync user "
        "(not updateable)"
    )
    assert found[1].startswith(
        "salesforce.fields.sync_message: Takedown_Request__c.Sync_Message__c holds 80 "
        "characters, but the sync writes up to "
    )
    assert len(found) == 2


def test_a_relationship_path_is_followed_to_its_object(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None
) -> None:
    fields = dataclasses.replace(config.salesforce.fields, account_name="Acount__r.Name")
    assert problems_with(config, sf_emulator, fields=fields) == [
        "salesforce.fields.account_name: Takedown_Request__c has no relationship 'Acount__r' "
        "(closest: Account__r)"
    ]
    fields = dataclasses.replace(config.salesforce.fields, account_name="Account__r.Nmae")
    assert problems_with(config, sf_emulator, fields=fields) == [
        "salesforce.fields.account_name: Account has no field 'Nmae' (closest: Name)"
    ]


def test_approver_fields_are_checked_when_approvals_are_read_from_fields(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None
) -> None:
    sf_emulator.add_field(TR, name="First_Approver__c", type="string", length=121)
    sf_emulator.add_field(TR, name="First_Approved_At__c", type="string")
    chain = dataclasses.replace(
        config.salesforce.approval,
        source="fields",
        fields={
            "first": "First_Approver__c",
            "second": "Second_Aprover__c",
            "first_at": "First_Approved_At__c",
        },
    )
    assert problems_with(config, sf_emulator, approval=chain) == [
        "salesforce.approval.fields.second: Takedown_Request__c has no field "
        "'Second_Aprover__c' (closest: First_Approver__c)",
        "salesforce.approval.fields.first_at: Takedown_Request__c.First_Approved_At__c is a "
        "string field; the sync needs date or datetime",
    ]


def test_the_undo_status_must_be_a_value_of_a_restricted_sync_status_picklist(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None
) -> None:
    """`python -m sync undo` writes 'Undone': an org whose picklist lacks it hears so from
    `sync check`, not from a failed write-back at the end of an undo."""
    sf_emulator.add_field(
        TR,
        name="Sync_Status__c",
        type="picklist",
        restrictedPicklist=True,
        picklistValues=[
            "Synced",
            "Synced - offboarding scheduled",
            "Offboarded",
            "Withdrawn after sync acted",
        ],
    )
    found = problems_with(config, sf_emulator)
    assert len(found) == 1
    assert "the sync writes 'Undone'" in found[0]
    assert "restricted Takedown_Request__c.Sync_Status__c picklist" in found[0]


def test_the_withdrawn_sync_status_must_be_a_value_of_a_restricted_picklist(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None
) -> None:
    """Issue 15 defect 7: the sync also writes 'Withdrawn after sync acted'; an org whose
    picklist lacks it is told so by `check`, not by a write-back failing every run."""
    values = ["Synced", "Synced - offboarding scheduled", "Offboarded", "Undone"]
    sf_emulator.add_field(
        TR, name="Sync_Status__c", type="picklist", restrictedPicklist=True, picklistValues=values
    )
    assert make_sf_connector(config, sf_emulator).mapping_problems() == [
        "salesforce.fields.sync_status: the sync writes 'Withdrawn after sync acted', which is "
        "not a value of the restricted Takedown_Request__c.Sync_Status__c picklist (its values: "
        "Synced, Synced - offboarding scheduled, Offboarded, Undone)"
    ]
