"""The planner, rule by rule (the README's effects table), with no I/O and no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from sync.config.model import ApprovalChain
from sync.core.domain import (
    ApprovalStep,
    EffectKind,
    EffectState,
    Platform,
    RequestType,
    TakedownRequest,
    effect_key,
)
from sync.core.effects import effects_for
from sync.core.planner import plan
from sync.core.rules import PlanRules
from sync.core.wording import settle_writeback

TODAY = date(2026, 11, 25)
RULES = PlanRules()
K = EffectKind


def req(**kw: object) -> TakedownRequest:
    base: dict[str, object] = {
        "id": "a0R000000000001",
        "name": "TR-0001",
        "account_id": "001000000000001",
        "client_name": "Acme Motors",
        "type": RequestType.CANCELLATION,
        "raw_type": "Cancellation",
        "status": "Approved",
        "approved": True,
        "effective_date": date(2026, 12, 15),
        "raw_effective_date": "2026-12-15",
        "reason": "reducing marketing budget",
        "platform": Platform.DS,
        "raw_platform": "DS",
        "approved_at": datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
    }
    base.update(kw)
    return TakedownRequest(**base)  # type: ignore[arg-type]


def kinds(effects: list) -> set[tuple[EffectKind, str]]:  # type: ignore[type-arg]
    return {(e.kind, e.target) for e in effects}


class TestEffectsTable:
    def test_cancellation_causes_every_offboarding_effect(self) -> None:
        got = kinds(effects_for(req(), RULES, TODAY))
        assert got == {
            (K.PLANNER_ADD, "planner"),
            (K.TRACKER_STATUS, "ds_tracker"),
            (K.TRACKER_REMOVE, "ds_tracker"),
            (K.OFFBOARDING_ADD, "offboarding"),
            (K.TRELLO_ARCHIVE, "tda"),
            (K.TRELLO_ARCHIVE, "design"),
            (K.SIMPLIFI_NOTICE, "simplifi"),
            (K.MANAGER_DIGEST, "tda_manager"),
            (K.REMINDER, "tda_team:7d"),
            (K.REMINDER, "tda_team:1d"),
            (K.SALESFORCE_WRITEBACK, "approval"),
            (K.SALESFORCE_WRITEBACK, "offboarded"),
        }

    def test_pause_never_offboards(self) -> None:
        got = kinds(effects_for(req(type=RequestType.PAUSE), RULES, TODAY))
        assert got == {
            (K.PLANNER_ADD, "planner"),
            (K.TRACKER_STATUS, "ds_tracker"),
            (K.MANAGER_DIGEST, "tda_manager"),
            (K.REMINDER, "tda_team:7d"),
            (K.REMINDER, "tda_team:1d"),
            (K.SALESFORCE_WRITEBACK, "approval"),
        }
        offboarding = {K.TRACKER_REMOVE, K.TRELLO_ARCHIVE, K.SIMPLIFI_NOTICE, K.OFFBOARDING_ADD}
        assert not {k for k, _ in got} & offboarding

    def test_contract_change_records_the_monthly_sheet_only(self) -> None:
        got = kinds(effects_for(req(type=RequestType.CHANGE, platform=None), RULES, TODAY))
        assert got == {
            (K.MONTHLY_RECORD, "monthly"),
            (K.MANAGER_DIGEST, "tda_manager"),
            (K.SALESFORCE_WRITEBACK, "approval"),
        }

    def test_platform_chooses_the_tracker(self) -> None:
        got = kinds(effects_for(req(platform=Platform.ARI), RULES, TODAY))
        assert (K.TRACKER_STATUS, "ari_tracker") in got
        assert (K.TRACKER_REMOVE, "ari_tracker") in got
        assert not any(t == "ds_tracker" for _, t in got)

    def test_ninja_cat_only_when_leaving_the_platform(self) -> None:
        assert (K.NINJACAT_FLAG, "offboarding") not in kinds(effects_for(req(), RULES, TODAY))
        leaving = kinds(effects_for(req(leaving_platform=True), RULES, TODAY))
        assert (K.NINJACAT_FLAG, "offboarding") in leaving
        pause = kinds(effects_for(req(type=RequestType.PAUSE, leaving_platform=True), RULES, TODAY))
        assert (K.NINJACAT_FLAG, "offboarding") not in pause

    def test_seo_team_reminded_when_services_include_seo(self) -> None:
        got = kinds(effects_for(req(services=("TDA", "seo")), RULES, TODAY))
        assert {(K.REMINDER, "seo_team:7d"), (K.REMINDER, "seo_team:1d")} <= got

    def test_keys_are_stable_and_unique(self) -> None:
        a = effects_for(req(), RULES, TODAY)
        b = effects_for(req(), RULES, date(2026, 12, 20))
        assert [e.key for e in a] == [e.key for e in b]
        assert len({e.key for e in a}) == len(a)
        assert a[0].key == "a0R000000000001/planner_add/planner"


class TestTiming:
    def test_on_approval_effects_are_due_and_offboarding_waits(self) -> None:
        p = plan([req()], {}, TODAY, RULES)
        due = kinds(p.due)
        assert (K.PLANNER_ADD, "planner") in due
        assert (K.SIMPLIFI_NOTICE, "simplifi") in due
        waiting = kinds(p.waiting)
        assert (K.TRACKER_REMOVE, "ds_tracker") in waiting
        assert (K.TRELLO_ARCHIVE, "tda") in waiting
        assert (K.SALESFORCE_WRITEBACK, "offboarded") in waiting
        remove = next(e for e in p.waiting if e.kind is K.TRACKER_REMOVE)
        assert remove.not_before == date(2026, 12, 15)

    def test_offboarding_due_on_the_effective_date(self) -> None:
        p = plan([req()], {}, date(2026, 12, 15), RULES)
        assert {(K.TRACKER_REMOVE, "ds_tracker"), (K.TRELLO_ARCHIVE, "design")} <= kinds(p.due)

    def test_trello_on_approval_when_configured(self) -> None:
        rules = replace(RULES, trello_archive_on="approval")
        p = plan([req()], {}, TODAY, rules)
        assert (K.TRELLO_ARCHIVE, "tda") in kinds(p.due)
        assert (K.TRACKER_REMOVE, "ds_tracker") in kinds(p.waiting)

    def test_writeback_waits_for_the_effects_it_reports(self) -> None:
        p = plan([req()], {}, TODAY, RULES)
        wb = next(e for e in p.due if e.target == "approval")
        assert effect_key(req().id, K.PLANNER_ADD, "planner") in wb.after
        assert wb.params["account_status"] == "Cancelled"
        assert all(k.split("/")[1] not in ("tracker_remove", "trello_archive") for k in wb.after)

    def test_writeback_not_due_when_a_dependency_waits(self) -> None:
        r = req()
        ledger = {
            e.key: EffectState.APPLIED
            for e in effects_for(r, RULES, TODAY)
            if e.kind not in (K.TRACKER_REMOVE, K.SALESFORCE_WRITEBACK, K.REMINDER)
        }
        p = plan([r], ledger, date(2026, 12, 15), replace(RULES, trello_boards=()))
        assert (K.SALESFORCE_WRITEBACK, "offboarded") in kinds(p.due)
        p2 = plan([r], ledger, date(2026, 12, 14), replace(RULES, trello_boards=()))
        assert (K.SALESFORCE_WRITEBACK, "offboarded") in kinds(p2.waiting)


class TestReminders:
    def reminders(self, today: date, ledger: dict[str, EffectState] | None = None):  # type: ignore[no-untyped-def]
        p = plan([req()], ledger or {}, today, RULES)
        return (
            [e.target for e in p.due if e.kind is K.REMINDER],
            [e.target for e in p.waiting if e.kind is K.REMINDER],
            [(e.target, why) for e, why in p.skips if e.kind is K.REMINDER],
        )

    def test_before_the_window_both_wait(self) -> None:
        due, waiting, skipped = self.reminders(date(2026, 12, 1))
        assert due == []
        assert sorted(waiting) == ["tda_team:1d", "tda_team:7d"]
        assert skipped == []

    def test_seven_days_before(self) -> None:
        due, waiting, _ = self.reminders(date(2026, 12, 8))
        assert due == ["tda_team:7d"]
        assert waiting == ["tda_team:1d"]

    def test_sent_reminder_is_not_sent_again(self) -> None:
        key = effect_key(req().id, K.REMINDER, "tda_team:7d")
        due, _, _ = self.reminders(date(2026, 12, 9), {key: EffectState.APPLIED})
        assert due == []

    def test_missed_reminder_goes_out_late_once(self) -> None:
        due, _, _ = self.reminders(date(2026, 12, 10))
        assert due == ["tda_team:7d"]

    def test_two_due_at_once_nearest_wins(self) -> None:
        due, _, skipped = self.reminders(date(2026, 12, 14))
        assert due == ["tda_team:1d"]
        assert [t for t, _ in skipped] == ["tda_team:7d"]
        assert "superseded" in skipped[0][1]

    def test_after_the_effective_date_reminders_are_skipped(self) -> None:
        due, _, skipped = self.reminders(date(2026, 12, 16))
        assert due == []
        assert sorted(t for t, _ in skipped) == ["tda_team:1d", "tda_team:7d"]

    def test_change_has_no_reminders(self) -> None:
        p = plan([req(type=RequestType.CHANGE)], {}, date(2026, 12, 14), RULES)
        assert not [e for e in p.due + p.waiting if e.kind is K.REMINDER]


class TestLedger:
    def test_applied_effect_is_never_planned_again(self) -> None:
        key = effect_key(req().id, K.PLANNER_ADD, "planner")
        p = plan([req()], {key: EffectState.APPLIED}, TODAY, RULES)
        assert key not in {e.key for e in p.due + p.waiting}

    @pytest.mark.parametrize(
        "state", [EffectState.FAILED, EffectState.NEEDS_PERSON, EffectState.PLANNED]
    )
    def test_unfinished_effect_is_due_again(self, state: EffectState) -> None:
        key = effect_key(req().id, K.PLANNER_ADD, "planner")
        p = plan([req()], {key: state}, TODAY, RULES)
        assert key in {e.key for e in p.due}

    def test_unconfirmed_send_is_reported_not_resent(self) -> None:
        key = effect_key(req().id, K.SIMPLIFI_NOTICE, "simplifi")
        p = plan([req()], {key: EffectState.SENDING}, TODAY, RULES)
        assert key not in {e.key for e in p.due}
        assert [f.code for f in p.needs_person] == ["unconfirmed_send"]
        resend = plan(
            [req()], {key: EffectState.SENDING}, TODAY, replace(RULES, resend_unconfirmed=True)
        )
        assert key in {e.key for e in resend.due}


class TestWithdrawn:
    def test_withdrawn_after_action_is_reported_and_nothing_more_happens(self) -> None:
        r = req(status="Withdrawn", approved=False)
        done = effect_key(r.id, K.PLANNER_ADD, "planner")
        owed = effect_key(r.id, K.TRACKER_REMOVE, "ds_tracker")
        p = plan([r], {done: EffectState.APPLIED, owed: EffectState.PLANNED}, TODAY, RULES)
        # The only thing due: Salesforce is told the truth, once (issue 15 defect 7).
        [told] = p.due
        assert told.key.startswith(f"{r.id}/salesforce_writeback/withdrawn:")
        assert told.params["sync_status"] == "Withdrawn after sync acted"
        assert told.params["account_status"] == ""  # reported in the message, not changed
        assert p.waiting == []
        assert [f.code for f in p.needs_person] == ["withdrawn_after_action"]
        assert "added to the Planner Sheet" in p.needs_person[0].message
        # What was owed is on hold, never dropped (issue 15 defect 2).
        assert [e.key for e, _ in p.holds] == [owed]
        assert p.skips == []

    def test_never_approved_request_is_ignored(self) -> None:
        p = plan([req(status="Draft", approved=False)], {}, TODAY, RULES)
        assert p.due == []
        assert p.findings == []
        assert p.skips == []


class TestBadInput:
    @pytest.mark.parametrize(
        ("changes", "code"),
        [
            ({"effective_date": None, "raw_effective_date": ""}, "effective_date"),
            ({"effective_date": None, "raw_effective_date": "next week"}, "effective_date"),
            ({"type": None, "raw_type": "Upsell"}, "unknown_type"),
            ({"platform": None, "raw_platform": "XYZ"}, "unknown_platform"),
            ({"client_name": " "}, "no_client"),
            ({"account_id": ""}, "no_account"),
            ({"approval_steps": ()}, "approval_chain"),  # approved, with no history
        ],
    )
    def test_bad_request_is_reported_and_others_go_through(
        self, changes: dict[str, object], code: str
    ) -> None:
        bad = req(id="a0R000000000002", name="TR-0002", **changes)
        p = plan([bad, req()], {}, TODAY, RULES)
        assert [f.code for f in p.needs_person] == [code]
        assert p.needs_person[0].request_id == bad.id
        assert {e.request_id for e in p.due} == {req().id}

    def test_effective_date_in_the_past_runs_everything_now_and_says_so(self) -> None:
        r = req(effective_date=date(2026, 11, 1))
        p = plan([r], {}, TODAY, RULES)
        assert {(K.TRACKER_REMOVE, "ds_tracker"), (K.TRELLO_ARCHIVE, "tda")} <= kinds(p.due)
        assert [f.code for f in p.findings] == ["effective_date_past"]
        assert not p.findings[0].needs_person

    def test_pause_then_cancellation_of_one_client_apply_in_approval_order(self) -> None:
        pause = req(
            id="a0R0000000000P1",
            type=RequestType.PAUSE,
            approved_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
        cancel = req(id="a0R0000000000C1", approved_at=datetime(2026, 11, 20, tzinfo=UTC))
        p = plan([cancel, pause], {}, TODAY, RULES)
        statuses = [e.request_id for e in p.due if e.kind is K.TRACKER_STATUS]
        assert statuses == [pause.id, cancel.id]

    def test_credit_amount_is_data_not_a_rule_here(self) -> None:
        # A request with no history to judge (an in-memory source): the credit alone changes
        # nothing; Finance is judged from the history (next test, tests/unit/test_approval.py).
        p = plan([req(credit_amount=Decimal("250.00"))], {}, TODAY, RULES)
        assert p.due

    def test_the_planner_judges_the_history_the_connector_parsed(self) -> None:
        # Issue 23: the Salesforce connector only parses the history into the request; the
        # core judges it against the configured chain, here with a credit and no Finance.
        at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        steps = tuple(
            ApprovalStep(status, name, uid, at.replace(minute=i), i)
            for i, (status, name, uid) in enumerate(
                [("Started", "Amy", "005A"), ("Approved", "Jeremy", "005J"),
                 ("Approved", "Dustin", "005D")]
            )
        )  # fmt: skip
        chain = ApprovalChain(first=("005J",), second=("005D",), finance=("005F",))
        rules = replace(RULES, approval=chain)
        ok = req(approval_steps=steps)
        credited = req(id="a0R000000000002", approval_steps=steps, credit_amount=Decimal(250))
        p = plan([ok, credited], {}, TODAY, rules)
        assert [f.code for f in p.needs_person] == ["approval_chain"]
        assert p.needs_person[0].request_id == credited.id
        assert "Finance has not approved, but a credit of 250.00 is issued" in (
            p.needs_person[0].message
        )
        assert {e.request_id for e in p.due} == {ok.id}


def test_a_withdrawal_before_the_approval_write_back_does_not_claim_an_account_status() -> None:
    """Issue 15 defect 7: the message says what is true about the account status too."""
    r = req(status="Draft", approved=False)
    done = effect_key(r.id, K.PLANNER_ADD, "planner")
    [told] = plan([r], {done: EffectState.APPLIED}, TODAY, RULES).due
    assert "The sync had not changed the account status." in told.params["sync_message"]
    wb = effect_key(r.id, K.SALESFORCE_WRITEBACK, "approval")
    seen = {done: EffectState.APPLIED, wb: EffectState.APPLIED}
    [told] = plan([r], seen, TODAY, RULES).due
    assert "left as the sync set it ('Cancelled')" in told.params["sync_message"]


def test_a_writeback_is_settled_by_the_core_from_the_keys_it_reports_on() -> None:
    """Issue 23: the message is composed by one core function, planned with nothing skipped and
    settled once when it goes out; nothing is planned again, so a request's second life (keys
    ending in @g2) is settled like its first."""
    effects = effects_for(req(), RULES, TODAY)
    off = next(e for e in effects if e.target == "offboarded")
    assert off.params["sync_message"] == (
        "Offboarded: removed from the DS tracker (copy kept), Trello cards archived on the "
        "Targeted Digital Advertising board, Trello cards archived on the Digital Marketing "
        "Graphic Design board."
    )
    no_card = next(k for k in off.after if k.endswith("/trello_archive/tda"))
    want = (
        "Offboarded: removed from the DS tracker (copy kept), Trello cards archived on the "
        "Digital Marketing Graphic Design board. Skipped (nothing to do): Trello archive on the "
        "Targeted Digital Advertising board (no card, or done once for the client by another "
        "request)."
    )
    assert settle_writeback(off, frozenset({no_card})).params["sync_message"] == want
    second = replace(off, generation=2, after=tuple(f"{k}@g2" for k in off.after))
    settled = settle_writeback(second, frozenset({f"{no_card}@g2"}))
    assert settled.params["sync_message"] == want
    assert settle_writeback(off, frozenset()) is off  # nothing skipped: as planned

    approval = next(e for e in effects if e.target == "approval")
    digest = next(k for k in approval.after if "/manager_digest/" in k)
    message = settle_writeback(approval, frozenset({digest})).params["sync_message"]
    assert "TDA Department Manager informed" not in message.split(" Skipped")[0]
    assert message.endswith(
        " Due on 2026-12-15: removed from the DS tracker (copy kept), Trello cards archived on "
        "the Targeted Digital Advertising board, Trello cards archived on the Digital Marketing "
        "Graphic Design board."
    )
