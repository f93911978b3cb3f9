"""The effects table: every effect a request causes over its life, with its key and its day.

One branch per row of the effects table at the top of README.md. Pure: the request, the rules
and today's date in, effects out; whether each is due, done or waiting is the planner's
business (`sync.core.planner`). The write-backs' messages are composed by `sync.core.wording`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date

from sync.core import wording
from sync.core.domain import Effect, EffectKind, Platform, RequestType, TakedownRequest, effect_key
from sync.core.names import name_key
from sync.core.rules import PlanRules

TRACKER_OF: Mapping[Platform, str] = {Platform.DS: "ds_tracker", Platform.ARI: "ari_tracker"}


def effects_for(req: TakedownRequest, rules: PlanRules, today: date) -> list[Effect]:
    """Every effect the request causes over its life (the README's effects table)."""
    assert req.type is not None
    assert req.effective_date is not None
    approval_day = req.approved_at.date() if req.approved_at else today
    eff_day = req.effective_date

    def make(
        kind: EffectKind,
        target: str,
        not_before: date,
        params: Mapping[str, str] | None = None,
        after: tuple[str, ...] = (),
    ) -> Effect:
        return Effect(req.id, kind, target, not_before, req, dict(params or {}), after)

    out: list[Effect] = []
    t = req.type
    if t in (RequestType.CANCELLATION, RequestType.PAUSE):
        assert req.platform is not None
        tracker = TRACKER_OF[req.platform]
        out.append(make(EffectKind.PLANNER_ADD, "planner", approval_day))
        out.append(make(EffectKind.TRACKER_STATUS, tracker, approval_day))
    if t is RequestType.CANCELLATION:
        assert req.platform is not None
        tracker = TRACKER_OF[req.platform]
        status_key = effect_key(req.id, EffectKind.TRACKER_STATUS, tracker)
        out.append(make(EffectKind.TRACKER_REMOVE, tracker, eff_day, after=(status_key,)))
        offboarding = make(EffectKind.OFFBOARDING_ADD, "offboarding", approval_day)
        out.append(offboarding)
        if req.leaving_platform:
            out.append(
                make(
                    EffectKind.NINJACAT_FLAG, "offboarding", approval_day, after=(offboarding.key,)
                )
            )
        archive_day = eff_day if rules.trello_archive_on == "effective_date" else approval_day
        for board in rules.trello_boards:
            out.append(make(EffectKind.TRELLO_ARCHIVE, board, archive_day))
        out.append(make(EffectKind.SIMPLIFI_NOTICE, "simplifi", approval_day))
    if t is RequestType.CHANGE:
        out.append(make(EffectKind.MONTHLY_RECORD, "monthly", approval_day))
    out.append(make(EffectKind.MANAGER_DIGEST, "tda_manager", approval_day))
    if t in (RequestType.CANCELLATION, RequestType.PAUSE):
        teams = ["tda_team"]
        if any(name_key(s) == name_key(rules.seo_service) for s in req.services):
            teams.append("seo_team")
        for offset in rules.reminder_offsets:
            due_on = date.fromordinal(eff_day.toordinal() - offset)
            for team in teams:
                out.append(
                    make(
                        EffectKind.REMINDER,
                        f"{team}:{offset}d",
                        due_on,
                        {"offset_days": str(offset), "team": team, "due_on": due_on.isoformat()},
                    )
                )
    out.extend(_writebacks(req, out, rules, approval_day, make))
    return out


def _writebacks(
    req: TakedownRequest,
    effects: list[Effect],
    rules: PlanRules,
    approval_day: date,
    make: Callable[..., Effect],
) -> list[Effect]:
    """Salesforce learns what was done: once after the approval-time effects, and for a
    cancellation once more after the effective-date ones. Which effects are "late" depends only
    on the kind and config, never on today's date, so the set of write-backs is stable. Their
    messages are composed by `sync.core.wording`, here with nothing skipped; the engine has them
    settled there once more when they go out (`wording.settle_writeback`)."""
    assert req.type is not None
    late = [
        e
        for e in effects
        if e.kind is EffectKind.TRACKER_REMOVE
        or (e.kind is EffectKind.TRELLO_ARCHIVE and rules.trello_archive_on == "effective_date")
    ]
    early = [e for e in effects if e.kind is not EffectKind.REMINDER and e not in late]
    early_keys, late_keys = [e.key for e in early], [e.key for e in late]
    params = {
        "sync_status": "Synced" if not late else "Synced - offboarding scheduled",
        "sync_message": wording.approval_message(req.id, early_keys, late_keys, req.effective_date),
        "account_status": rules.account_status[req.type],
    }
    if late:
        params[wording.LATER] = json.dumps(late_keys)
    out = [
        make(EffectKind.SALESFORCE_WRITEBACK, "approval", approval_day, params, tuple(early_keys))
    ]
    if late:
        out.append(
            make(
                EffectKind.SALESFORCE_WRITEBACK,
                "offboarded",
                max(e.not_before for e in late),
                {
                    "sync_status": "Offboarded",
                    "sync_message": wording.offboarded_message(req.id, late_keys),
                    "account_status": "",
                },
                tuple(e.key for e in late),
            )
        )
    return out
