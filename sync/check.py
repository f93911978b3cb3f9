"""`python -m sync check`: is everything the sync needs there? Read-only, every system.

Config was already validated when it loaded. Here each connector checks its own credentials and
targets (the Salesforce object and fields, every spreadsheet, tab and header, every board, the
mail relay) and says what is wrong; one system's failure does not hide the others'.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TextIO

from connectors.email import EmailConnector
from connectors.salesforce import SalesforceConnector
from connectors.sheets import SheetsConnector
from connectors.trello import TrelloConnector
from sync.config import Config
from sync.errors import SyncError
from sync.wiring import retry_policy

EXIT_PROBLEMS = 1


def _factories(
    cfg: Config, routes: Mapping[str, str] | None
) -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("salesforce", lambda: SalesforceConnector(cfg, routes=routes, retry=retry_policy(cfg))),
        ("sheets", lambda: SheetsConnector(cfg, routes=routes, retry=retry_policy(cfg))),
        ("trello", lambda: TrelloConnector(cfg, routes=routes, retry=retry_policy(cfg))),
        ("email", lambda: EmailConnector(cfg)),
    ]


def run_check(cfg: Config, routes: Mapping[str, str] | None, *, out: TextIO) -> int:
    out.write(f"config: {cfg.source}: valid\n")
    failing = 0
    for name, make in _factories(cfg, routes):
        connector = None
        try:
            connector = make()
            problems: list[str] = list(connector.check())
        except SyncError as exc:
            problems = [str(exc)]
        finally:
            if connector is not None:
                connector.close()
        errors = [p for p in problems if not p.startswith("note:")]
        out.write(f"{name}: {'ok' if not errors else 'PROBLEMS'}\n")
        for p in problems:
            out.write(f"  - {p}\n")
        failing += bool(errors)
    out.write("all good\n" if not failing else f"{failing} system(s) need attention\n")
    return 0 if not failing else EXIT_PROBLEMS
