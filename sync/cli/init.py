"""`python -m sync init`: read the org and write a commented config.toml.

Reads only: describeGlobal and the request object's describe, the approvers by name (a User
query), each named spreadsheet's header rows, the Trello boards this token sees and their custom
fields. The credentials come from the environment, as a run's do (the env var names of
`config/example.toml`, or the sandbox's). What `sync.config.from_org` cannot decide is written as a
`# TODO` line beside a value the loader or `python -m sync check` refuses, and printed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from connectors.sheets.connector import SheetsConnector
from connectors.trello.connector import TrelloConnector
from sync.config import from_org as ic
from sync.config.model import REQUIRED_COLUMNS, Config
from sync.engine import wiring
from sync.errors import ConfigError, SyncError
from sync.exitcodes import ExitCode
from sync.state.private_files import write_private_file

SHEET_TITLES = {
    "ds_tracker": "DS TDA Client Tracker",
    "ari_tracker": "ARI TDA Client Tracker",
    "planner": "Planner",
    "monthly": "Monthly Sheet",
    "offboarding": "DigMS Offboarding Sheet",
}
# A placeholder the loader or `python -m sync check` refuses, so a TODO is never forgotten.
TODO = "TODO"
APPROVERS = {"first": ["Jeremy Bliesner"], "second": ["Dustin Hunter"], "finance": ["Finance Team"]}


def init_command(
    cfg: Config,
    routes: Mapping[str, str] | None,
    *,
    output: Path,
    sheets: Mapping[str, str],
    force: bool,
    out: TextIO,
) -> int:
    """`cfg` supplies only how to log in (env var names, key file); everything else is read."""
    if output.exists() and not force:
        raise ConfigError(f"{output} exists; choose another --output or add --force")
    found = discover(cfg, routes, sheets)
    text = render(cfg, found)
    # 0600: it names the org, its users' ids and where the credentials are.
    write_private_file(output, text.encode("utf-8"))
    for part in found.values():
        for note in part.notes:
            out.write(f"found: {note}\n")
    todos = [t for part in found.values() for t in part.todos]
    out.write(f"wrote {output}: {len(todos)} TODO(s) to fill in, then `python -m sync check`\n")
    for t in todos:
        out.write(f"TODO: {t}\n")
    return ExitCode.OK


EMAIL_TODO = (
    "email.manager_to, ops_lead_to, tda_team_to: the TDA Department Manager's, the operations "
    "lead's and the TDA team's addresses (and the relay: host, port, security, from_address)"
)


def discover(
    cfg: Config, routes: Mapping[str, str] | None, sheet_ids: Mapping[str, str]
) -> dict[str, ic.Found]:
    found: dict[str, ic.Found] = {}
    sf = wiring.salesforce(cfg, routes)
    try:
        found["object"] = ic.pick_object(sf.describe_global())
        name = found["object"].values.get("object")
        found["fields"] = ic.map_fields(sf.describe(name)) if name else ic.Found()
        wanted = sorted({p for people in APPROVERS.values() for p in people})
        found["approval"] = ic.map_approvers(APPROVERS, sf.users_named(wanted))
    finally:
        sf.close()
    gs = SheetsConnector(cfg, routes=routes)
    try:
        for kind in ic.SHEET_KEYS:
            sid = sheet_ids.get(kind, "")
            if not sid:
                f = ic.Found(values={"spreadsheet_id": "", "tab": "", "columns": {}})
                f.todos.append(
                    f"sheets.{kind}: the {SHEET_TITLES[kind]}'s spreadsheet id "
                    f"(pass --sheet {kind}=ID)"
                )
                found[f"sheet:{kind}"] = f
                continue
            try:
                _title, tabs = gs.header_rows(sid)
            except SyncError as exc:
                f = ic.Found(values={"spreadsheet_id": sid, "tab": "", "columns": {}})
                f.todos.append(f"sheets.{kind}: could not read spreadsheet {sid}: {exc}")
                found[f"sheet:{kind}"] = f
                continue
            f = ic.map_sheet(kind, tabs)
            f.values["spreadsheet_id"] = sid
            found[f"sheet:{kind}"] = f
    finally:
        gs.close()
    trello = TrelloConnector(cfg, routes=routes)
    try:
        found["trello"] = ic.map_boards(trello.boards(), cfg.trello.account_id_field)
    finally:
        trello.close()
    found["email"] = ic.Found(todos=[EMAIL_TODO])
    return found


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _todos(part: ic.Found, prefix: str) -> list[str]:
    return [f"# TODO: {t}" for t in part.todos if t.startswith(prefix)]


def render(cfg: Config, found: Mapping[str, ic.Found]) -> str:
    """The config file: every discovered value, the rest as TODO lines (see module doc)."""
    s = cfg.salesforce
    fields, obj = found["fields"], found["object"]
    lines = [
        "# Offboarding sync configuration, written by `python -m sync init` from what the org",
        "# shows. Lines starting with '# TODO' need a person; then run `python -m sync check`.",
        "# Every key is documented in docs/operations/configuration.md.",
        "",
        'state_dir = "state"',
        "",
        "[salesforce]",
        f"auth = {_q(s.auth)}",
        f"username_env = {_q(s.username_env)}",
        f"password_env = {_q(s.password_env)}",
        f"security_token_env = {_q(s.security_token_env)}",
        f"domain = {_q(s.domain)}",
        f"api_version = {_q(s.api_version)}",
        *_todos(obj, "salesforce.object"),
        f"object = {_q(obj.values.get('object', TODO))}",
        *_todos(fields, "salesforce.approved_status"),
        f"approved_status = {_q(fields.values.get('approved_status', TODO))}",
        "",
        "[salesforce.type_values]             # the request type's picklist values",
    ]
    for kind in ("cancellation", "pause", "change"):
        lines += _todos(fields, f"salesforce.type_values.{kind}")
        lines.append(f"{kind} = {_q(fields.values.get('type_values', {}).get(kind, TODO))}")
    lines += ["", "[salesforce.platform_values]         # the platform's picklist values"]
    for plat in ("DS", "ARI"):
        lines += _todos(fields, f"salesforce.platform_values.{plat}")
        lines.append(f"{plat} = {_q(fields.values.get('platform_values', {}).get(plat, TODO))}")
    lines += ["", "[salesforce.fields]                  # found by label and type"]
    for logical in ("account", "account_name", "name", *list(ic.FIELD_LABELS)[1:]):
        todo = _todos(fields, f"salesforce.fields.{logical}:")
        lines += todo
        lines.append(f"{logical} = {_q(fields.values.get(logical, TODO))}")
    approval = found["approval"]
    lines += ["", "[salesforce.approval]                # user ids (looked up by name)"]
    lines.append('source = "process_instance"')
    for role, people in APPROVERS.items():
        lines += _todos(approval, f"salesforce.approval.{role}")
        ids = approval.values.get(role, [])
        lines.append(f"{role} = {json.dumps(ids)}  # {', '.join(people)}")
    acc = s.account
    lines += [
        "",
        "[salesforce.account]",
        f"object = {_q(acc.object)}",
        f"status_field = {_q(acc.status_field)}",
        "",
        "[sheets]",
        f'credentials = {_q(cfg.sheets.credentials)}  # or "adc": Application Default Credentials',
        f"service_account_file_env = {_q(cfg.sheets.service_account_file_env)}",
        f"date_format = {_q(cfg.sheets.date_format)}",
    ]
    for kind, key in ic.SHEET_KEYS.items():
        part = found[f"sheet:{kind}"]
        v = part.values
        lines += ["", f"[sheets.{kind}]                # {SHEET_TITLES[kind]}"]
        lines += _todos(part, f"sheets.{kind}")
        lines.append(f"spreadsheet_id = {_q(v.get('spreadsheet_id') or TODO)}")
        lines.append(f"tab = {_q(v.get('tab') or TODO)}")
        lines.append(f"key = {_q(key)}")
        if kind.endswith("tracker"):
            lines.append('removed_tab = "Removed clients"   # created by the first removal')
        lines.append(f"[sheets.{kind}.columns]")
        columns: dict[str, str] = dict(v.get("columns", {}))
        for logical in REQUIRED_COLUMNS[kind]:
            columns.setdefault(logical, "")
        for logical, header in columns.items():
            lines.append(f"{logical} = {_q(header or TODO)}")
    trello = found["trello"]
    lines += [
        "",
        "[trello]",
        f"api_key_env = {_q(cfg.trello.api_key_env)}",
        f"token_env = {_q(cfg.trello.token_env)}",
        f"account_id_field = {_q(cfg.trello.account_id_field)}",
        "",
        "[trello.boards]",
    ]
    lines += _todos(trello, "trello.boards")
    for key, board_id in trello.values.get("boards", {}).items():
        lines.append(f"{key} = {_q(board_id or TODO)}  # {ic.BOARD_NAMES[key]}")
    e = cfg.email
    lines += [
        "",
        "[email]",
        f"host = {_q(e.host)}",
        f"port = {e.port}",
        f"security = {_q(e.security)}",
        f"username_env = {_q(e.username_env)}",
        f"password_env = {_q(e.password_env)}",
        f"from_address = {_q(e.from_address)}",
        'simplifi_to = ["west@simpli.fi"]    # from the process page',
        f"# TODO: {EMAIL_TODO}",
        'manager_to = ["TODO"]',
        'ops_lead_to = ["TODO"]',
        'tda_team_to = ["TODO"]',
        "seo_team_to = []                     # optional: the SEO team, if it gets reminders",
        (
            f"templates_dir = {_q(str(cfg.resolve(e.templates_dir).resolve()))}"
            if e.templates_dir
            else '# templates_dir = "templates"       # default: the templates the package ships'
        ),
        "",
        "[golive]",
        'mode = "shadow"                      # watch it for a week, then "live"',
        '# approved_before = "YYYY-MM-DD"     # or run `python -m sync adopt --approved-before`',
        "",
    ]
    return "\n".join(lines)


def parse_sheet_args(values: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        name, sep, sid = v.partition("=")
        if not sep or name not in ic.SHEET_KEYS or not sid:
            raise ConfigError(
                f"--sheet expects NAME=SPREADSHEET_ID with NAME one of "
                f"{', '.join(ic.SHEET_KEYS)}, got {v!r}"
            )
        out[name] = sid
    return out


def sandbox_sheet_ids(cfg: Config) -> dict[str, Any]:
    """In the sandbox the spreadsheet ids are known (config/sandbox.toml)."""
    return {kind: getattr(cfg.sheets, kind).spreadsheet_id for kind in ic.SHEET_KEYS}
