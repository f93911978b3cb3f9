"""Reading a config file: TOML in, a frozen `Config` out, validated completely at start-up.

Everything is checked before any I/O (types by `sync.config.build`, then the rules between
values here), and every problem names the file and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.config.build import build
from sync.config.model import (
    REQUIRED_COLUMNS,
    ApprovalChain,
    Config,
    GoLiveConfig,
    PacingConfig,
    SheetConfig,
    cleartext_login,
)
from sync.errors import ConfigError


def load(path: str | Path, *, sandbox: bool = False) -> Config:
    """Read and validate a config file. Raises ConfigError naming the file and key.

    `sandbox` is True only when the config runs against the emulators (`--sandbox`): only
    then may approvers be matched by name."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("config file not found", path=str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(p)) from None
    except UnicodeDecodeError as exc:
        line = p.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} on line {line} (save the file "
            "as UTF-8)",
            path=str(p),
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path=str(p)) from None
    return from_dict(raw, path=str(p), base_dir=str(p.resolve().parent), sandbox=sandbox)


def from_dict(raw: dict[str, object], *, path: str, base_dir: str, sandbox: bool = False) -> Config:
    data = dict(raw)
    schedule = data.get("schedule")
    if isinstance(schedule, dict) and "reminders_cron" in schedule:
        raise ConfigError(
            "no longer used: reminders and the morning summary are evaluated on every run and "
            "sent once, so one schedule covers them. Remove this key and let schedule.cron "
            "include every day they must go out on (the default '*/15 * * * *' does)",
            path=path,
            key="schedule.reminders_cron",
        )
    data["base_dir"] = base_dir
    data["source"] = path
    if not data.get("state_dir"):
        data["state_dir"] = _service_state_dir(path)
    cfg = build(Config, data, path=path)
    _check(cfg, path)
    _check_approvers(cfg.salesforce.approval, path, sandbox=sandbox)
    return cfg


def _service_state_dir(path: str) -> str:
    """No `state_dir` in the file: the one the service manager made for us, or a clear stop.

    A default relative to the config file would put the ledger beside /etc/offboarding-sync;
    a guessed per-user folder would split the state between the service and a person running
    `status` from a shell. systemd's `StateDirectory=` sets $STATE_DIRECTORY (a list separated
    by ':'; the first is ours) and the container image sets it to its /state volume."""
    first = os.environ.get("STATE_DIRECTORY", "").split(":")[0].strip()
    if first:
        if not Path(first).is_absolute():
            raise ConfigError(
                f"$STATE_DIRECTORY must be an absolute path, found {first!r}",
                path=path,
                key="state_dir",
            )
        return first
    raise ConfigError(
        "missing: name the folder for the ledger, run log and lock (e.g. state_dir = "
        '"/var/lib/offboarding-sync"), or run under systemd with StateDirectory= (which sets '
        "$STATE_DIRECTORY)",
        path=path,
        key="state_dir",
    )


def _check_approvers(chain: ApprovalChain, path: str, *, sandbox: bool) -> None:
    """Approvers are Salesforce user ids; names only in the sandbox, and only when asked for."""
    key = "salesforce.approval"
    if chain.match_by == "name":
        if not sandbox:
            raise ConfigError(
                'match_by = "name" is for the sandbox only: a display name can be shared or '
                "renamed, and the approval check gates row deletion and partner email. Give "
                "the approvers' Salesforce user ids (005...) and remove match_by",
                path=path,
                key=f"{key}.match_by",
            )
        return
    for role in ("first", "second", "finance"):
        for who in getattr(chain, role):
            text = who.strip()
            if not (len(text) in (15, 18) and text.isascii() and text.isalnum()):
                raise ConfigError(
                    f"{who!r} is not a Salesforce user id: approvers are matched by user id "
                    "(15 or 18 characters, e.g. 005...; Setup > Users shows it in the user's "
                    "URL), never by name",
                    path=path,
                    key=f"{key}.{role}",
                )


