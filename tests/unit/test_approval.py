"""The approval-chain check: order, Finance only with a credit, rejections, both sources."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.salesforce.history import approved_at, fields_needed, parse_steps, steps_from_fields
from sync.config.model import ApprovalChain
from sync.core import approval


def check_chain(rows: list[dict[str, Any]], chain: ApprovalChain, credit: Decimal) -> str | None:
    """The connector's parse, then the core's judgement: as a request's history goes."""
    return approval.check_chain(parse_steps(rows), chain, credit)


# The sandbox's way (names); production configs give ids (tests at the end of this file).
CHAIN = ApprovalChain(
    first=("Jeremy Bliesner",),
    second=("Dustin Hunter",),
    finance=("Finance Team",),
    match_by="name",
)
IDS = {"Jeremy Bliesner": "005Ag000000JBLIAAA", "Dustin Hunter": "005Ag000000DHUNAAA"}


def history(*rows: tuple[str, str]) -> list[dict[str, Any]]:
    """Rows a minute apart, as ProcessSteps returns them."""
    return [
        {
            "StepStatus": status,
            "ActorId": IDS.get(actor, ""),
            "Actor": {"Name": actor},
            "CreatedDate": f"2026-11-20T09:{i:02d}:00.000+0000",
        }
        for i, (status, actor) in enumerate(rows)
    ]


FULL = history(
    ("Started", "Amy Retention"),
    ("Approved", "Jeremy Bliesner"),
    ("Approved", "Dustin Hunter"),
)


def test_complete_chain_without_credit_is_verified() -> None:
    assert check_chain(FULL, CHAIN, Decimal(0)) is None


def test_complete_chain_with_finance_and_credit_is_verified() -> None:
    rows = history(
        ("Started", "Amy Retention"),
        ("Approved", "Jeremy Bliesner"),
        ("Approved", "Dustin Hunter"),
        ("Approved", "Finance Team"),
    )
    assert check_chain(rows, CHAIN, Decimal("250")) is None


def test_missing_finance_with_a_credit() -> None:
    assert check_chain(FULL, CHAIN, Decimal("250")) == (
        "Finance has not approved, but a credit of 250.00 is issued"
    )


def test_finance_before_second_approver() -> None:
    rows = history(
        ("Started", "Amy Retention"),
        ("Approved", "Jeremy Bliesner"),
        ("Approved", "Finance Team"),
        ("Approved", "Dustin Hunter"),
    )
    assert check_chain(rows, CHAIN, Decimal("10")) == "Finance approved before Dustin Hunter"


def test_out_of_order() -> None:
    rows = history(
        ("Started", "Amy Retention"),
        ("Approved", "Dustin Hunter"),
        ("Approved", "Jeremy Bliesner"),
    )
    assert check_chain(rows, CHAIN, Decimal(0)) == "Dustin Hunter approved before Jeremy Bliesner"


def test_order_comes_from_created_date_not_row_order() -> None:
    """Rows handed over out of order are sorted by time before the check."""
    assert check_chain(list(reversed(FULL)), CHAIN, Decimal(0)) is None


def test_missing_entirely() -> None:
    assert check_chain([], CHAIN, Decimal(0)) == "no approval history"


def test_second_approver_missing() -> None:
    rows = history(("Started", "Amy Retention"), ("Approved", "Jeremy Bliesner"))
    assert check_chain(rows, CHAIN, Decimal(0)) == (
        "Dustin Hunter (second approver) has not approved"
    )


def test_first_approver_missing() -> None:
    rows = history(("Started", "Amy Retention"), ("Approved", "Dustin Hunter"))
    assert check_chain(rows, CHAIN, Decimal(0)) == (
        "Jeremy Bliesner (first approver) has not approved"
    )


def test_approver_outside_the_chain_does_not_count() -> None:
    rows = history(
        ("Started", "Amy Retention"),
        ("Approved", "Jeremy Bliesner"),
        ("Approved", "Some Admin"),
    )
    assert check_chain(rows, CHAIN, Decimal(0)) == (
        "Dustin Hunter (second approver) has not approved"
    )


