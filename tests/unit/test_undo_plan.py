"""The pure parts of undo: generations of effect keys, and the reversal planner (no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from sync.core.domain import (
    UNDO_KINDS,
    Effect,
    EffectKind,
    EffectState,
    Finding,
    effect_key,
    generation_of,
)
from sync.core.generations import current_view, lift, waiting_for_new_approval
from sync.core.planner import Plan
from sync.core.records import EffectRow, UndoRecord
from sync.core.rules import PlanRules
from sync.core.undo import plan_undo, refusal
from sync.core.wording import describe_kind
from tests.unit.test_planner import req

TODAY = date(2026, 11, 25)


def row(key: str, state: EffectState, not_before: str = "2026-11-25") -> EffectRow:
    rid, kind, target = key.split("/", 2)
    return EffectRow(key, rid, kind, target.split("@g")[0], state, 1, "", not_before, "", None)


def test_keys_of_the_first_generation_keep_their_form_and_later_ones_are_distinct() -> None:
    assert effect_key("R", EffectKind.PLANNER_ADD, "planner") == "R/planner_add/planner"
    assert effect_key("R", EffectKind.PLANNER_ADD, "planner", 2) == "R/planner_add/planner@g2"
    assert generation_of("R/planner_add/planner") == 1
    assert generation_of("R/planner_add/planner@g2") == 2


def test_the_planner_sees_only_the_current_generation_in_the_first_generation_form() -> None:
    states = {
        "R/planner_add/planner": EffectState.APPLIED,
        "R/undo_mark/planner": EffectState.APPLIED,
        "R/planner_add/planner@g2": EffectState.PLANNED,
        "S/planner_add/planner": EffectState.APPLIED,
    }
    view = current_view(states, {"R": 2})
    assert view == {
        "R/planner_add/planner": EffectState.PLANNED,
        "S/planner_add/planner": "applied",
    }


def test_lift_gives_effects_and_resolve_commands_their_generation() -> None:
    r = req()
    e = Effect(r.id, EffectKind.SALESFORCE_WRITEBACK, "approval", TODAY, r, {}, (f"{r.id}/x/y",))
    key = effect_key(r.id, EffectKind.SIMPLIFI_NOTICE, "simplifi")
    p = Plan(today=TODAY, due=[e])
    p.findings.append(
        Finding(r.id, "unconfirmed_send", f"run `python -m sync resolve {key} --sent`")
    )
    lift(p, {r.id: 3})
    assert p.due[0].key.endswith("@g3")
    assert p.due[0].after == (f"{r.id}/x/y@g3",)
    assert f"resolve {key}@g3 --sent" in p.findings[0].message


def test_an_undone_request_waits_for_an_approval_after_the_undo() -> None:
    undone = datetime(2026, 11, 25, 12, tzinfo=UTC)
    old = req(approved_at=datetime(2026, 11, 24, 9, tzinfo=UTC))
    new = req(id="a0X2", approved_at=datetime(2026, 11, 26, 9, tzinfo=UTC))
    go, notes = waiting_for_new_approval(
        [old, new], {old.id: 2, new.id: 2}, {old.id: undone, new.id: undone}
    )
    assert go == [new]
    assert [n.code for n in notes] == ["undone_not_reapproved"]


def test_undo_is_refused_without_force_while_approved_and_when_nothing_was_done() -> None:
    r = req()
    done = [row(f"{r.id}/planner_add/planner", EffectState.APPLIED)]
    assert "--force" in (refusal(r, done, {}, 1, forced=False, label="TR") or "")
    assert refusal(r, done, {}, 1, forced=True, label="TR") is None
    nothing = [replace(row(f"{r.id}/planner_add/planner", EffectState.PLANNED), attempts=0)]
    assert "nothing" in (refusal(r, nothing, {}, 1, forced=True, label="TR") or "")


def test_the_reversal_covers_what_was_done_or_may_have_been_and_drops_what_is_owed() -> None:
    r = req(status="Withdrawn", approved=False, account_status="Cancelled")
    rid = r.id
    rows = [
        row(f"{rid}/planner_add/planner", EffectState.APPLIED),
        row(f"{rid}/tracker_status/ds_tracker", EffectState.PLANNED),  # a crash after the write
        row(f"{rid}/tracker_remove/ds_tracker", EffectState.PLANNED, "2026-12-01"),
        row(f"{rid}/trello_archive/tda", EffectState.SKIPPED),  # no card on that board
        row(f"{rid}/simplifi_notice/simplifi", EffectState.SENDING),
        row(f"{rid}/salesforce_writeback/approval", EffectState.APPLIED),
    ]
    images = {
        f"{rid}/tracker_status/ds_tracker": {"previous": {"Status": "Active"}},
        f"{rid}/salesforce_writeback/approval": {"account_status": "Active"},
    }
    record = UndoRecord(rid, 1, "", False, "", None)
    up = plan_undo(r, record, rows, images, TODAY, PlanRules().account_status)
    kinds = [(str(e.kind), e.target) for e in up.due]
    assert kinds == [
        ("undo_tracker", "ds_tracker"),
        ("undo_mark", "planner"),
        ("undo_retraction", "simplifi"),
        ("undo_notice", "tda_manager"),
        ("undo_writeback", "salesforce"),
    ]
    assert up.due[-1].params["account_status"] == "Active"
    assert set(up.due[-1].after) == {e.key for e in up.due[:-1]}
    dropped = sorted(e.key.split("/", 1)[1] for e, _ in up.skips)
    assert dropped == [
        "simplifi_notice/simplifi",
        "tracker_remove/ds_tracker",
        "tracker_status/ds_tracker",
    ]


def test_every_reversal_has_words_for_the_ledger_and_run_log_views() -> None:
    """The morning summary and `log` describe effects known only by kind and target."""
    assert describe_kind("undo_tracker", "ds_tracker") == "DS tracker row and status restored"
    for kind in UNDO_KINDS:
        assert describe_kind(str(kind), "planner") != f"{kind} (planner)"
