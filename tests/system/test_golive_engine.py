"""The cut-over and the read-only checks through the real connectors, on the small bundled
agency: a configured cut-over adopts, a later edit of an adopted request is reported once and
never acted on, a person can still ask for one, and a dry run reads each target back."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from sync.config.model import Config
from sync.core.domain import CheckState, EffectKind
from sync.engine.result import RunResult
from sync.state.adoption import AdoptionLedger
from sync.state.ledger import Ledger
from tests.support.fixtures.sandbox import SEEDED_ON, Agency

# The bundled agency's requests were approved the day before it was seeded.
CUTOVER = SEEDED_ON.isoformat()


def _with_cutover(agency: Agency) -> None:
    g = dataclasses.replace(agency.config.golive, approved_before=CUTOVER)
    agency.config = dataclasses.replace(agency.config, golive=g)


def _edit(agency: Agency, name: str, **fields: Any) -> str:
    em = agency.emulators["salesforce"]
    with em.lock:
        rec = next(r for r in em.records["Takedown_Request__c"].values() if r["Name"] == name)
        stamp = agency.clock.advance(seconds=1).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        rec.update(fields, SystemModstamp=stamp)
        return str(rec["Id"])


def _adopted(cfg: Config) -> dict[str, Any]:
    ledger = Ledger(cfg.state_path / "ledger.sqlite3")
    try:
        return dict(AdoptionLedger(ledger).adopted())
    finally:
        ledger.close()


def test_a_configured_cutover_adopts_and_acts_on_nothing(agency: Agency) -> None:
    _with_cutover(agency)
    result = agency.run(SEEDED_ON)
    assert result.fatal == ""
    assert result.plan.due == []
    assert agency.http_writes() == 0
    assert agency.outbox() == []
    assert any(f.code == "adopted_now" for f in result.plan.findings)
    assert len(_adopted(agency.config)) == result.adopted > 5


def test_an_adopted_request_withdrawn_later_is_reported_once_and_nothing_is_done(
    agency: Agency,
) -> None:
    _with_cutover(agency)
    agency.run(SEEDED_ON)
    _edit(agency, "TR-00001", Status__c="Withdrawn")
    # The daily full reconcile reads the adopted requests again.
    agency.clock.advance(hours=25)
    seen: RunResult = agency.run(SEEDED_ON)
    changed = [f for f in seen.plan.findings if f.code == "adopted_changed"]
    assert len(changed) == 1
    assert "from 'Approved' to 'Withdrawn'" in changed[0].message
    assert seen.plan.due == []
    agency.clock.advance(hours=25)
    again = agency.run(SEEDED_ON)
    assert not [f for f in again.plan.findings if f.code == "adopted_changed"]
    assert agency.http_writes() == 0


def test_a_new_approval_round_on_an_adopted_request_is_reported_not_acted_on(
    agency: Agency,
) -> None:
    _with_cutover(agency)
    agency.run(SEEDED_ON)
    rid = _edit(agency, "TR-00003")
    em = agency.emulators["salesforce"]
    when = agency.clock.advance(seconds=1)
    for who in ("Jeremy Bliesner", "Dustin Hunter"):
        when += timedelta(minutes=1)
        em.add_approval(rid, "Approved", who, at=when)
    result = agency.run(SEEDED_ON)
    changed = [f for f in result.plan.findings if f.code == "adopted_changed"]
    assert len(changed) == 1
    assert "approved again" in changed[0].message
    assert result.plan.due == []
    assert agency.http_writes() == 0


def test_a_person_can_still_have_the_sync_act_on_one_adopted_request(agency: Agency) -> None:
    _with_cutover(agency)
    agency.run(SEEDED_ON)
    result = agency.run(SEEDED_ON, only="TR-00005", include_adopted=True)
    assert {e.request.name for e in result.plan.due} == {"TR-00005"}
    assert all(str(o.status) == "applied" for o in result.outcomes.values())
    row = next(a for a in _adopted(agency.config).values() if a.label.startswith("TR-00005"))
    assert row.state == "released"
    # Later runs treat it as the sync's own; the other adopted requests stay untouched.
    later = agency.run(SEEDED_ON)
    assert later.plan.due == []


def test_a_dry_run_reads_each_target_back_people_s_work_is_already_done(agency: Agency) -> None:
    agency.run(SEEDED_ON)
    day = SEEDED_ON + timedelta(days=10)  # TR-00001's effective date: archive and removal due
    before = agency.run(day, dry_run=True, verify=True)
    keys = {e.key: e for e in before.plan.due if e.request.name == "TR-00001"}
    archive = next(
        k for k, e in keys.items() if e.kind is EffectKind.TRELLO_ARCHIVE and e.target == "tda"
    )
    remove = next(k for k, e in keys.items() if e.kind is EffectKind.TRACKER_REMOVE)
    assert before.checks[archive].state is CheckState.NOT_DONE
    assert before.checks[remove].state is CheckState.NOT_DONE
    # A person archives the client's cards by hand.
    em = agency.emulators["trello"]
    client = keys[archive].request.client_name
    with em.lock:
        for card in em._cards.values():
            if client.lower() in card.name.lower():
                card.closed = True
    after = agency.run(day, dry_run=True, verify=True)
    assert after.checks[archive].state is CheckState.DONE
    assert "already archived" in after.checks[archive].message
    assert after.checks[remove].state is CheckState.NOT_DONE
    emails = [k for k, c in after.checks.items() if c.state is CheckState.UNKNOWN]
    assert emails
    assert all(keys_e.system.value == "email" for keys_e in after.plan.due if keys_e.key in emails)
    assert agency.http_writes() > 0  # only the first, real run wrote
