"""What the Salesforce write-backs may write: every sync status, and the longest message.

The Salesforce connector's preflight checks that the org's fields take them (a picklist has the
status values, a text field is long enough for the message) before a run acts. The texts follow
the planner's wording, so they are worked out here, in the core, by planning made-up requests
that produce the most effects; the wiring hands them to the connector (`WritebackTexts`), which
never imports the planner.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from sync.config.model import Config
from sync.core import withdrawal
from sync.core.domain import (
    EffectKind,
    EffectState,
    Platform,
    RequestType,
    TakedownRequest,
    WritebackTexts,
)
from sync.core.effects import effects_for
from sync.core.rules import PlanRules
from sync.core.undo import UNDONE_STATUS
from sync.core.wording import describe


def writeback_texts(cfg: Config) -> WritebackTexts:
    """Every sync status the write-backs set, and the longest message they write: planned for
    the requests that produce the most effects, so the check follows the planner's wording."""
    rules = PlanRules.from_config(cfg)
    day = date(2026, 12, 31)
    statuses: list[str] = []
    messages: list[str] = []
    for kind in RequestType:
        for platform in Platform:
            req = TakedownRequest(
                id="a0T000000000000AAA",
                name="TR-00000",
                account_id="001000000000000AAA",
                client_name="Longest Client Name",
                type=kind,
                raw_type=kind.value,
                status=cfg.salesforce.approved_status,
                approved=True,
                effective_date=day,
                raw_effective_date=day.isoformat(),
                reason="",
                platform=platform,
                raw_platform=platform.value,
                leaving_platform=True,
                credit_amount=Decimal(0),
                services=(cfg.reminders.seo_service, "TDA"),
            )
            effects = effects_for(req, rules, day)
            for e in effects:
                if e.kind is EffectKind.SALESFORCE_WRITEBACK:
                    statuses.append(str(e.params.get("sync_status", "")))
                    messages.append(str(e.params.get("sync_message", "")))
            # Withdrawn after everything was done but the late steps (sync.core.withdrawal): its
            # write-back lists them all, and then approved again with a new round.
            late = {EffectKind.TRACKER_REMOVE, EffectKind.TRELLO_ARCHIVE, EffectKind.REMINDER}
            seen = {
                e.key: EffectState.PLANNED
                if e.kind in late or e.target == "offboarded"
                else EffectState.APPLIED
                for e in effects
            }
            withdrawn = dataclasses.replace(req, status="Withdrawn", approved=False)
            account = rules.account_status[kind]
            gone = withdrawal.withdrawn(withdrawn, seen, effects, day, account, describe)
            back = withdrawal.reapproved(
                req,
                {**seen, **{e.key: EffectState.ON_HOLD for e, _ in gone.holds}},
                effects,
                day,
                account,
                describe,
            )
            for e in [*gone.due, *(back.due if back else [])]:
                statuses.append(str(e.params.get("sync_status", "")))
                messages.append(str(e.params.get("sync_message", "")))
    statuses.append(UNDONE_STATUS)  # `python -m sync undo` (sync/core/undo.py)
    return WritebackTexts(
        tuple(dict.fromkeys(s for s in statuses if s)), max(messages, key=len, default="")
    )