def _check(cfg: Config, path: str) -> None:
    """Rules a type check cannot express."""
    sf = cfg.salesforce
    for kind in ("cancellation", "pause", "change"):
        if kind not in sf.type_values:
            raise ConfigError(
                f"missing '{kind}' (the Salesforce value for that request type)",
                path=path,
                key="salesforce.type_values",
            )
    for plat in ("DS", "ARI"):
        if plat not in sf.platform_values:
            raise ConfigError(f"missing '{plat}'", path=path, key="salesforce.platform_values")
    if not 0 < sf.api_budget_share <= 1:
        raise ConfigError(
            f"expected a share between 0 and 1, found {sf.api_budget_share}",
            path=path,
            key="salesforce.api_budget_share",
        )
    if sf.auth == "jwt" and not sf.private_key_file:
        raise ConfigError(
            "auth = 'jwt' needs a private_key_file", path=path, key="salesforce.private_key_file"
        )
    if not sf.approval.first or not sf.approval.second:
        raise ConfigError(
            "the approval chain needs a first and a second approver",
            path=path,
            key="salesforce.approval",
        )
    for name, sheet in _sheets(cfg):
        prefix = f"sheets.{name}"
        if not sheet.spreadsheet_id.strip():
            raise ConfigError("must not be empty", path=path, key=f"{prefix}.spreadsheet_id")
        missing = [c for c in REQUIRED_COLUMNS[name] if c not in sheet.columns]
        if missing:
            raise ConfigError(
                f"missing column mapping(s): {', '.join(missing)}",
                path=path,
                key=f"{prefix}.columns",
            )
        if sheet.key not in sheet.columns:
            raise ConfigError(
                f"'{sheet.key}' is not one of the mapped columns", path=path, key=f"{prefix}.key"
            )
    for name in ("cancellation", "pause"):
        if name not in cfg.sheets.tracker_status:
            raise ConfigError(f"missing '{name}'", path=path, key="sheets.tracker_status")
    _check_date_format(cfg.sheets.date_format, path)
    if not cfg.trello.boards:
        raise ConfigError("name at least one board", path=path, key="trello.boards")
    if any(d <= 0 for d in cfg.reminders.offsets_days):
        raise ConfigError(
            "offsets must be whole days above zero", path=path, key="reminders.offsets_days"
        )
    for key, value in (("email.simplifi_to", cfg.email.simplifi_to),):
        if not value:
            raise ConfigError("must name at least one address", path=path, key=key)
    for addr_key in ("simplifi_to", "manager_to", "ops_lead_to", "tda_team_to", "seo_team_to"):
        for addr in getattr(cfg.email, addr_key):
            if "@" not in addr or any(ch in addr for ch in "\r\n,;"):
                raise ConfigError(
                    f"not an email address: {addr!r}", path=path, key=f"email.{addr_key}"
                )
    try:
        ZoneInfo(cfg.schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {cfg.schedule.timezone!r} (expected an IANA name such as "
            "'America/Chicago' or 'UTC')",
            path=path,
            key="schedule.timezone",
        ) from None
    if cleartext_login(cfg.email):
        raise ConfigError(
            "security = 'none' with a login (username_env is set) would send the SMTP password "
            "in clear; use 'starttls' or 'ssl', or set allow_cleartext_login = true for a relay "
            "on this machine",
            path=path,
            key="email.security",
        )
    if cfg.retry.max_attempts < 1:
        raise ConfigError("must be at least 1", path=path, key="retry.max_attempts")
    if not 0 <= cfg.salesforce.api_reserve_share < 1:
        raise ConfigError(
            "expected a share from 0 up to (not including) 1, found "
            f"{cfg.salesforce.api_reserve_share}",
            path=path,
            key="salesforce.api_reserve_share",
        )
    _check_pacing(cfg.pacing, path)
    _check_ops(cfg, path)
    _check_golive(cfg.golive, path)


# strftime directives every platform's C library knows (C99 and POSIX); "%%" is a percent sign.
_DATE_DIRECTIVES = frozenset("aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%")


def _check_date_format(fmt: str, path: str) -> None:
    """A `%` that starts no known directive would be written into every sheet as it stands
    (or differently on another platform): refused at load, naming where it is."""
    i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            # glibc's flags (%-d: no padding), common in sheets' US dates; the sync runs on Linux.
            flag = fmt[i + 1 : i + 2] if fmt[i + 1 : i + 2] in ("-", "_", "0", "^", "#") else ""
            directive = fmt[i + 1 + len(flag) : i + 2 + len(flag)]
            if directive not in _DATE_DIRECTIVES or not directive or (flag and directive == "%"):
                shown = fmt[i : i + 2 + len(flag)]
                what = f"'{shown}'" if directive else "a '%' at the end"
                raise ConfigError(
                    f"{fmt!r}: {what} (position {i + 1}) is no date directive; use strftime "
                    "directives such as %Y-%m-%d or %m/%d/%Y, and %% for a percent sign",
                    path=path,
                    key="sheets.date_format",
                )
            i += 2 + len(flag)
            continue
        i += 1
    if not re.search(r"%[-_0^#]?[deFDjxc]", fmt):
        raise ConfigError(
            f"{fmt!r} names no day of the month (%d), so two dates would read the same",
            path=path,
            key="sheets.date_format",
        )


def _check_pacing(p: PacingConfig, path: str) -> None:
    for name in (
        "trello_per_token",
        "trello_per_key",
        "trello_in_flight",
        "sheets_reads_per_user",
        "sheets_writes_per_user",
        "sheets_per_project",
    ):
        if getattr(p, name) < 1:
            raise ConfigError("must be at least 1", path=path, key=f"pacing.{name}")
    for name in ("trello_window_seconds", "sheets_window_seconds"):
        if getattr(p, name) <= 0:
            raise ConfigError("must be more than 0 seconds", path=path, key=f"pacing.{name}")
    if p.margin_seconds < 0:
        raise ConfigError("must not be negative", path=path, key="pacing.margin_seconds")


def _check_ops(cfg: Config, path: str) -> None:
    """The monitoring keys: heartbeat, metrics file, morning summary."""
    hb = cfg.heartbeat
    if hb.url and hb.url_env:
        raise ConfigError("give url or url_env, not both", path=path, key="heartbeat")
    if hb.url and not hb.url.startswith(("https://", "http://")):
        raise ConfigError("expected an http(s) URL", path=path, key="heartbeat.url")
    if not 0 < hb.timeout_seconds <= 30:
        raise ConfigError("expected 0-30 seconds", path=path, key="heartbeat.timeout_seconds")
    if not 0 <= hb.retries <= 5:
        raise ConfigError("expected 0-5", path=path, key="heartbeat.retries")
    if cfg.metrics.textfile and not cfg.metrics.textfile.endswith(".prom"):
        raise ConfigError(
            "node_exporter's textfile collector reads only files ending in .prom",
            path=path,
            key="metrics.textfile",
        )
    ms = cfg.morning_summary
    try:
        hour, minute = (int(x) for x in ms.send_after.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise ConfigError(
            f"expected HH:MM, found {ms.send_after!r}", path=path, key="morning_summary.send_after"
        ) from None
    for addr in ms.to:
        if "@" not in addr or any(ch in addr for ch in "\r\n,;"):
            raise ConfigError(
                f"not an email address: {addr!r}", path=path, key="morning_summary.to"
            )
    if ms.enabled and not (ms.to or cfg.email.ops_lead_to):
        raise ConfigError(
            "enabled, but neither morning_summary.to nor email.ops_lead_to names an address",
            path=path,
            key="morning_summary.to",
        )


def _check_golive(g: GoLiveConfig, path: str) -> None:
    if g.approved_before:
        try:
            date.fromisoformat(g.approved_before)
        except ValueError:
            raise ConfigError(
                f'expected a date as "YYYY-MM-DD" (in quotes), found {g.approved_before!r}',
                path=path,
                key="golive.approved_before",
            ) from None
    if g.max_requests_per_run < 1:
        raise ConfigError("must be at least 1", path=path, key="golive.max_requests_per_run")
    if g.max_days_past < 0:
        raise ConfigError("must be 0 or more", path=path, key="golive.max_days_past")


def _sheets(cfg: Config) -> list[tuple[str, SheetConfig]]:
    s = cfg.sheets
    out = [
        ("ds_tracker", s.ds_tracker),
        ("ari_tracker", s.ari_tracker),
        ("planner", s.planner),
        ("monthly", s.monthly),
        ("offboarding", s.offboarding),
    ]
    if s.sync_log is not None:
        out.append(("sync_log", s.sync_log))
    return out
