"""The emulated org's schema, through the real simple-salesforce: describe in Salesforce's
shapes, and the errors a real org gives for unknown names, read-only fields, restricted
picklists, long strings, too many records or type chunks; and query paging as Salesforce pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from connectors.emulators.salesforce.server import SalesforceEmulator, id18
from connectors.http import build_session
from tests.support.fixtures.salesforce import SF_USER, add_takedown

V = "59.0"
TR = "Takedown_Request__c"
# Every key of a Field in a describe, as Salesforce sends it (simple-salesforce's own fixtures).
FIELD_KEYS = {
    "aggregatable", "aiPredictionField", "autoNumber", "byteLength", "calculated",
    "calculatedFormula", "cascadeDelete", "caseSensitive", "compoundFieldName", "controllerName",
    "createable", "custom", "defaultValue", "defaultValueFormula", "defaultedOnCreate",
    "dependentPicklist", "deprecatedAndHidden", "digits", "displayLocationInDecimal",
    "encrypted", "externalId", "extraTypeInfo", "filterable", "filteredLookupInfo",
    "formulaTreatNullNumberAsZero", "groupable", "highScaleNumber", "htmlFormatted", "idLookup",
    "inlineHelpText", "label", "length", "mask", "maskType", "name", "nameField",
    "namePointing", "nillable", "permissionable", "picklistValues", "polymorphicForeignKey",
    "precision", "queryByDistance", "referenceTargetField", "referenceTo", "relationshipName",
    "relationshipOrder", "restrictedDelete", "restrictedPicklist", "scale",
    "searchPrefilterable", "soapType", "sortable", "type", "unique", "updateable",
    "writeRequiresMasterRead",
}  # fmt: skip
GLOBAL_KEYS = {
    "activateable", "associateEntityType", "associateParentEntity", "createable", "custom",
    "customSetting", "deepCloneable", "deletable", "deprecatedAndHidden", "feedEnabled",
    "hasSubtypes", "isInterface", "isSubtype", "keyPrefix", "label", "labelPlural", "layoutable",
    "mergeable", "mruEnabled", "name", "queryable", "replicateable", "retrieveable",
    "searchable", "triggerable", "undeletable", "updateable", "urls",
}  # fmt: skip


@pytest.fixture
def sf(sf_emulator: SalesforceEmulator) -> Iterator[Salesforce]:
    client = Salesforce(
        username=SF_USER["username"],
        password=SF_USER["password"],
        security_token=SF_USER["security_token"],
        session=build_session({"salesforce.com": sf_emulator.base_url}),
        version=V,
    )
    yield client
    client.session.close()


def fields_of(desc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in desc["fields"]}


# ----- describe -----------------------------------------------------------------------------
def test_describe_global_lists_every_object_in_salesforces_shape(sf: Salesforce) -> None:
    result = sf.describe()
    assert result is not None
    assert result["encoding"] == "UTF-8"
    assert result["maxBatchSize"] == 200
    by_name = {o["name"]: o for o in result["sobjects"]}
    assert {TR, "Account", "User", "ProcessInstance", "ProcessInstanceStep"} <= set(by_name)
    request = by_name[TR]
    assert set(request) == GLOBAL_KEYS
    assert request["custom"] is True
    assert request["label"] == "Takedown Request"
    assert request["urls"]["describe"] == f"/services/data/v{V}/sobjects/{TR}/describe"
    assert by_name["Account"]["custom"] is False
    assert by_name["ProcessInstanceHistory"]["queryable"] is False


def test_describe_gives_fields_with_types_labels_lengths_and_picklists(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    desc = getattr(sf, TR).describe()
    assert desc["name"] == TR
    assert desc["keyPrefix"] == "a0T"
    assert add_takedown(sf_emulator).startswith("a0T")  # new records carry the key prefix
    fields = fields_of(desc)
    assert all(set(f) == FIELD_KEYS for f in fields.values())
    status = fields["Status__c"]
    assert (status["type"], status["label"], status["restrictedPicklist"]) == (
        "picklist",
        "Status",
        True,
    )
    assert "Approved" in [v["value"] for v in status["picklistValues"]]
    assert set(status["picklistValues"][0]) == {
        "active", "defaultValue", "label", "validFor", "value"
    }  # fmt: skip
    assert fields["Effective_Date__c"]["type"] == "date"
    assert fields["Credit_Amount__c"]["type"] == "currency"
    assert fields["Leaving_Platform__c"]["type"] == "boolean"
    assert fields["Leaving_Platform__c"]["nillable"] is False
    account = fields["Account__c"]
    assert (account["type"], account["referenceTo"], account["relationshipName"]) == (
        "reference",
        ["Account"],
        "Account__r",
    )
    notes = fields["Product_Change_Notes__c"]
    assert (notes["type"], notes["length"], notes["extraTypeInfo"]) == (
        "textarea",
        32768,
        "plaintextarea",
    )
    assert fields["Id"]["updateable"] is False
    assert fields["SystemModstamp"]["updateable"] is False
    assert fields["Name"]["autoNumber"] is True
    assert fields["Sync_Status__c"]["updateable"] is True
    children = {c["relationshipName"]: c for c in desc["childRelationships"]}
    assert children["ProcessSteps"]["childSObject"] == "ProcessInstanceHistory"
    assert sf.Account.metadata()["objectDescribe"]["name"] == "Account"


def test_a_seeded_schema_reshapes_a_field_and_survives_a_snapshot(
    sf_emulator: SalesforceEmulator,
) -> None:
    sf_emulator.seed(
        {"schema": {TR: {"fields": [{"name": "Sync_Message__c", "type": "string", "length": 40}]}}}
    )
    copy = SalesforceEmulator()
    copy.seed(sf_emulator.snapshot())
    message = copy.schema.field(TR, "sync_message__c")
    assert message is not None
    assert (message["type"], message["length"]) == ("string", 40)
    assert copy.schema.field(TR, "Status__c") is not None  # the rest of the default is kept


def test_describe_of_an_unknown_object_is_not_found(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Nope__c.describe()
    assert err.value.content[0]["errorCode"] == "NOT_FOUND"


def test_seeding_a_field_the_schema_lacks_is_refused(sf_emulator: SalesforceEmulator) -> None:
    with pytest.raises(ValueError, match="Stauts__c"):
        sf_emulator.add_record(TR, {"Stauts__c": "Approved"})


# ----- queries ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("soql", "code", "says"),
    [
        (
            f"SELECT Id, Stauts__c FROM {TR}",
            "INVALID_FIELD",
            f"No such column 'Stauts__c' on entity '{TR}'",
        ),
        (
            f"SELECT Id, Reasn__c FROM {TR}",
            "INVALID_FIELD",
            f"No such column 'Reasn__c' on entity '{TR}'",
        ),
        (
            f"SELECT Id FROM {TR} WHERE Reasn__c = 'x'",
            "INVALID_FIELD",
            f"No such column 'Reasn__c' on entity '{TR}'",
        ),
        (
            f"SELECT Id, Acount__r.Name FROM {TR}",
            "INVALID_FIELD",
            "Didn't understand relationship 'Acount__r' in field path",
        ),
        (
            f"SELECT Id, Account__r.Nmae FROM {TR}",
            "INVALID_FIELD",
            "No such column 'Nmae' on entity 'Account'",
        ),
        (
            f"SELECT Id, (SELECT Id, Bogus FROM ProcessSteps) FROM {TR}",
            "INVALID_FIELD",
            "No such column 'Bogus' on entity 'ProcessInstanceHistory'",
        ),
        (f"SELECT Id FROM {TR} ORDER BY Nope__c", "INVALID_FIELD", "No such column 'Nope__c'"),
        (
            f"SELECT Id FROM {TR} WHERE Product_Change_Notes__c = 'x'",
            "INVALID_FIELD",
            "field 'Product_Change_Notes__c' can not be filtered in a query call",
        ),
        (
            f"SELECT Id FROM {TR} ORDER BY Sync_Message__c",
            "INVALID_FIELD",
            "field 'Sync_Message__c' can not be sorted in a query call",
        ),
        ("SELECT Id FROM Takedown__c", "INVALID_TYPE", "sObject type 'Takedown__c' is not"),
        (f"SELECT Id, (SELECT Id FROM Notes) FROM {TR}", "INVALID_TYPE", "relationship 'Notes'"),
        (f"SELECT Id {TR}", "MALFORMED_QUERY", "unexpected token"),
    ],
)
def test_unknown_names_are_refused_as_salesforce_refuses_them(
    sf: Salesforce, soql: str, code: str, says: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query(soql)
    assert err.value.status == 400
    (item,) = err.value.content
    assert item["errorCode"] == code
    assert says in item["message"]


def test_a_field_error_points_at_the_column(sf: Salesforce) -> None:
    soql = f"SELECT Id, Stauts__c FROM {TR}"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query(soql)
    message = err.value.content[0]["message"]
    assert message.startswith(f"\n{soql}\n           ^\nERROR at Row:1:Column:12\nNo such column")
    assert "Please reference your WSDL or the describe call" in message


def test_a_malformed_query_points_at_the_token(sf: Salesforce) -> None:
    soql = f"SELECT Id FROM {TR} WHERE Name = 'a' AND Name = 'b' OR Name = 'c'"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query(soql)
    col = soql.index(" OR ") + 2  # 1-based, at the O
    assert col == 68
    assert err.value.content == [
        {
            "message": f"\n{soql}\n{' ' * (col - 1)}^\nERROR at Row:1:Column:68\n"
            "unexpected token: 'OR'",
            "errorCode": "MALFORMED_QUERY",
        }
    ]


def test_names_ignore_case_and_answer_in_the_schemas_spelling(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    add_takedown(sf_emulator, client="Acme")
    (row,) = sf.query(f"SELECT id, status__c, account__r.name FROM {TR}")["records"]
    assert row["Status__c"] == "Approved"
    assert row["Account__r"]["Name"] == "Acme"
    assert "Id" in row


def test_paging_is_2000_plain_200_with_a_subquery_or_long_text(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    account = sf_emulator.add_record("Account", {"Name": "Big Dealer Group"})
    for _ in range(2100):
        sf_emulator.add_record(TR, {"Status__c": "Approved", "Account__c": account})
    sf_emulator.add_field(TR, name="Notes_2__c", type="textarea", length=32768)
    plain = sf.query(f"SELECT Id, Product_Change_Notes__c FROM {TR}")  # one long text field
    child = sf.query(f"SELECT Id, (SELECT Id FROM ProcessSteps) FROM {TR}")
    long_text = sf.query(f"SELECT Id, Product_Change_Notes__c, Notes_2__c FROM {TR}")
    assert [len(r["records"]) for r in (plain, child, long_text)] == [2000, 200, 200]
    assert child["nextRecordsUrl"].endswith("-200")
    sf_emulator.reset_counts()
    assert (
        len(list(sf.query_all_iter(f"SELECT Id, (SELECT Id FROM ProcessSteps) FROM {TR}"))) == 2100
    )
    assert sf_emulator.count("GET", "/query") == 11
    # The Sforce-Query-Options header asks for a batch size between 200 and 2,000.
    asked = sf.session.get(
        f"{sf.base_url}query/",
        params={"q": f"SELECT Id FROM {TR}"},
        headers={**sf.headers, "Sforce-Query-Options": "batchSize=500"},
    ).json()
    assert len(asked["records"]) == 500


# ----- writes -------------------------------------------------------------------------------
def test_single_record_writes_are_checked_against_the_schema(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    rid = add_takedown(sf_emulator)
    request = getattr(sf, TR)
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        request.update(rid, {"Sync_Statsu__c": "Synced"})
    assert unknown.value.content == [
        {
            "message": f"No such column 'Sync_Statsu__c' on sobject of type {TR}",
            "errorCode": "INVALID_FIELD",
        }
    ]
    cases: list[tuple[dict[str, Any], str, list[str], str]] = [
        ({"Name": "TR-99999"}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["Name"], "Unable to create"),
        (
            {"Sync_Status__c": "Done"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["Sync_Status__c"],
            "Sync Status: bad value for restricted picklist field: Done",
        ),
        (
            {"Reason__c": "x" * 256},
            "STRING_TOO_LONG",
            ["Reason__c"],
            "Reason: data value too large: " + "x" * 256 + " (max length=255)",
        ),
    ]
    for values, code, fields, message in cases:
        with pytest.raises(SalesforceMalformedRequest) as err:
            request.update(rid, values)
        (item,) = err.value.content
        assert (item["errorCode"], item["fields"]) == (code, fields)
        assert item["message"].startswith(message)
    assert sf_emulator.record(rid)["Sync_Status__c"] is None  # nothing was written
    assert request.update(rid, {"sync_status__c": "Synced"}) == 204
    assert sf_emulator.record(rid)["Sync_Status__c"] == "Synced"


def test_create_checks_required_fields_and_answers_the_new_id(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    created = sf.Account.create({"Name": "New Dealer", "TDA_Status__c": "Active"})
    assert created["success"] is True
    assert sf_emulator.record(created["id"])["Name"] == "New Dealer"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.create({"TDA_Status__c": "Active"})
    assert err.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert err.value.content[0]["fields"] == ["Name"]


def collection(records: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    return {
        "allOrNone": False,
        "records": [{"attributes": {"type": t}, "id": i, **v} for t, i, v in records],
    }


def test_collections_report_value_errors_per_record_with_fields(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    rid = add_takedown(sf_emulator)
    account = sf_emulator.record(rid)["Account__c"]
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json=collection(
            [
                (TR, rid, {"Sync_Status__c": "Synced", "Sync_Message__c": "ok"}),
                ("Account", account, {"TDA_Status__c": "Gone"}),
                ("Account", account, {"SystemModstamp": "2030-01-01T00:00:00.000+0000"}),
            ]
        ),
    )
    assert results[0] == {"id": rid, "success": True, "errors": []}
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "message": "TDA Status: bad value for restricted picklist field: Gone",
                "fields": ["TDA_Status__c"],
            }
        ],
    }
    assert results[2]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert results[2]["errors"][0]["fields"] == ["SystemModstamp"]


def test_a_collection_naming_an_unknown_field_is_refused_whole(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    rid = add_takedown(sf_emulator)
    other = add_takedown(sf_emulator, client="Other")
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.restful(
            "composite/sobjects",
            method="PATCH",
            json=collection(
                [(TR, other, {"Sync_Status__c": "Synced"}), (TR, rid, {"Sync_Statsu__c": "X"})]
            ),
        )
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Sync_Statsu__c' on sobject of type" in err.value.content[0]["message"]
    assert sf_emulator.record(other)["Sync_Status__c"] is None  # nothing was saved


def test_collections_refuse_more_than_10_type_chunks(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    ids = [add_takedown(sf_emulator, client=f"Dealer {i}") for i in range(6)]
    accounts = [sf_emulator.record(r)["Account__c"] for r in ids]
    alternating = [
        item
        for rid, acc in zip(ids, accounts, strict=True)
        for item in ((TR, rid, {"Sync_Status__c": "Synced"}), ("Account", acc, {}))
    ]  # 12 chunks
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.restful("composite/sobjects", method="PATCH", json=collection(alternating))
    assert err.value.content == [
        {
            "message": "Cannot have more than 10 chunks in a single operation. Please rearrange "
            "the data to reduce chunking.",
            "errorCode": "INVALID_BATCH_REQUEST",
        }
    ]
    assert all(sf_emulator.record(r)["Sync_Status__c"] is None for r in ids)
    grouped = sorted(alternating, key=lambda item: item[0] != TR)  # 2 chunks
    results = sf.restful("composite/sobjects", method="PATCH", json=collection(grouped))
    assert all(r["success"] for r in results)
    over = [("Account", id18(f"001Ag{i:010d}"), {}) for i in range(201)]
    with pytest.raises(SalesforceMalformedRequest) as limit:
        sf.restful("composite/sobjects", method="PATCH", json=collection(over))
    assert limit.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


# ----- what the emulator does not model -----------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", f"sobjects/Account/{id18('001Ag0000000001')}"),
        ("GET", "sobjects/Account/describe/layouts"),
        ("POST", "composite/tree/Account"),
        ("GET", "search"),
    ],
)
def test_what_is_not_modelled_says_so(sf: Salesforce, method: str, path: str) -> None:
    with pytest.raises(SalesforceGeneralError) as err:
        sf.restful(path, method=method)
    assert err.value.status == 501
    assert "not modelled by the emulator" in err.value.content[0]["message"]


@pytest.mark.parametrize(
    "soql",
    [
        f"SELECT COUNT() FROM {TR}",
        f"SELECT Status__c, COUNT(Id) FROM {TR} GROUP BY Status__c",
        f"SELECT Id FROM {TR} WHERE CreatedDate = LAST_N_DAYS:7",
        f"SELECT Id FROM {TR} WHERE CreatedDate > TODAY",
        f"SELECT Id FROM {TR} WHERE Services__c INCLUDES ('SEO')",
        f"SELECT Id FROM {TR} WHERE Account__c IN (SELECT Id FROM Account)",
        f"SELECT Id FROM {TR} WITH SECURITY_ENFORCED",
        f"SELECT Id FROM {TR} LIMIT 1 FOR UPDATE",
        f"SELECT FIELDS(ALL) FROM {TR} LIMIT 200",
    ],
)
def test_valid_soql_outside_the_subset_is_not_modelled_not_malformed(
    sf: Salesforce, soql: str
) -> None:
    with pytest.raises(SalesforceGeneralError) as err:
        sf.query(soql)
    assert err.value.status == 501
    assert "not modelled by the emulator" in err.value.content[0]["message"]


def test_querying_approval_objects_directly_is_not_modelled(sf: Salesforce) -> None:
    with pytest.raises(SalesforceGeneralError) as err:
        sf.query("SELECT Id FROM ProcessInstance")
    assert "not modelled by the emulator" in err.value.content[0]["message"]


def test_every_answer_carries_the_limit_header(
    sf_emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    for path in ("sobjects", f"sobjects/{TR}/describe", "nothing/here"):
        resp = requests.get(
            f"{sf_emulator.base_url}/services/data/v{V}/{path}",
            headers={"Authorization": f"Bearer {sf.session_id}"},
            timeout=5,
        )
        assert resp.headers["Sforce-Limit-Info"].startswith("api-usage=")
        assert resp.headers["Content-Type"] == "application/json;charset=UTF-8"
