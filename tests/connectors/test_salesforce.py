"""The Salesforce connector against the emulator, through the real simple-salesforce."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.emulators.salesforce.server import SalesforceEmulator
from connectors.salesforce.connector import SalesforceConnector
from sync.config.model import Config
from sync.core import approval
from sync.core.domain import (
    Effect,
    EffectKind,
    OutcomeStatus,
    Platform,
    RequestType,
    TakedownRequest,
)
from sync.errors import (
    BudgetExceededError,
    ConfigError,
    CredentialError,
    FatalError,
    RetriableError,
)
from tests.support.fixtures.common import RecordingJournal
from tests.support.fixtures.salesforce import SF_USER, add_takedown, make_sf_connector

RUN_STARTED = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
COMPOSITE = r"/composite/sobjects$"
# Every run first checks the mapping: one describe of the request object, one of Account.
DESCRIBES = 2
SOAP_LOGIN = r"/services/Soap/u/"


def with_sf(cfg: Config, **changes: Any) -> Config:
    return dataclasses.replace(cfg, salesforce=dataclasses.replace(cfg.salesforce, **changes))


def fetch_all(conn: SalesforceConnector, open_ids: list[str] | None = None) -> dict[str, Any]:
    result = conn.fetch(since=None, open_ids=open_ids or [], run_started=RUN_STARTED, full=True)
    return {r.name: r for r in result.requests}


# ----- auth ---------------------------------------------------------------------------------
def test_password_login_is_lazy_and_happens_once(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator, sf_add: Any
) -> None:
    sf_add()
    assert sf_emulator.count() == 0  # nothing before the first use
    fetch_all(sf_connector)
    fetch_all(sf_connector)
    assert sf_emulator.count("POST", SOAP_LOGIN) == 1


def test_bad_password_is_a_clear_fatal_error(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.salesforce.password_env, "wrong")
    conn = make_sf_connector(config, sf_emulator)
    with pytest.raises(FatalError) as err:
        fetch_all(conn)
    assert "login failed (INVALID_LOGIN)" in str(err.value)
    assert "wrong" not in str(err.value)
    assert sf_emulator.count("POST", SOAP_LOGIN) == 1  # a bad password is not retried


def test_missing_secret_names_the_variable(
    config: Config, sf_emulator: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(config.salesforce.username_env, raising=False)
    with pytest.raises(CredentialError, match=config.salesforce.username_env):
        make_sf_connector(config, sf_emulator)  # before any I/O, as every other connector
    assert sf_emulator.calls == []


def write_key_pair(tmp_path: Path) -> tuple[Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "sf-jwt.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public.decode()


def test_jwt_bearer_login(
    config: Config,
    sf_emulator: SalesforceEmulator,
    sf_env: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_file, public = write_key_pair(tmp_path)
    sf_emulator.seed({"consumer_keys": {"3MVG9-sync-app": public}})
    monkeypatch.setenv("SF_CONSUMER_KEY", "3MVG9-sync-app")
    cfg = with_sf(config, auth="jwt", private_key_file=str(key_file))
    add_takedown(sf_emulator)
    conn = make_sf_connector(cfg, sf_emulator)
    assert list(fetch_all(conn)) == ["TR-00001"]
    assert sf_emulator.count("POST", "/services/oauth2/token") == 1
    assert sf_emulator.count("POST", SOAP_LOGIN) == 0

    # A key the org does not know: refused, and said so.
    (tmp_path / "other").mkdir()
    other, _ = write_key_pair(tmp_path / "other")
    bad = make_sf_connector(with_sf(cfg, private_key_file=str(other)), sf_emulator)
    with pytest.raises(FatalError, match="invalid_grant"):
        fetch_all(bad)


def test_session_id_login(
    config: Config, sf_emulator: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_SESSION_ID", sf_emulator.issue_token(SF_USER["username"]))
    cfg = with_sf(config, auth="session", instance_url="https://agency.my.salesforce.com")
    add_takedown(sf_emulator)
    conn = make_sf_connector(cfg, sf_emulator)
    (req,) = fetch_all(conn).values()
    assert req.link.startswith("https://agency.my.salesforce.com/lightning/r/Takedown_Request__c/")
    assert sf_emulator.count("POST") == 0  # no login at all

    # Expired mid-run: the connector renews once by re-reading the variable, then retries.
    sf_emulator.expire_sessions()
    monkeypatch.setenv("SF_SESSION_ID", sf_emulator.issue_token(SF_USER["username"]))
    assert list(fetch_all(conn)) == ["TR-00001"]
    assert sf_emulator.count("GET", "/query") == 3  # ok, 401, ok after renewal

    # Nothing fresher to renew with: a clear message says what to do, after one renewal only.
    sf_emulator.expire_sessions()
    with pytest.raises(FatalError, match="put a fresh session id in SF_SESSION_ID"):
        fetch_all(conn)
    assert sf_emulator.count("GET", "/query") == 5


def test_session_expiry_mid_run_is_renewed(
    sf_connector: SalesforceConnector,
    sf_emulator: SalesforceEmulator,
    sf_add: Any,
    journal: RecordingJournal,
) -> None:
    rid = sf_add()
    (req,) = fetch_all(sf_connector).values()
    sf_emulator.add_fault("expired", path=COMPOSITE)
    outcomes = list(sf_connector.apply([writeback(req)], journal))
    assert [o.status for o in outcomes] == [OutcomeStatus.APPLIED]
    assert sf_emulator.count("POST", SOAP_LOGIN) == 2
    assert sf_emulator.record(rid)["Sync_Status__c"] == "Synced"


# ----- fetch --------------------------------------------------------------------------------
def test_mapping_of_a_request(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator, config: Config
) -> None:
    rid = add_takedown(
        sf_emulator,
        client="Blue Ridge RV Center",
        type="Contract Pause",
        platform="ARI",
        effective="2026-12-10",
        credit=125.5,
        approvals=("Jeremy Bliesner", "Dustin Hunter", "Finance Team"),
        Services__c="TDA; SEO ;",
        Leaving_Platform__c=True,
        Product_Change_Notes__c="Pause all campaigns",
    )
    (req,) = fetch_all(sf_connector).values()
    assert req.id == rid
    assert req.account_id == sf_emulator.record(rid)["Account__c"]
    assert req.client_name == "Blue Ridge RV Center"
    assert req.type is RequestType.PAUSE
    assert req.platform is Platform.ARI
    assert req.effective_date == date(2026, 12, 10)
    assert req.approved is True
    assert req.credit_amount == Decimal("125.5")
    assert req.services == ("TDA", "SEO")
    assert req.leaving_platform is True
    assert req.product_change_notes == "Pause all campaigns"
    assert approval.judge(req, config.salesforce.approval) is None
    assert req.approved_at is not None
    assert req.modified_at is not None
    assert (
        req.link == f"https://agency.my.salesforce.com/lightning/r/Takedown_Request__c/{rid}/view"
    )


def test_unknown_values_keep_their_raw_text(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator
) -> None:
    add_takedown(sf_emulator, type="Downgrade", platform="XYZ", effective="next week")
    add_takedown(sf_emulator, effective=None)
    reqs = fetch_all(sf_connector)
    odd, empty = reqs["TR-00001"], reqs["TR-00002"]
    assert (odd.type, odd.raw_type) == (None, "Downgrade")
    assert (odd.platform, odd.raw_platform) == (None, "XYZ")
    assert (odd.effective_date, odd.raw_effective_date) == (None, "next week")
    assert (empty.effective_date, empty.raw_effective_date) == (None, "")


def test_one_query_returns_approved_and_open_requests(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator, config: Config
) -> None:
    approved = add_takedown(sf_emulator, client="Acme")
    withdrawn = add_takedown(sf_emulator, client="Zed Motors", status="Withdrawn")
    add_takedown(sf_emulator, client="Other", status="Pending")
    result = sf_connector.fetch(
        since=None, open_ids=[withdrawn], run_started=RUN_STARTED, full=True
    )
    by_id = {r.id: r for r in result.requests}
    assert set(by_id) == {approved, withdrawn}
    assert by_id[withdrawn].approved is False
    assert by_id[withdrawn].status == "Withdrawn"
    assert approval.judge(by_id[withdrawn], config.salesforce.approval) is None
    assert result.api_calls == DESCRIBES + 1
    assert sf_emulator.count("GET", "/query") == 1
    assert sf_emulator.count("GET", "/describe$") == DESCRIBES
    assert result.api_usage == (DESCRIBES + 1, 15000)
    assert result.full_reconcile is True


def test_open_id_gone_from_salesforce_is_a_finding(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator
) -> None:
    gone = "a0AAg0000000999"
    result = sf_connector.fetch(since=None, open_ids=[gone], run_started=RUN_STARTED, full=True)
    assert result.requests == []
    assert [(f.request_id, f.code) for f in result.findings] == [(gone, "not_in_salesforce")]


def test_many_open_ids_are_chunked(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator
) -> None:
    ids = [add_takedown(sf_emulator, status="Withdrawn", approvals=None) for _ in range(250)]
    result = sf_connector.fetch(since=None, open_ids=ids, run_started=RUN_STARTED, full=True)
    assert {r.id for r in result.requests} == set(ids)
    assert result.api_calls == DESCRIBES + 2  # IN lists of at most 200 ids
    assert result.findings == []


def test_paging_with_the_approval_subquery_is_200_a_page(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator
) -> None:
    account = sf_emulator.add_record("Account", {"Name": "Big Dealer Group"})
    for i in range(2500):
        sf_emulator.add_record(
            "Takedown_Request__c",
            {"Name": f"TR-{i:05d}", "Status__c": "Approved", "Account__c": account},
        )
    result = sf_connector.fetch(since=None, open_ids=[], run_started=RUN_STARTED, full=True)
    assert len({r.id for r in result.requests}) == 2500
    # The ProcessSteps subquery caps Salesforce's batch at 200 records: 13 pages, not 2.
    assert sf_emulator.count("GET", "/query") == 13
    assert result.api_calls == DESCRIBES + 13
    assert sf_emulator.count("GET", r"/query/\w+-200$") == 1


def test_watermark_with_a_late_commit(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator
) -> None:
    """A transaction that committed late (SystemModstamp just before the saved high-water mark)
    is still found thanks to the look-back; one older than the window is not re-read."""
    t0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    add_takedown(sf_emulator, client="Seen Before", modstamp=t0)
    first = sf_connector.fetch(since=None, open_ids=[], run_started=RUN_STARTED, full=True)
    assert first.high_water == t0

    late = add_takedown(sf_emulator, client="Late Commit", modstamp=t0 - timedelta(minutes=2))
    add_takedown(sf_emulator, client="Long Ago", modstamp=t0 - timedelta(hours=2))
    again = sf_connector.fetch(
        since=first.high_water, open_ids=[], run_started=RUN_STARTED, full=False
    )
    names = {r.client_name for r in again.requests}
    assert names == {"Seen Before", "Late Commit"}
    assert late in {r.id for r in again.requests}
    assert again.high_water == t0
    assert again.full_reconcile is False

    # Without the look-back the late commit would be missed: the window is what finds it.
    strict = make_sf_connector(with_sf(sf_connector._cfg, lookback_minutes=0), sf_emulator)
    missed = strict.fetch(since=first.high_water, open_ids=[], run_started=RUN_STARTED, full=False)
    assert late not in {r.id for r in missed.requests}


def test_high_water_is_capped_at_run_start(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator
) -> None:
    add_takedown(sf_emulator, modstamp=RUN_STARTED + timedelta(minutes=5))
    result = sf_connector.fetch(since=None, open_ids=[], run_started=RUN_STARTED, full=True)
    assert result.high_water == RUN_STARTED


def test_approval_chain_checked_through_fetch(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator, config: Config
) -> None:
    add_takedown(sf_emulator, client="Complete")
    add_takedown(sf_emulator, client="Credit No Finance", credit=250)
    add_takedown(sf_emulator, client="Backwards", approvals=("Dustin Hunter", "Jeremy Bliesner"))
    add_takedown(sf_emulator, client="Never Submitted", approvals=None)
    add_takedown(
        sf_emulator,
        client="Rejected Late",
        approvals=("Jeremy Bliesner", "Dustin Hunter", ("Rejected", "Finance Team")),
    )
    problems = {
        r.client_name: approval.judge(r, config.salesforce.approval)
        for r in fetch_all(sf_connector).values()
    }
    assert problems == {
        "Complete": None,
        "Credit No Finance": "Finance has not approved, but a credit of 250.00 is issued",
        "Backwards": "Dustin Hunter approved before Jeremy Bliesner",
        "Never Submitted": "no approval history",
        "Rejected Late": "rejected by Finance Team on 2026-11-20",
    }


def test_approval_from_fields(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None
) -> None:
    chain = dataclasses.replace(
        config.salesforce.approval,
        source="fields",
        fields={"first": "First_Approver__c", "second": "Second_Approver__c"},
    )
    conn = make_sf_connector(with_sf(config, approval=chain), sf_emulator)
    for name in ("First_Approver__c", "Second_Approver__c"):
        sf_emulator.add_field("Takedown_Request__c", name=name, type="string", length=121)
    add_takedown(
        sf_emulator,
        client="Ok",
        approvals=None,
        First_Approver__c="Jeremy Bliesner",
        Second_Approver__c="Dustin Hunter",
    )
    add_takedown(
        sf_emulator,
        client="Half",
        approvals=None,
        First_Approver__c="Jeremy Bliesner",
        Second_Approver__c=None,
    )
    problems = {r.client_name: approval.judge(r, chain) for r in fetch_all(conn).values()}
    assert problems == {"Ok": None, "Half": "Dustin Hunter (second approver) has not approved"}
    assert sf_emulator.count("GET", "/query") == 1


def test_soql_injection_in_config_is_escaped(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None
) -> None:
    # A text status field: a picklist would stop the run at the mapping check, before any query.
    sf_emulator.add_field("Takedown_Request__c", name="Status__c", type="string")
    add_takedown(sf_emulator, status="Approved")
    add_takedown(sf_emulator, status="Pending")
    cfg = with_sf(config, approved_status="Approved' OR Name != '")
    conn = make_sf_connector(cfg, sf_emulator)
    result = conn.fetch(since=None, open_ids=[], run_started=RUN_STARTED, full=True)
    assert result.requests == []
    assert result.api_calls == DESCRIBES + 1  # valid SOQL that simply matched nothing

    evil_id = make_sf_connector(config, sf_emulator).fetch(
        since=None, open_ids=["x') OR (Name != '"], run_started=RUN_STARTED, full=False
    )
    assert [r.status for r in evil_id.requests] == ["Approved"]


def test_field_name_that_is_not_an_api_name_is_a_config_error(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None
) -> None:
    fields = dataclasses.replace(config.salesforce.fields, status="Status__c FROM User --")
    conn = make_sf_connector(with_sf(config, fields=fields), sf_emulator)
    with pytest.raises(ConfigError, match="not a Salesforce API name"):
        fetch_all(conn)
    assert sf_emulator.count() == 0


def test_wrong_object_name_is_fatal_and_points_at_config(
    config: Config, sf_emulator: SalesforceEmulator, sf_env: None
) -> None:
    conn = make_sf_connector(with_sf(config, object="Takedown__c"), sf_emulator)
    with pytest.raises(
        FatalError,
        match=r"salesforce.object: the org has no object 'Takedown__c' "
        r"\(closest: Takedown_Request__c\)",
    ):
        fetch_all(conn)
    assert sf_emulator.count("GET", "/query") == 0


# ----- errors and budget --------------------------------------------------------------------
def test_transient_errors_are_retried(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator, sf_add: Any
) -> None:
    sf_add()
    sf_emulator.add_fault("503", path="/query")
    sf_emulator.add_fault("drop", path="/query")
    sf_emulator.add_fault("429", path="/query", retry_after=0)
    result = sf_connector.fetch(since=None, open_ids=[], run_started=RUN_STARTED, full=True)
    assert len(result.requests) == 1
    assert sf_connector._retry.retries == 3


def test_retries_are_bounded(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator
) -> None:
    sf_emulator.add_fault("500", path="/query", times=-1)
    with pytest.raises(RetriableError, match="HTTP 500"):
        fetch_all(sf_connector)
    assert sf_emulator.count("GET", "/query") == sf_connector._cfg.retry.max_attempts


def test_request_limit_exceeded_is_a_clear_fatal_error(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator
) -> None:
    sf_emulator.set_usage(15000)
    with pytest.raises(FatalError) as err:
        fetch_all(sf_connector)
    assert "API request limit is used up" in str(err.value)
    assert "REQUEST_LIMIT_EXCEEDED" in str(err.value)
    assert sf_emulator.count("GET") == 1  # the first call (a describe), not retried


def test_budget_share_stops_new_work(
    sf_connector: SalesforceConnector,
    sf_emulator: SalesforceEmulator,
    sf_add: Any,
    journal: RecordingJournal,
) -> None:
    sf_add()
    sf_emulator.set_usage(12500)  # 83% of 15,000, past the sandbox's 80%
    result = sf_connector.fetch(since=None, open_ids=[], run_started=RUN_STARTED, full=True)
    assert result.api_usage == (12500 + DESCRIBES + 1, 15000)
    outcomes = list(sf_connector.apply([writeback(r) for r in result.requests], journal))
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED]
    assert "api_budget_share" in outcomes[0].message
    assert sf_emulator.count("PATCH") == 0
    with pytest.raises(BudgetExceededError):
        fetch_all(sf_connector)


def test_secrets_never_reach_the_log(
    config: Config,
    sf_emulator: SalesforceEmulator,
    sf_env: None,
    caplog: pytest.LogCaptureFixture,
    journal: RecordingJournal,
) -> None:
    caplog.set_level(logging.DEBUG)
    add_takedown(sf_emulator)
    conn = make_sf_connector(config, sf_emulator)
    sf_emulator.add_fault("expired", path=COMPOSITE)
    reqs = fetch_all(conn)
    list(conn.apply([writeback(r) for r in reqs.values()], journal))
    text = caplog.text
    assert "logged in to Salesforce" in text
    assert SF_USER["password"] not in text
    assert SF_USER["security_token"] not in text
    assert all(token not in text for token in sf_emulator.tokens)


# ----- write-back ---------------------------------------------------------------------------
def writeback(req: TakedownRequest, *, status: str = "Synced", account_status: str = "") -> Effect:
    return Effect(
        request_id=req.id,
        kind=EffectKind.SALESFORCE_WRITEBACK,
        target="approval",
        not_before=date(2026, 11, 25),
        request=req,
        params={
            "sync_status": status,
            "sync_message": f"Done for {req.client_name}",
            "account_status": account_status,
        },
    )


@pytest.fixture
def many(
    sf_connector: SalesforceConnector, sf_emulator: SalesforceEmulator
) -> list[TakedownRequest]:
    """250 requests across 50 accounts."""
    accounts = [sf_emulator.add_record("Account", {"Name": f"Dealer {i:02d}"}) for i in range(50)]
    for i in range(250):
        sf_emulator.add_record(
            "Takedown_Request__c",
            {"Name": f"TR-{i:05d}", "Status__c": "Approved", "Account__c": accounts[i % 50]},
        )
    result = sf_connector.fetch(since=None, open_ids=[], run_started=RUN_STARTED, full=True)
    assert len(result.requests) == 250
    sf_emulator.reset_counts()
    return sorted(result.requests, key=lambda r: r.name)


def test_writeback_in_batches_of_200(
    sf_connector: SalesforceConnector,
    sf_emulator: SalesforceEmulator,
    many: list[TakedownRequest],
    journal: RecordingJournal,
) -> None:
    outcomes = list(sf_connector.apply([writeback(r) for r in many], journal))
    assert len(outcomes) == 250
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert {o.key for o in outcomes} == {writeback(r).key for r in many}
    assert sf_emulator.count("PATCH", COMPOSITE) == 2
    assert sf_emulator.count() == 2  # no per-record calls, no extra reads
    for r in many:
        rec = sf_emulator.record(r.id)
        assert rec["Sync_Status__c"] == "Synced"
        assert rec["Sync_Message__c"] == f"Done for {r.client_name}"


def test_writeback_sets_account_status(
    sf_connector: SalesforceConnector,
    sf_emulator: SalesforceEmulator,
    many: list[TakedownRequest],
    journal: RecordingJournal,
) -> None:
    # The first request of each account also sets the account's status: 300 records, 2 calls.
    effects = [
        writeback(r, account_status="Cancelled" if i < 50 else "") for i, r in enumerate(many)
    ]
    outcomes = list(sf_connector.apply(effects, journal))
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert sf_emulator.count("PATCH", COMPOSITE) == 2
    statuses = {a["Name"]: a.get("TDA_Status__c") for a in sf_emulator.records_of("Account")}
    assert set(statuses.values()) == {"Cancelled"}
    assert "account status set to 'Cancelled'" in outcomes[0].message

    # PATCH is idempotent: applying the same effects again (after a crash) changes nothing.
    before = {r.id: sf_emulator.record(r.id)["Sync_Status__c"] for r in many}
    again = list(sf_connector.apply(effects, journal))
    assert {o.status for o in again} == {OutcomeStatus.APPLIED}
    assert {r.id: sf_emulator.record(r.id)["Sync_Status__c"] for r in many} == before


def test_250_cancellations_with_their_accounts_stay_within_the_chunk_limit(
    sf_connector: SalesforceConnector,
    sf_emulator: SalesforceEmulator,
    journal: RecordingJournal,
) -> None:
    """Each write-back updates its request and its own account: 500 records. Salesforce takes
    at most 200 records and 10 type chunks a call; alternating request/account records made
    60 chunks out of 30 write-backs, and a real org refused the call. Grouped by object, each
    call is 2 chunks, and each outcome still belongs to its own records."""
    for i in range(250):
        add_takedown(sf_emulator, client=f"Dealer {i:03d}", approvals=None)
    reqs = sorted(fetch_all(sf_connector).values(), key=lambda r: r.name)
    assert len({r.account_id for r in reqs}) == 250
    locked = reqs[137]
    sf_emulator.fail_update(locked.account_id, "UNABLE_TO_LOCK_ROW", "record locked")
    bodies: list[list[str]] = []
    sf_emulator.on_request(
        lambda req: bodies.append([r["attributes"]["type"] for r in req.json()["records"]]),
        method="PATCH",
        path=COMPOSITE,
        times=-1,
    )
    effects = [writeback(r, account_status="Cancelled") for r in reqs]
    outcomes = {o.key: o for o in sf_connector.apply(effects, journal)}
    assert [len(b) for b in bodies] == [200, 200, 100]
    assert all(b == sorted(b, key=lambda t: t != "Takedown_Request__c") for b in bodies)
    failed = outcomes.pop(writeback(locked).key)
    assert failed.status is OutcomeStatus.FAILED
    assert f"Account {locked.account_id}: UNABLE_TO_LOCK_ROW: record locked" in failed.message
    assert {o.status for o in outcomes.values()} == {OutcomeStatus.APPLIED}
    for r in reqs:
        assert sf_emulator.record(r.id)["Sync_Status__c"] == "Synced"
        status = sf_emulator.record(r.account_id).get("TDA_Status__c")
        assert status == (None if r is locked else "Cancelled")


def test_writeback_failure_uses_salesforces_message(
    sf_connector: SalesforceConnector,
    sf_emulator: SalesforceEmulator,
    journal: RecordingJournal,
) -> None:
    ok = add_takedown(sf_emulator, client="Fine Dealer")
    locked = add_takedown(sf_emulator, client="Locked Dealer")
    reqs = {r.id: r for r in fetch_all(sf_connector).values()}
    sf_emulator.fail_update(
        reqs[locked].account_id, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Account is under review"
    )
    effects = [writeback(reqs[rid], account_status="Cancelled") for rid in (ok, locked)]
    outcomes = {o.key: o for o in sf_connector.apply(effects, journal)}
    assert outcomes[effects[0].key].status is OutcomeStatus.APPLIED
    failed = outcomes[effects[1].key]
    assert failed.status is OutcomeStatus.FAILED
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION: Account is under review" in failed.message
    assert reqs[locked].account_id in failed.message
    assert sf_emulator.count("PATCH", COMPOSITE) == 1


def test_writeback_batch_error_fails_that_batch_and_the_rest(
    sf_connector: SalesforceConnector,
    sf_emulator: SalesforceEmulator,
    many: list[TakedownRequest],
    journal: RecordingJournal,
) -> None:
    sf_emulator.set_usage(15000)
    outcomes = list(sf_connector.apply([writeback(r) for r in many], journal))
    assert len(outcomes) == 250
    assert {o.status for o in outcomes} == {OutcomeStatus.FAILED}
    assert "API request limit is used up" in outcomes[-1].message
    assert sf_emulator.count("PATCH", COMPOSITE) == 1


def test_transient_writeback_error_is_retried(
    sf_connector: SalesforceConnector,
    sf_emulator: SalesforceEmulator,
    sf_add: Any,
    journal: RecordingJournal,
) -> None:
    sf_add()
    (req,) = fetch_all(sf_connector).values()
    sf_emulator.add_fault("503", path=COMPOSITE)
    (outcome,) = sf_connector.apply([writeback(req)], journal)
    assert outcome.status is OutcomeStatus.APPLIED
    assert (outcome.attempts, outcome.retries) == (2, 1)


def test_other_effect_kinds_are_refused(
    sf_connector: SalesforceConnector, sf_add: Any, journal: RecordingJournal
) -> None:
    sf_add()
    (req,) = fetch_all(sf_connector).values()
    effect = dataclasses.replace(writeback(req), kind=EffectKind.PLANNER_ADD)
    (outcome,) = sf_connector.apply([effect], journal)
    assert outcome.status is OutcomeStatus.FAILED