def test_rejected_after_the_approvals() -> None:
    rows = [*FULL, *history(("Rejected", "Finance Team"))]
    rows[-1]["CreatedDate"] = "2026-11-21T10:00:00.000+0000"
    assert check_chain(rows, CHAIN, Decimal(0)) == "rejected by Finance Team on 2026-11-21"


def test_removed_means_recalled() -> None:
    rows = [*FULL, *history(("Removed", "Amy Retention"))]
    rows[-1]["CreatedDate"] = "2026-11-21T10:00:00.000+0000"
    assert check_chain(rows, CHAIN, Decimal(0)) == (
        "the approval request was recalled on 2026-11-21"
    )


def test_only_the_last_submission_counts() -> None:
    """Rejected once, resubmitted and approved: verified. The reverse: not."""
    rows = history(
        ("Started", "Amy Retention"),
        ("Rejected", "Jeremy Bliesner"),
        ("Started", "Amy Retention"),
        ("Approved", "Jeremy Bliesner"),
        ("Approved", "Dustin Hunter"),
    )
    assert check_chain(rows, CHAIN, Decimal(0)) is None
    again = history(
        ("Started", "Amy Retention"),
        ("Approved", "Jeremy Bliesner"),
        ("Approved", "Dustin Hunter"),
        ("Started", "Amy Retention"),
        ("Approved", "Jeremy Bliesner"),
    )
    assert check_chain(again, CHAIN, Decimal(0)) == (
        "Dustin Hunter (second approver) has not approved"
    )


@pytest.mark.parametrize(
    "chain",
    [
        ApprovalChain(first=("005Ag000000JBLIAAA",), second=("005Ag000000DHUNAAA",)),
        # The 15-character form of the same ids.
        ApprovalChain(first=("005Ag000000JBLI",), second=("005Ag000000DHUN",)),
        # In the sandbox, names match ignoring case and spacing.
        ApprovalChain(first=("jeremy  bliesner",), second=("DUSTIN HUNTER",), match_by="name"),
    ],
)
def test_actors_match_by_user_id_or_name(chain: ApprovalChain) -> None:
    assert check_chain(FULL, chain, Decimal(0)) is None


def test_any_of_several_people_may_fill_a_role() -> None:
    chain = ApprovalChain(
        first=("Jeremy Bliesner",), second=("Dana Deputy", "Dustin Hunter"), match_by="name"
    )
    assert check_chain(FULL, chain, Decimal(0)) is None


def test_approved_at_is_the_last_approval() -> None:
    assert approved_at(parse_steps(FULL)) == datetime(2026, 11, 20, 9, 2, tzinfo=UTC)
    assert approved_at(()) is None


FIELDS_CHAIN = ApprovalChain(
    first=("Jeremy Bliesner",),
    second=("Dustin Hunter",),
    finance=("Finance Team",),
    match_by="name",
    source="fields",
    fields={
        "first": "First_Approver__c",
        "second": "Second_Approver__c",
        "finance": "Finance_Approver__c",
        "first_at": "First_Approved_At__c",
        "second_at": "Second_Approved_At__c",
    },
)


def fields_record(**values: Any) -> dict[str, Any]:
    base = {
        "First_Approver__c": "Jeremy Bliesner",
        "Second_Approver__c": "Dustin Hunter",
        "Finance_Approver__c": None,
        "First_Approved_At__c": "2026-11-20T09:00:00.000+0000",
        "Second_Approved_At__c": "2026-11-20T10:00:00.000+0000",
    }
    return {**base, **values}


def test_fields_source_complete_and_missing_finance() -> None:
    rec = fields_record()
    assert check_chain(steps_from_fields(rec.get, FIELDS_CHAIN), FIELDS_CHAIN, Decimal(0)) is None
    assert check_chain(steps_from_fields(rec.get, FIELDS_CHAIN), FIELDS_CHAIN, Decimal("99.5")) == (
        "Finance has not approved, but a credit of 99.50 is issued"
    )


