"""`sync.core.changes`: what a change made after the sync acted means, on plain data."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from sync.core.changes import (
    ACCOUNT_CHANGED,
    BECAME_PAUSE,
    DATE_MOVED,
    DUPLICATE,
    acted_of,
    is_correction,
    on_account_change,
    same_account,
    stale_corrections,
)
from sync.core.corrections import on_date_moved, review
from sync.core.domain import EffectKind, EffectState, Platform, RequestType, TakedownRequest
from sync.core.duplicates import offboarding_owner, on_duplicate
from sync.core.effects import effects_for
from sync.core.rules import PlanRules

TODAY = date(2026, 11, 25)
RULES = PlanRules()


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


def applied(r: TakedownRequest, *kinds: EffectKind) -> dict[str, EffectState]:
    return {e.key: EffectState.APPLIED for e in effects_for(r, RULES, TODAY) if e.kind in kinds}


def test_an_18_character_id_is_the_same_account_as_its_15_character_form() -> None:
    assert same_account("001000000000001", "001000000000001AAA")
    assert not same_account("001000000000001", "001000000000002")


def test_a_moved_date_corrects_the_tracker_and_tells_simplifi_once() -> None:
    old = req()
    new = req(effective_date=date(2026, 12, 22))
    seen = applied(old, EffectKind.TRACKER_STATUS, EffectKind.SIMPLIFI_NOTICE)
    got = on_date_moved(new, acted_of(old), effects_for(new, RULES, TODAY), seen, TODAY)
    assert {(c.kind, c.target) for c in got.corrections} == {
        (EffectKind.TRACKER_STATUS, "ds_tracker:2026-12-22"),
        (EffectKind.SIMPLIFI_NOTICE, "simplifi:2026-12-22"),
    }
    assert [f.code for f in got.findings] == [DATE_MOVED]
    assert "2026-12-15 to 2026-12-22" in got.findings[0].message
    # The run after: the corrections are known to the ledger, so no second report.
    seen.update({c.key: EffectState.APPLIED for c in got.corrections})
    again = on_date_moved(new, acted_of(old), effects_for(new, RULES, TODAY), seen, TODAY)
    assert again.findings == []


def test_a_changed_account_blocks_the_request_and_names_the_undo_command() -> None:
    old = req()
    new = req(account_id="001000000000009", client_name="Acme Trucks")
    effects = effects_for(new, RULES, TODAY)
    seen = applied(old, EffectKind.TRACKER_STATUS, EffectKind.SIMPLIFI_NOTICE)
    got = on_account_change(new, acted_of(old), effects, seen)
    assert got.blocked  # nothing of it is planned: the owed steps stay owed, untouched
    assert got.holds == []  # not "on hold": that is a withdrawal's state, resumed by approval
    assert [f.code for f in got.findings] == [ACCOUNT_CHANGED]
    assert "python -m sync undo TR-0001" in got.findings[0].message
    assert "Acme Motors" in got.findings[0].message
    assert "Acme Trucks" in got.findings[0].message


def test_a_second_cancellation_of_a_client_skips_the_client_effects_and_says_what_differs() -> None:
    first = req()
    second = req(id="a0R000000000002", name="TR-0002", effective_date=date(2026, 12, 31))
    owner = offboarding_owner(second, [first, second], {})
    assert owner is not None
    assert owner.request_id == first.id
    assert offboarding_owner(first, [first, second], {}) is None
    got = on_duplicate(second, owner, effects_for(second, RULES, TODAY), {})
    skipped = {e.kind for e, _ in got.skips}
    assert EffectKind.SIMPLIFI_NOTICE in skipped
    assert EffectKind.TRACKER_REMOVE in skipped
    assert EffectKind.PLANNER_ADD not in skipped
    assert EffectKind.MANAGER_DIGEST not in skipped
    assert [f.code for f in got.findings] == [DUPLICATE]
    assert "2026-12-31 here, 2026-12-15 there" in got.findings[0].message


def test_the_first_request_acted_on_owns_the_offboarding_across_runs() -> None:
    first = req()
    second = req(id="a0R000000000002", name="TR-0002")
    history = {first.id: acted_of(first)}
    owner = offboarding_owner(second, [second], history)
    assert owner is not None
    assert owner.request_id == first.id
    marked = {**history, second.id: replace(acted_of(second), duplicate_of=first.id)}
    third = req(id="a0R000000000003", name="TR-0003")
    owner3 = offboarding_owner(third, [third], marked)
    assert owner3 is not None
    assert owner3.request_id == first.id


def test_corrections_for_a_date_no_longer_shown_are_skipped() -> None:
    assert is_correction("ds_tracker:2026-12-22")
    assert is_correction("tda_team:7d:2026-12-22")
    assert not is_correction("tda_team:7d")
    r = req(effective_date=date(2026, 12, 29))
    seen = {
        f"{r.id}/tracker_status/ds_tracker:2026-12-22": EffectState.PLANNED,
        f"{r.id}/tracker_status/ds_tracker:2026-12-29": EffectState.PLANNED,
        f"{r.id}/tracker_status/ds_tracker": EffectState.APPLIED,
    }
    got = stale_corrections(r, seen, TODAY)
    assert [e.target for e, _ in got] == ["ds_tracker:2026-12-22"]


def test_a_cancellation_turned_pause_drops_the_offboarding_and_corrects_what_it_wrote() -> None:
    old = req()
    new = req(type=RequestType.PAUSE, raw_type="Contract Pause")
    seen = applied(
        old, EffectKind.TRACKER_STATUS, EffectKind.SALESFORCE_WRITEBACK, EffectKind.PLANNER_ADD
    )
    seen[f"{old.id}/tracker_remove/ds_tracker"] = EffectState.PLANNED
    got = review(new, acted_of(old), effects_for(new, RULES, TODAY), seen, TODAY, "Paused")
    assert [e.kind for e, _ in got.skips] == [EffectKind.TRACKER_REMOVE]
    assert {c.target for c in got.corrections} >= {"ds_tracker:pause", "approval:pause"}
    assert [f.code for f in got.findings] == [BECAME_PAUSE]
    assert not got.findings[0].needs_person  # nothing was offboarded yet


def test_a_client_that_came_back_starts_a_new_offboarding() -> None:
    first = req()
    history = {first.id: acted_of(first)}
    again = req(id="a0R000000000002", name="TR-0002")
    still = replace(again, account_status="Cancelled")
    back = replace(again, account_status="Active")
    assert offboarding_owner(still, [still], history, cancelled="Cancelled") is not None
    assert offboarding_owner(back, [back], history, cancelled="Cancelled") is None
    # A withdrawn first request offboards nobody.
    withdrawn = frozenset({first.id})
    assert offboarding_owner(still, [still], history, inactive=withdrawn) is None


def test_a_reminder_sent_for_the_old_date_goes_out_again_for_the_new_one() -> None:
    old = req()
    new = req(effective_date=date(2026, 12, 22))
    effects = effects_for(new, RULES, TODAY)
    sent = next(e for e in effects if e.kind is EffectKind.REMINDER and e.target == "tda_team:7d")
    seen = {sent.key: EffectState.APPLIED}
    got = on_date_moved(new, acted_of(old), effects, seen, TODAY)
    [again] = [c for c in got.corrections if c.kind is EffectKind.REMINDER]
    assert again.target == "tda_team:7d:2026-12-22"
    assert again.not_before == date(2026, 12, 15)
    assert again.params["due_on"] == "2026-12-15"
    # A date already here: nobody is reminded of it.
    late = on_date_moved(new, acted_of(old), effects, seen, date(2026, 12, 22))
    assert not [c for c in late.corrections if c.kind is EffectKind.REMINDER]
