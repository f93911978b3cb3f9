"""The parts of the config the planner needs, as one frozen value (`PlanRules`).

So the planner and its tests need no config file, and every rule the planner follows is named
in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from sync.config.model import ApprovalChain, Config
from sync.core.domain import RequestType


@dataclass(frozen=True)
class PlanRules:
    """The parts of config the planner needs, so its tests need no config file."""

    reminder_offsets: tuple[int, ...] = (7, 1)
    trello_boards: tuple[str, ...] = ("tda", "design")
    trello_archive_on: Literal["effective_date", "approval"] = "effective_date"
    seo_service: str = "SEO"
    # A message left "sending" by a crash: resend it (True) or report it for a person (False).
    resend_unconfirmed: bool = False
    account_status: Mapping[RequestType, str] = field(
        default_factory=lambda: {
            RequestType.CANCELLATION: "Cancelled",
            RequestType.PAUSE: "Paused",
            RequestType.CHANGE: "Contract Changed",
        }
    )
    # Who must have approved, in order: an approved request's history is judged against it.
    approval: ApprovalChain = field(default_factory=ApprovalChain)

    @classmethod
    def from_config(cls, cfg: Config) -> PlanRules:
        acc = cfg.salesforce.account
        return cls(
            reminder_offsets=tuple(sorted(set(cfg.reminders.offsets_days), reverse=True)),
            trello_boards=tuple(cfg.trello.boards),
            trello_archive_on=cfg.trello.archive_on,
            seo_service=cfg.reminders.seo_service,
            resend_unconfirmed=cfg.email.unconfirmed_policy == "resend",
            account_status={
                RequestType.CANCELLATION: acc.cancellation,
                RequestType.PAUSE: acc.pause,
                RequestType.CHANGE: acc.change,
            },
            approval=cfg.salesforce.approval,
        )
