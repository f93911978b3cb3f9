"""Salesforce's main flows, pinned as recorded HTTP: login, poll, approval check, write-back.

Replayed from cassettes/salesforce/ (no emulator, no network); recorded from the Salesforce
emulator when a cassette is missing, or from a real org with `--record-mode=rewrite` (see
tests/support/cassette_plugin.py). Every test reads the same org: two approved Takedown
Requests, one through the whole approval chain and one approved by the first approver only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from vcr.cassette import Cassette

from connectors.emulators.salesforce.server import SalesforceEmulator
from connectors.salesforce.connector import SalesforceConnector
from sync.config.model import ApprovalChain, Config
from sync.core import approval
from sync.core.domain import Effect, EffectKind, OutcomeStatus, TakedownRequest
from sync.core.writeback_texts import writeback_texts
from tests.support.cassette_plugin import CassetteRun, Mode
from tests.support.fixtures.common import RecordingJournal
from tests.support.fixtures.salesforce import ROUTES_HOST, add_takedown, sf_seed

pytestmark = pytest.mark.cassette

# The emulator's clock while recording (SystemModstamp, CreatedDate): fixed, so cassettes are
# the same each time they are recorded.
RECORDED_AT = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
RUN_STARTED = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
COMPLETE = "Lone Star Powersports"  # approved by Jeremy Bliesner, then Dustin Hunter
INCOMPLETE = "Half Approved Outfitters"  # approved by Jeremy Bliesner only


@dataclass
class SalesforceWorld:
    connector: SalesforceConnector
    emulator: SalesforceEmulator | None  # only while recording from the emulator
    chain: ApprovalChain  # who must have approved, for the core's judgement

    def poll(self) -> dict[str, TakedownRequest]:
        """A full poll (the daily reconcile): every approved request, by client name."""
        result = self.connector.fetch(since=None, open_ids=[], run_started=RUN_STARTED, full=True)
        assert result.api_calls == 3  # the mapping check (2 describes), one query with history
        return {r.client_name: r for r in result.requests}


@pytest.fixture
def salesforce(
    cassette_run: CassetteRun, cassette: Cassette, config: Config
) -> Iterator[SalesforceWorld]:
    emulator = None
    if cassette_run.mode is Mode.EMULATORS:
        emulator = SalesforceEmulator(clock=lambda: RECORDED_AT)
        emulator.seed(sf_seed())
        emulator.start()
        add_takedown(emulator, client=COMPLETE)
        add_takedown(emulator, client=INCOMPLETE, approvals=("Jeremy Bliesner",))
    routes = {ROUTES_HOST: emulator.base_url} if emulator else None
    configured = cassette_run.configure(config)
    connector = SalesforceConnector(
        configured,
        writeback_texts=writeback_texts(configured),
        routes=cassette_run.routes(routes),
        retry=cassette_run.retry(),
    )
    try:
        yield SalesforceWorld(connector, emulator, config.salesforce.approval)
    finally:
        connector.close()
        if emulator is not None:
            emulator.stop()


def writeback(req: TakedownRequest) -> Effect:
    return Effect(
        request_id=req.id,
        kind=EffectKind.SALESFORCE_WRITEBACK,
        target="approval",
        not_before=date(2026, 11, 25),
        request=req,
        params={
            "sync_status": "Synced",
            "sync_message": f"Offboarded {req.client_name}",
            "account_status": "Cancelled",
        },
    )


def soql_of(cassette: Cassette) -> list[str]:
    return [
        parse_qs(urlsplit(r.uri).query)["q"][0]
        for r in cassette.requests
        if r.method == "GET" and urlsplit(r.uri).path.endswith("/query/")
    ]


@pytest.mark.replay_via_routes
class TestLogin:
    def test_password_login_then_read_only_check(
        self, salesforce: SalesforceWorld, cassette: Cassette
    ) -> None:
        problems = salesforce.connector.check()
        assert all(p.startswith("note:") for p in problems), problems
        logins = [r for r in cassette.requests if "/services/Soap/u/" in r.uri]
        assert [r.method for r in logins] == ["POST"]  # one login, then the session is reused
        described = [urlsplit(r.uri).path.rsplit("/", 2)[-2] for r in cassette.requests
                     if urlsplit(r.uri).path.endswith("/describe")]  # fmt: skip
        assert described == ["Takedown_Request__c", "Account"]  # the mapping, field by field
        assert len(soql_of(cassette)) == 1  # then one request, as the poll reads it


class TestPoll:
    def test_poll_reads_approved_requests_with_their_approval_history(
        self, salesforce: SalesforceWorld, cassette: Cassette
    ) -> None:
        req = salesforce.poll()[COMPLETE]
        assert req.approved
        assert approval.judge(req, salesforce.chain) is None
        assert req.approved_at is not None
        assert req.type is not None
        assert req.type.value == "cancellation"
        assert req.link.endswith(f"/Takedown_Request__c/{req.id}/view")
        (soql,) = soql_of(cassette)
        assert "(SELECT Id, StepStatus, ActorId, Actor.Name, CreatedDate, Comments " in soql
        assert "FROM ProcessSteps ORDER BY CreatedDate)" in soql


class TestApprovalCheck:
    def test_incomplete_chain_is_reported_not_acted_on(
        self, salesforce: SalesforceWorld, cassette: Cassette
    ) -> None:
        req = salesforce.poll()[INCOMPLETE]
        assert req.approved  # the status says so ...
        # ... the history, parsed by the connector and judged by the core, does not
        assert approval.judge(req, salesforce.chain) == (
            "Dustin Hunter (second approver) has not approved"
        )


class TestWriteBack:
    def test_writeback_patches_the_request_and_its_account_in_one_call(
        self, salesforce: SalesforceWorld, cassette: Cassette, journal: RecordingJournal
    ) -> None:
        req = salesforce.poll()[COMPLETE]
        (outcome,) = salesforce.connector.apply([writeback(req)], journal)
        assert outcome.status is OutcomeStatus.APPLIED, outcome.message
        (patch,) = [r for r in cassette.requests if r.method == "PATCH"]
        assert urlsplit(patch.uri).path.endswith("/composite/sobjects")
        body = json.loads(patch.body)
        assert body["allOrNone"] is False
        assert [(r["attributes"]["type"], r["id"]) for r in body["records"]] == [
            ("Takedown_Request__c", req.id),
            ("Account", req.account_id),
        ]
        assert body["records"][0]["Sync_Status__c"] == "Synced"
        assert body["records"][1]["TDA_Status__c"] == "Cancelled"
