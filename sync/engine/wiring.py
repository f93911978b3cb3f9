"""Build the connectors for a run from config.

Imports of the client libraries happen here, lazily, so `python -m sync --help` and config
errors answer at once. `routes` (real host -> emulator URL) is the only thing the sandbox, the
tests and the benchmark change; production passes None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors.base import Connector, RequestSource
from connectors.retry import RetryPolicy
from sync.clock import SYSTEM as SYSTEM_CLOCK
from sync.clock import Clock
from sync.config.model import Config
from sync.core.domain import System
from sync.core.writeback_texts import writeback_texts

if TYPE_CHECKING:
    from connectors.salesforce.connector import SalesforceConnector


@dataclass
class Wiring:
    source: RequestSource
    connectors: dict[System, Connector]

    def close(self) -> None:
        seen: set[int] = set()
        for c in [self.source, *self.connectors.values()]:
            if id(c) in seen:
                continue
            seen.add(id(c))
            close = getattr(c, "close", None)
            if callable(close):
                close()


def retry_policy(cfg: Config, sleep: Callable[[float], None] | None = None) -> RetryPolicy:
    policy = RetryPolicy.from_config(cfg.retry)
    if sleep is not None:
        policy.sleep = sleep
    return policy


def salesforce(
    cfg: Config, routes: Mapping[str, str] | None = None, retry: RetryPolicy | None = None
) -> SalesforceConnector:
    """The Salesforce connector, told what the write-backs may write (worked out by the core
    from the same config), so its preflight checks the org's fields against the planner's
    wording without the connector importing the planner."""
    from connectors.salesforce.connector import SalesforceConnector

    return SalesforceConnector(
        cfg, writeback_texts=writeback_texts(cfg), routes=routes, retry=retry
    )


def build(
    cfg: Config,
    routes: Mapping[str, str] | None = None,
    *,
    sleep: Callable[[float], None] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Wiring:
    """The run's connectors. Their retries wait through `sleep` (default: the clock's), and
    what they stamp (an email's Date) comes from `clock`."""
    sleep = sleep or clock.sleep
    from connectors.email.connector import EmailConnector
    from connectors.sheets.connector import SheetsConnector
    from connectors.trello.connector import TrelloConnector

    source = salesforce(cfg, routes, retry_policy(cfg, sleep))
    return Wiring(
        source=source,
        connectors={
            System.SALESFORCE: source,
            System.SHEETS: SheetsConnector(cfg, routes=routes, retry=retry_policy(cfg, sleep)),
            System.TRELLO: TrelloConnector(cfg, routes=routes, retry=retry_policy(cfg, sleep)),
            System.EMAIL: EmailConnector(cfg, retry=retry_policy(cfg, sleep), clock=clock.now),
        },
    )
