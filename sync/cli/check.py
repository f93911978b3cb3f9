"""`python -m sync check`: is everything the sync needs there? Read-only, every system.

Config was already validated when it loaded. Here each connector checks its own credentials and
targets (the Salesforce object and fields, every spreadsheet, tab and header, every board, the
mail relay) and says what is wrong; one system's failure does not hide the others'. Each
system's line names what was checked (every spreadsheet id, tab and header set, every board,
the relay), so "ok" is a claim a person can verify.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from connectors.email.connector import EmailConnector
from connectors.sheets.connector import SHEET_NAMES, SheetsConnector
from connectors.trello.connector import TrelloConnector
from sync.config.model import Config, SheetConfig
from sync.engine import wiring
from sync.engine.wiring import retry_policy
from sync.errors import SyncError
from sync.exitcodes import ExitCode


def _factories(
    cfg: Config, routes: Mapping[str, str] | None
) -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("salesforce", lambda: wiring.salesforce(cfg, routes, retry_policy(cfg))),
        ("sheets", lambda: SheetsConnector(cfg, routes=routes, retry=retry_policy(cfg))),
        ("trello", lambda: TrelloConnector(cfg, routes=routes, retry=retry_policy(cfg))),
        ("email", lambda: EmailConnector(cfg)),
    ]


def checked(cfg: Config, name: str) -> list[str]:
    """What `check` asks of system `name`, in the words of the config."""
    if name == "salesforce":
        sf = cfg.salesforce
        mapped = [f for f in dataclasses.asdict(sf.fields).values() if f]
        return [
            f"login ({sf.auth}, domain '{sf.domain}', API {sf.api_version})",
            f"object {sf.object}: {len(mapped)} mapped fields against its describe (each exists, "
            "has a usable type, configured values in its picklist, write-back fields updateable "
            f"and long enough), then one request read with the approval history "
            f"({sf.approval.source})",
            f"object {sf.account.object}: field {sf.account.status_field} against its describe "
            "(updateable, the statuses written in its picklist)",
        ]
    if name == "sheets":
        out = []
        for sheet_name in (*SHEET_NAMES, "sync_log"):
            sheet: SheetConfig | None = getattr(cfg.sheets, sheet_name)
            if sheet is None:
                continue
            headers = ", ".join(repr(h) for h in sheet.columns.values())
            out.append(
                f"sheets.{sheet_name}: spreadsheet {sheet.spreadsheet_id}, tab '{sheet.tab}', "
                f"headers {headers}"
            )
        return out
    if name == "trello":
        return [
            f"trello.boards.{board}: board {board_id} is open (custom field "
            f"'{cfg.trello.account_id_field}')"
            for board, board_id in cfg.trello.boards.items()
        ]
    e = cfg.email
    login = f"login as ${e.username_env}" if e.username_env else "no login"
    return [f"relay {e.host}:{e.port} ({e.security}, {login}): connect and greet, nothing sent"]


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
        for what in checked(cfg, name):
            out.write(f"  checked {what}\n")
        for p in problems:
            out.write(f"  - {p}\n")
        failing += bool(errors)
    out.write("all good\n" if not failing else f"{failing} system(s) need attention\n")
    return ExitCode.OK if not failing else ExitCode.PROBLEMS_FOUND
