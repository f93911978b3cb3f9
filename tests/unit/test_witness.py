"""The ledger's witnesses: Salesforce's sync status proves what the sync already did."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

from connectors.salesforce.connector import org_id_of_session
from sync.core.domain import EffectState
from sync.core.witness import NO_RECORD, gaps, stop_reason
from sync.state.identity import Identity, claim_identity, mismatch, read_identity
from tests.support.fixtures.google import make_request

A = EffectState.APPLIED
P = EffectState.PLANNED


def test_a_request_the_sync_synced_but_the_ledger_never_heard_of_is_a_gap() -> None:
    req = make_request(1, sync_status="Synced")
    found = gaps([req], {}, adopted=())
    assert [(g.request_id, g.name, g.why) for g in found] == [(req.id, "TR-00001", NO_RECORD)]


def test_no_sync_status_or_a_persons_own_status_is_no_witness() -> None:
    reqs = [make_request(1), make_request(2, sync_status="Checked by Dana")]
    assert gaps(reqs, {}, adopted=()) == []


def test_an_adopted_request_carries_no_effects_and_is_no_gap() -> None:
    req = make_request(1, sync_status="Offboarded")
    assert gaps([req], {}, adopted={req.id}) == []


def test_offboarded_while_the_ledger_still_owes_the_removal_is_an_old_ledger() -> None:
    req = make_request(1, sync_status="Offboarded")
    states = {
        f"{req.id}/simplifi_notice/simplifi": A,
        f"{req.id}/salesforce_writeback/approval": A,
        f"{req.id}/tracker_remove/ds_tracker": P,
    }
    (gap,) = gaps([req], states, adopted=())
    assert "tracker_remove/ds_tracker (planned)" in gap.why


def test_synced_while_an_on_approval_email_is_owed_is_an_old_ledger_of_any_generation() -> None:
    req = make_request(1, sync_status="Synced")
    states = {f"{req.id}/simplifi_notice/simplifi@g2": EffectState.SENDING}
    (gap,) = gaps([req], states, adopted=())
    assert "simplifi_notice/simplifi (sending)" in gap.why


def test_a_kill_that_lost_only_the_writebacks_commit_is_no_gap() -> None:
    """The write-back runs only once what it reports is final: losing its own commit leaves
    the ledger owing nothing the status proves."""
    req = make_request(1, sync_status="Synced - offboarding scheduled")
    states = {
        f"{req.id}/simplifi_notice/simplifi": A,
        f"{req.id}/manager_digest/tda_manager": A,
        f"{req.id}/salesforce_writeback/approval": P,
        f"{req.id}/tracker_remove/ds_tracker": P,
        f"{req.id}/reminder/tda_team:1d": P,
    }
    assert gaps([req], states, adopted=()) == []


def test_the_stop_names_the_ledger_the_requests_and_the_recoveries() -> None:
    reqs = [make_request(n, sync_status="Synced") for n in range(1, 13)]
    text = stop_reason(gaps(reqs, {}, adopted=()), "/state/ledger.sqlite3")
    assert "/state/ledger.sqlite3" in text
    assert "12 request(s)" in text
    assert "and 2 more" in text
    assert "TR-00011" not in text
    assert "Restore the newest copy" in text
    assert "`python -m sync adopt --only TR-00001`" in text


def test_the_org_id_is_the_session_ids_prefix() -> None:
    assert org_id_of_session("00D5g000004AgcyEAC!AQ4AQFfs.x") == "00D5g000004Agcy"
    assert org_id_of_session("00D5g000004Agcy!AQ4AQ") == "00D5g000004Agcy"
    assert org_id_of_session("not-a-session") == ""


def test_the_first_identity_claimed_stays_and_another_org_is_refused() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    assert read_identity(db) is None  # a ledger from before the table
    here = Identity("00D5g000004Agcy", "Takedown_Request__c")
    claim_identity(db, here, "2026-11-25T15:00:00+00:00")
    claim_identity(db, replace(here, org_id="00D000000000001"), "2026-11-26T15:00:00+00:00")
    assert read_identity(db) == here
    assert mismatch(read_identity(db), here, "L") == ""
    other = mismatch(read_identity(db), replace(here, org_id="00D000000000001"), "L")
    assert "belongs to another deployment" in other
    assert "00D5g000004Agcy" in other
    assert "object Takedown_Request__c" in mismatch(here, replace(here, object="Req__c"), "L")
    # An org id nobody knows (a source that cannot tell) is not a mismatch.
    assert mismatch(here, replace(here, org_id=""), "L") == ""
