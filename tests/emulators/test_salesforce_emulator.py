"""The emulator speaks Salesforce's wire format: checked with the real simple-salesforce."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.emulators.salesforce.query import PAGE_SIZE
from connectors.emulators.salesforce.server import SalesforceEmulator, id18, sf_datetime
from connectors.http import build_session
from tests.support.fixtures.salesforce import SF_USER, add_takedown

V = "59.0"


def session_for(emu: SalesforceEmulator) -> requests.Session:
    return build_session({"salesforce.com": emu.base_url})


def login(emu: SalesforceEmulator, **overrides: str) -> Salesforce:
    kwargs = {
        "username": SF_USER["username"],
        "password": SF_USER["password"],
        "security_token": SF_USER["security_token"],
        **overrides,
    }
    return Salesforce(**kwargs, session=session_for(emu), version=V)


@pytest.fixture
def sf(sf_emulator: SalesforceEmulator) -> Iterator[Salesforce]:
    client = login(sf_emulator)
    yield client
    client.session.close()


def rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


# ----- auth ---------------------------------------------------------------------------------
def test_soap_login_gives_the_my_domain_instance(sf: Salesforce) -> None:
    assert sf.sf_instance == "agency.my.salesforce.com"
    assert sf.base_url == f"https://agency.my.salesforce.com/services/data/v{V}/"


def test_soap_login_with_a_bad_password_is_invalid_login(
    sf_emulator: SalesforceEmulator,
) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        login(sf_emulator, password="wrong")
    assert err.value.code == "INVALID_LOGIN"
    # Right password, missing security token: refused too.
    with pytest.raises(SalesforceAuthenticationFailed):
        login(sf_emulator, security_token="")


def test_jwt_bearer_checks_the_signature(sf_emulator: SalesforceEmulator) -> None:
    private, public = rsa_pair()
    other_private, _ = rsa_pair()
    sf_emulator.seed({"consumer_keys": {"3MVG9-consumer": public}})

    ok = Salesforce(
        username=SF_USER["username"],
        consumer_key="3MVG9-consumer",
        privatekey=private,
        session=session_for(sf_emulator),
    )
    assert ok.query("SELECT Id FROM Account")["totalSize"] == 0

    with pytest.raises(SalesforceAuthenticationFailed) as forged:
        Salesforce(
            username=SF_USER["username"],
            consumer_key="3MVG9-consumer",
            privatekey=other_private,
            session=session_for(sf_emulator),
        )
    assert forged.value.code == "invalid_grant"
    with pytest.raises(SalesforceAuthenticationFailed) as unknown_key:
        Salesforce(
            username=SF_USER["username"],
            consumer_key="not-registered",
            privatekey=private,
            session=session_for(sf_emulator),
        )
    assert unknown_key.value.code == "invalid_client_id"
    with pytest.raises(SalesforceAuthenticationFailed) as unknown_user:
        Salesforce(
            username="nobody@agency.example",
            consumer_key="3MVG9-consumer",
            privatekey=private,
            session=session_for(sf_emulator),
        )
    assert unknown_user.value.code == "invalid_grant"


def test_session_id_auth_and_a_bad_token(sf_emulator: SalesforceEmulator) -> None:
    token = sf_emulator.issue_token(SF_USER["username"])
    direct = Salesforce(
        session_id=token,
        instance_url="https://agency.my.salesforce.com",
        session=session_for(sf_emulator),
    )
    assert direct.query("SELECT Id FROM Account")["done"] is True
    bad = Salesforce(
        session_id="00Dnot-a-session",
        instance_url="https://agency.my.salesforce.com",
        session=session_for(sf_emulator),
    )
    with pytest.raises(SalesforceExpiredSession) as err:
        bad.query("SELECT Id FROM Account")
    assert err.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_expired_fault_makes_password_clients_log_in_again(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    logins = sf_emulator.count("POST", r"/services/Soap/")
    sf_emulator.add_fault("expired", path="/query")
    assert sf.query("SELECT Id FROM Account")["done"] is True
    assert sf_emulator.count("POST", r"/services/Soap/") == logins + 1
    # The 401 itself was a real answer from the org.
    assert sf_emulator.count("GET", "/query") == 2


# ----- queries ------------------------------------------------------------------------------
def test_relationship_fields_and_process_steps(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    rid = add_takedown(sf_emulator, client="Blue Ridge RV Center")
    bare = add_takedown(sf_emulator, client="Summit Cycle Works", approvals=None)
    result = sf.query(
        "SELECT Id, Name, Account__r.Name, (SELECT StepStatus, ActorId, Actor.Name, CreatedDate "
        "FROM ProcessSteps ORDER BY CreatedDate) FROM Takedown_Request__c ORDER BY Name"
    )
    first, second = result["records"]
    assert first["Id"] == rid
    assert first["attributes"]["type"] == "Takedown_Request__c"
    assert first["Account__r"]["Name"] == "Blue Ridge RV Center"
    assert first["Account__r"]["attributes"]["type"] == "Account"
    steps = first["ProcessSteps"]["records"]
    assert [(s["StepStatus"], s["Actor"]["Name"]) for s in steps] == [
        ("Started", "Amy Retention"),
        ("Approved", "Jeremy Bliesner"),
        ("Approved", "Dustin Hunter"),
    ]
    assert steps[1]["ActorId"] == "005Ag000000JBLIAAA"
    assert second["Id"] == bare
    assert second["ProcessSteps"] is None  # Salesforce sends null, not an empty list


@pytest.fixture
def five(sf_emulator: SalesforceEmulator) -> dict[str, str]:
    """Five requests with varied values; returns name -> id."""
    specs: list[dict[str, Any]] = [
        {"client": "Acme", "status": "Approved", "effective": "2026-12-01", "credit": 0},
        {"client": "Acme", "status": "Pending", "effective": "2026-12-15", "credit": 100},
        {"client": "O'Brien Marine", "status": "Approved", "effective": None, "credit": 250.5},
        {"client": "Zed Motors", "status": "Withdrawn", "effective": "2027-01-01", "credit": 0},
        {"client": "Zed Motors", "status": "Approved", "effective": "2026-11-30", "credit": 0},
    ]
    out = {}
    for i, spec in enumerate(specs):
        rid = add_takedown(
            sf_emulator,
            modstamp=datetime(2026, 11, 25, 10 + i, tzinfo=UTC),
            **spec,
        )
        out[f"TR-{i + 1:05d}"] = rid
    return out


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Status__c = 'Approved'", [1, 3, 5]),
        ("Status__c = 'approved'", [1, 3, 5]),  # text comparison ignores case
        ("Status__c != 'Approved'", [2, 4]),
        ("Status__c <> 'Approved'", [2, 4]),
        ("Status__c IN ('Pending', 'Withdrawn')", [2, 4]),
        ("Status__c NOT IN ('Pending', 'Withdrawn')", [1, 3, 5]),
        ("Effective_Date__c = NULL", [3]),
        ("Effective_Date__c != NULL", [1, 2, 4, 5]),
        ("Effective_Date__c < 2026-12-02", [1, 5]),
        ("Effective_Date__c >= 2026-12-15", [2, 4]),
        ("Credit_Amount__c > 100", [3]),
        ("Credit_Amount__c <= 100", [1, 2, 4, 5]),
        ("SystemModstamp > 2026-11-25T12:00:00Z", [4, 5]),
        ("SystemModstamp <= 2026-11-25T12:00:00.000+00:00", [1, 2, 3]),
        ("SystemModstamp > 2026-11-25T06:30:00-05:00", [3, 4, 5]),
        ("Account__r.Name = 'O\\'Brien Marine'", [3]),
        ("Account__r.Name LIKE 'zed%'", [4, 5]),
        ("(Status__c = 'Approved' AND Credit_Amount__c = 0) OR Name = 'TR-00002'", [1, 2, 5]),
        ("Status__c = 'Approved' AND (Credit_Amount__c > 0 OR Account__r.Name = 'Acme')", [1, 3]),
        ("NOT Status__c = 'Approved'", [2, 4]),
        ("Leaving_Platform__c = FALSE", [1, 2, 3, 4, 5]),
        ("Status__c = 'Approved\\' OR Name != \\''", []),
    ],
)
def test_where_clauses(
    five: dict[str, str], sf: Salesforce, where: str, expected: list[int]
) -> None:
    result = sf.query(f"SELECT Name FROM Takedown_Request__c WHERE {where} ORDER BY Name")
    assert [r["Name"] for r in result["records"]] == [f"TR-{n:05d}" for n in expected]


def test_id_in_accepts_15_and_18_character_ids(five: dict[str, str], sf: Salesforce) -> None:
    ids = [five["TR-00002"][:15], five["TR-00004"]]
    result = sf.query(
        f"SELECT Id FROM Takedown_Request__c WHERE Id IN ('{ids[0]}', '{ids[1]}') ORDER BY Id"
    )
    assert sorted(r["Id"] for r in result["records"]) == sorted(
        [five["TR-00002"], five["TR-00004"]]
    )


def test_order_by_desc_nulls_limit_offset(five: dict[str, str], sf: Salesforce) -> None:
    rows = sf.query(
        "SELECT Name FROM Takedown_Request__c ORDER BY Effective_Date__c DESC NULLS FIRST, Name "
        "LIMIT 3 OFFSET 1"
    )["records"]
    assert [r["Name"] for r in rows] == ["TR-00004", "TR-00002", "TR-00001"]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        (
            "SELECT Id FROM Takedown_Request__c WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
            "MALFORMED_QUERY",
        ),
        ("SELECT Id FROM Takedown_Request__c WHERE Name = 'unterminated", "MALFORMED_QUERY"),
        ("SELECT Id Takedown_Request__c", "MALFORMED_QUERY"),
        ("SELECT Id FROM Takedown_Request__c WHERE Name = 'bad \\q escape'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
        ("SELECT Id, (SELECT Id FROM Notes) FROM Account", "INVALID_TYPE"),
    ],
)
def test_bad_soql_is_refused_in_salesforce_shape(sf: Salesforce, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query(soql)
    assert err.value.content[0]["errorCode"] == code


def test_paging_at_2000_records(sf_emulator: SalesforceEmulator, sf: Salesforce) -> None:
    for i in range(2500):
        sf_emulator.add_record("Account", {"Name": f"Dealer {i:04d}"})
    first = sf.query("SELECT Id, Name FROM Account ORDER BY Name")
    assert first["totalSize"] == 2500
    assert first["done"] is False
    assert len(first["records"]) == PAGE_SIZE
    assert first["nextRecordsUrl"].startswith(f"/services/data/v{V}/query/")
    assert first["nextRecordsUrl"].endswith("-2000")
    sf_emulator.reset_counts()
    names = [r["Name"] for r in sf.query_all_iter("SELECT Name FROM Account ORDER BY Name")]
    assert names == [f"Dealer {i:04d}" for i in range(2500)]
    assert sf_emulator.count("GET", "/query") == 2


# ----- records and collections --------------------------------------------------------------
def test_patch_updates_the_record_and_its_modstamp(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    rid = sf_emulator.add_record(
        "Account", {"Name": "Acme", "SystemModstamp": "2020-01-01T00:00:00.000+0000"}
    )
    assert sf.Account.update(rid, {"TDA_Status__c": "Cancelled"}) == 204
    rec = sf.Account.get(rid)
    assert rec["TDA_Status__c"] == "Cancelled"
    assert rec["SystemModstamp"] > "2020-01-01T00:00:00.000+0000"
    assert rec["LastModifiedDate"] == rec["SystemModstamp"]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.update(rid, {"SystemModstamp": "2030-01-01T00:00:00.000+0000"})
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(id18("001Ag9999999999"))


def test_composite_update_reports_per_record(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    good = sf_emulator.add_record("Account", {"Name": "Acme"})
    locked = sf_emulator.add_record("Account", {"Name": "Locked"})
    sf_emulator.fail_update(locked, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Status is locked")
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "id": good, "TDA_Status__c": "Paused"},
            {"attributes": {"type": "Account"}, "id": locked, "TDA_Status__c": "Paused"},
            {"attributes": {"type": "Account"}, "id": id18("001Ag9999999999"), "Name": "X"},
        ],
    }
    results = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert results[0] == {"id": good, "success": True, "errors": []}
    assert results[1]["success"] is False
    assert results[1]["errors"][0]["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert results[2]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert sf_emulator.record(good)["TDA_Status__c"] == "Paused"
    assert "TDA_Status__c" not in sf_emulator.record(locked)

    body["allOrNone"] = True
    body["records"][0]["TDA_Status__c"] = "Cancelled"
    rolled = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf_emulator.record(good)["TDA_Status__c"] == "Paused"


def test_composite_refuses_more_than_200_records(sf: Salesforce) -> None:
    records = [
        {"attributes": {"type": "Account"}, "id": id18(f"001Ag{i:010d}")} for i in range(201)
    ]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.restful("composite/sobjects", method="PATCH", json={"records": records})
    assert err.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


# ----- limits -------------------------------------------------------------------------------
def test_every_rest_call_counts_and_is_reported(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].used == 1
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 15000, "Remaining": 14998}
    assert sf.api_usage["api-usage"] == (2, 15000)
    assert sf_emulator.api_usage == (2, 15000)


def test_request_limit_exceeded(sf_emulator: SalesforceEmulator, sf: Salesforce) -> None:
    sf_emulator.set_usage(15000)
    with pytest.raises(SalesforceRefusedRequest) as err:
        sf.query("SELECT Id FROM Account")
    assert err.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert sf_emulator.api_usage == (15000, 15000)


# ----- faults -------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 500, 503])
def test_http_faults_surface_as_general_errors(
    sf_emulator: SalesforceEmulator, sf: Salesforce, status: int
) -> None:
    sf_emulator.add_fault(str(status), path="/query")  # type: ignore[arg-type]
    with pytest.raises(SalesforceGeneralError) as err:
        sf.query("SELECT Id FROM Account")
    assert err.value.status == status
    assert isinstance(err.value.content, list)
    assert "errorCode" in err.value.content[0]
    assert sf.query("SELECT Id FROM Account")["done"] is True  # only once


def test_dropped_connection_is_a_connection_error(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    sf_emulator.add_fault("drop", path="/query")
    with pytest.raises(requests.ConnectionError):
        sf.query("SELECT Id FROM Account")


def test_faults_at_login(sf_emulator: SalesforceEmulator) -> None:
    sf_emulator.add_fault("503", path="/services/Soap/")
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        login(sf_emulator)
    assert err.value.code == 503


# ----- seed and snapshot --------------------------------------------------------------------
def test_snapshot_rebuilds_the_org(sf_emulator: SalesforceEmulator) -> None:
    rid = add_takedown(sf_emulator, client="Acme")
    copy = SalesforceEmulator()
    copy.seed(sf_emulator.snapshot())
    assert copy.snapshot() == sf_emulator.snapshot()
    assert copy.record(rid) == sf_emulator.record(rid)
    with copy:
        client = login(copy)
        rows = client.query(
            "SELECT Account__r.Name, (SELECT StepStatus FROM ProcessSteps) FROM Takedown_Request__c"
        )["records"]
    assert rows[0]["Account__r"]["Name"] == "Acme"
    assert len(rows[0]["ProcessSteps"]["records"]) == 3


def test_ids_are_18_characters_with_a_valid_checksum(sf_emulator: SalesforceEmulator) -> None:
    rid = sf_emulator.add_record("Account", {"Name": "Acme"})
    assert len(rid) == 18
    assert rid.startswith("001")
    assert id18(rid[:15]) == rid
    # Worked by hand: the capitals in each 5-character chunk ("001A0", "00000", "6Vm9r") set
    # bits 3, none and 1, which index "I", "A" and "C".
    assert id18("001A0000006Vm9r") == "001A0000006Vm9rIAC"


def test_datetimes_use_salesforces_format() -> None:
    when = datetime(2026, 11, 25, 16, 0, 0, 123456, tzinfo=UTC)
    assert sf_datetime(when) == "2026-11-25T16:00:00.123+0000"
