"""The org's daily Salesforce API allocation, as a run sees it before acting.

The allocation is shared with the org's other integrations (a marketing tool, a data loader),
and a day's calls spent by one of them are refused to all (403 REQUEST_LIMIT_EXCEEDED). So
before its first write a run compares what it is about to spend with what is left today, as
the poll's `Sforce-Limit-Info` header reported it: a run that would use more than its share
of what is left (by default all but 20%) stops before acting and says the figures, and a
person decides (a quieter hour, a larger allocation, a smaller share in config).

Pure: the figures come in, a sentence (or nothing) goes out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Allocation:
    """The org's daily API calls: used so far and the day's limit (`api-usage=USED/LIMIT`)."""

    used: int
    limit: int

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)


def may_spend(allocation: Allocation, reserve_share: float) -> int:
    """Calls this run may make: what is left, less the share kept for the other integrations."""
    return int(allocation.left * (1.0 - reserve_share))


def stop_reason(allocation: Allocation | None, needed: int, reserve_share: float) -> str:
    """Why a run that needs `needed` more calls must not start acting ('' when it may).

    With no figures (the org sent no Limit Info header) there is nothing to compare: the run
    goes on, and the per-call guard (`salesforce.api_budget_share`) still watches each call."""
    if allocation is None or allocation.limit <= 0 or needed <= 0:
        return ""
    allowed = may_spend(allocation, reserve_share)
    if needed <= allowed:
        return ""
    return (
        f"this run needs about {needed:,} Salesforce API calls, but only {allocation.left:,} of "
        f"the org's {allocation.limit:,} daily calls are left ({allocation.used:,} used), and "
        f"the sync may use {allowed:,} of them, keeping {reserve_share:.0%} for the org's other "
        "integrations (salesforce.api_reserve_share); nothing was done: run it again when the "
        "allocation resets, or after raising the allocation or lowering the reserve"
    )