def test_fields_source_checks_order_when_times_are_mapped() -> None:
    rec = fields_record(Second_Approved_At__c="2026-11-20T08:00:00.000+0000")
    assert check_chain(steps_from_fields(rec.get, FIELDS_CHAIN), FIELDS_CHAIN, Decimal(0)) == (
        "Dustin Hunter approved before Jeremy Bliesner"
    )


def test_fields_source_empty_field_means_not_approved() -> None:
    rec = fields_record(Second_Approver__c="")
    assert check_chain(steps_from_fields(rec.get, FIELDS_CHAIN), FIELDS_CHAIN, Decimal(0)) == (
        "Dustin Hunter (second approver) has not approved"
    )
    assert check_chain(steps_from_fields({}.get, FIELDS_CHAIN), FIELDS_CHAIN, Decimal(0)) == (
        "no approval history"
    )


def test_fields_needed_lists_mapped_roles_only() -> None:
    chain = ApprovalChain(source="fields", fields={"first": "A__c", "second_at": "B__c", "x": "C"})
    assert fields_needed(chain) == ["A__c", "B__c"]


# ----- issue 15 defect 9 / issue 14 item 5: approvers by user id ------------------------------
ID_CHAIN = ApprovalChain(first=("005Ag000000JBLIAAA",), second=("005Ag000000DHUNAAA",))


def test_by_id_a_second_user_with_the_approvers_name_does_not_pass_the_gate() -> None:
    namesake = [
        {**row, "ActorId": "005Ag000000XXXXAAA"} if row["Actor"]["Name"] == "Dustin Hunter" else row
        for row in FULL
    ]
    assert check_chain(namesake, ID_CHAIN, Decimal(0)) == (
        "005Ag000000DHUNAAA (second approver) has not approved"
    )


def test_by_id_a_renamed_approver_still_passes_and_messages_show_the_name() -> None:
    renamed = [
        {**row, "Actor": {"Name": "Dustin Hunter-Smith"}}
        if row["Actor"]["Name"] == "Dustin Hunter"
        else row
        for row in FULL
    ]
    assert check_chain(renamed, ID_CHAIN, Decimal(0)) is None
    backwards = history(("Approved", "Dustin Hunter"), ("Approved", "Jeremy Bliesner"))
    assert check_chain(backwards, ID_CHAIN, Decimal(0)) == (
        "Dustin Hunter (005Ag000000DHUNAAA) approved before Jeremy Bliesner (005Ag000000JBLIAAA)"
    )


def test_in_name_mode_names_match_across_unicode_forms() -> None:
    """Issue 15 defect 4: approver names compared in one normalised form (NFC, case, spaces)."""
    chain = ApprovalChain(
        first=(unicodedata.normalize("NFC", "José  Núñez"),),
        second=("Dustin Hunter",),
        match_by="name",
    )
    rows = history(("Approved", unicodedata.normalize("NFD", "JOSÉ NÚÑEZ")),
                   ("Approved", "Dustin Hunter"))  # fmt: skip
    assert check_chain(rows, chain, Decimal(0)) is None


def test_in_name_mode_a_name_two_users_share_verifies_nothing() -> None:
    """The sandbox resolves names through its users: a shared name cannot identify anyone."""
    chain = ApprovalChain(
        first=("Jeremy Bliesner",), second=("Dustin Hunter",), match_by="name",
        sandbox_users={"jeremy bliesner": ["005Ag000000JBLIAAA"],
                       "dustin hunter": ["005Ag000000DHUNAAA", "005Ag000000XXXXAAA"]},
    )  # fmt: skip
    assert check_chain(FULL, chain, Decimal(0)) == (
        "2 Salesforce users are named 'Dustin Hunter' (005Ag000000DHUNAAA, 005Ag000000XXXXAAA), "
        "so an approval by that name cannot be trusted; give the approvers' user ids in the config"
    )
    one = ApprovalChain(
        first=("Jeremy Bliesner",), second=("Dustin Hunter",), match_by="name",
        sandbox_users={"dustin hunter": ["005Ag000000XXXXAAA"]},
    )  # fmt: skip
    assert check_chain(FULL, one, Decimal(0)) == "Dustin Hunter (second approver) has not approved"
