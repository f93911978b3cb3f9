"""The sync's configuration: who is who, where everything lives, and how the org names things.

Read from TOML with `tomllib`, validated completely at start-up (before any I/O). Secrets are never
values here, only references: an environment variable's name or a file's path.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.config.build import build
from sync.errors import ConfigError, CredentialError


@dataclass(frozen=True)
class SalesforceFields:
    """API names of the Takedown Request's fields in this org."""

    account: str = "Account__c"
    account_name: str = "Account__r.Name"
    name: str = "Name"
    type: str = "Request_Type__c"
    status: str = "Status__c"
    effective_date: str = "Effective_Date__c"
    reason: str = "Reason__c"
    platform: str = "Platform__c"
    leaving_platform: str = "Leaving_Platform__c"
    credit_amount: str = "Credit_Amount__c"
    product_change_notes: str = "Product_Change_Notes__c"
    new_package: str = "New_Package_Or_Budget__c"
    services: str = "Services__c"
    sync_status: str = "Sync_Status__c"
    sync_message: str = "Sync_Message__c"
    modified: str = "SystemModstamp"


@dataclass(frozen=True)
class ApprovalChain:
    """Who must have approved, in order: Salesforce user ids (or a queue's id for Finance).

    Approvers are matched by id, never by display name: two users may share a name and a user
    may be renamed, and this check gates row deletion and partner email. `match_by = "name"`
    exists for the sandbox only (its emulated users are known by name); the config check
    refuses it anywhere else.

    `source = "process_instance"` reads the record's approval history (the `ProcessSteps`
    child relationship, in the same query as the requests; only the last submission counts).
    `"fields"` is for orgs that record approvals on the record itself: `fields` maps `first`,
    `second` and `finance` to fields holding the approver's name or user id, and optionally
    `first_at`, `second_at`, `finance_at` to date fields (the order is checked only with them).
    """

    first: tuple[str, ...] = ()
    second: tuple[str, ...] = ()
    finance: tuple[str, ...] = ()
    source: Literal["process_instance", "fields"] = "process_instance"
    fields: dict[str, str] = field(default_factory=dict)
    match_by: Literal["id", "name"] = "id"
    # Set by `--sandbox` from the emulated org's users (name_key(name) -> their ids), never in a
    # file: with match_by = "name", a name two users share is refused and a name resolves to
    # its one user's id, so a namesake cannot pass the gate even in the sandbox.
    sandbox_users: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountWriteback:
    object: str = "Account"
    status_field: str = "TDA_Status__c"
    cancellation: str = "Cancelled"
    pause: str = "Paused"
    change: str = "Contract Changed"


@dataclass(frozen=True)
class SalesforceConfig:
    auth: Literal["password", "jwt", "session"] = "password"
    username_env: str = "SF_USERNAME"
    password_env: str = "SF_PASSWORD"
    security_token_env: str = "SF_SECURITY_TOKEN"
    consumer_key_env: str = "SF_CONSUMER_KEY"
    private_key_file: str = ""
    session_id_env: str = "SF_SESSION_ID"
    instance_url: str = ""
    domain: str = "login"
    api_version: str = "59.0"
    object: str = "Takedown_Request__c"
    approved_status: str = "Approved"
    type_values: dict[str, str] = field(
        default_factory=lambda: {
            "cancellation": "Cancellation",
            "pause": "Contract Pause",
            "change": "Contract Change",
        }
    )
    platform_values: dict[str, str] = field(default_factory=lambda: {"DS": "DS", "ARI": "ARI"})
    fields: SalesforceFields = field(default_factory=SalesforceFields)
    approval: ApprovalChain = field(default_factory=ApprovalChain)
    account: AccountWriteback = field(default_factory=AccountWriteback)
    lookback_minutes: int = 15
    full_reconcile_hours: int = 24
    api_budget_share: float = 0.8
    request_link: str = "https://{instance}/lightning/r/{object}/{id}/view"


@dataclass(frozen=True)
class SheetConfig:
    """One tab in one spreadsheet. `columns` maps the sync's names to the sheet's headers."""

    spreadsheet_id: str
    tab: str
    key: str
    columns: dict[str, str]
    removed_tab: str = ""


@dataclass(frozen=True)
class SheetsConfig:
    ds_tracker: SheetConfig
    ari_tracker: SheetConfig
    planner: SheetConfig
    monthly: SheetConfig
    offboarding: SheetConfig
    sync_log: SheetConfig | None = None
    # "service_account": a key file (below); "adc": Application Default Credentials.
    credentials: Literal["service_account", "adc"] = "service_account"
    service_account_file: str = ""
    service_account_file_env: str = "GOOGLE_APPLICATION_CREDENTIALS"
    date_format: str = "%Y-%m-%d"
    tracker_status: dict[str, str] = field(
        default_factory=lambda: {"cancellation": "Cancelled", "pause": "Paused"}
    )
    ninja_cat_flag: str = "Remove from Ninja Cat"


@dataclass(frozen=True)
class TrelloConfig:
    boards: dict[str, str]
    api_key_env: str = "TRELLO_API_KEY"
    token_env: str = "TRELLO_TOKEN"
    archive_on: Literal["effective_date", "approval"] = "effective_date"
    account_id_field: str = "Salesforce Account ID"


@dataclass(frozen=True)
class EmailConfig:
    from_address: str
    simplifi_to: tuple[str, ...]
    manager_to: tuple[str, ...]
    ops_lead_to: tuple[str, ...]
    tda_team_to: tuple[str, ...]
    seo_team_to: tuple[str, ...] = ()
    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    # security = "none" with a login sends the password in clear: refused unless this says so
    # (a relay on the same machine or a test server only).
    allow_cleartext_login: bool = False
    username_env: str = "SMTP_USERNAME"
    password_env: str = "SMTP_PASSWORD"
    # Empty: the templates shipped with the package. A folder here overrides them file by file.
    templates_dir: str = ""
    timeout_seconds: float = 30.0
    # What to do with a message left at "sending" by a crash: report it (default) or resend.
    unconfirmed_policy: Literal["report", "resend"] = "report"


@dataclass(frozen=True)
class RemindersConfig:
    offsets_days: tuple[int, ...] = (7, 1)
    seo_service: str = "SEO"


@dataclass(frozen=True)
class ScheduleConfig:
    """One schedule for everything: reminders and the morning summary are evaluated on every
    run and sent once by the ledger, so no second job (and no second cron line) is needed."""

    cron: str = "*/15 * * * *"
    timezone: str = "UTC"
    misfire_grace_seconds: int = 600


@dataclass(frozen=True)
class RetryConfig:
    max_attempts: int = 5
    max_wait_seconds: float = 60.0
    initial_wait_seconds: float = 1.0


@dataclass(frozen=True)
class AlertsConfig:
    enabled: bool = True


@dataclass(frozen=True)
class HeartbeatConfig:
    """A dead man's switch (healthchecks.io convention): `<url>/start`, `<url>`, `<url>/fail`.
    The URL is a secret-ish token: give it here or name the variable holding it."""

    url: str = ""
    url_env: str = ""
    timeout_seconds: float = 5.0
    retries: int = 2


@dataclass(frozen=True)
class MetricsConfig:
    """A Prometheus textfile for node_exporter's textfile collector (empty: none)."""

    textfile: str = ""


@dataclass(frozen=True)
class MorningSummaryConfig:
    """One email a day to the ops lead, after the first run at or past `send_after`."""

    enabled: bool = False
    send_after: str = "07:00"
    to: tuple[str, ...] = ()


@dataclass(frozen=True)
class GoLiveConfig:
    """Going live in an org with history: the cut-over and the safety valve.

    `approved_before` (YYYY-MM-DD): requests approved before this day were handled by people;
    every run records them as adopted and never acts on them. `mode = "shadow"` makes every
    run dry and mails the operations lead one report a day. `sandbox = true` marks a config
    that only ever talks to the emulators, so a first run with an empty ledger may act.
    """

    approved_before: str = ""
    mode: Literal["live", "shadow"] = "live"
    sandbox: bool = False
    max_requests_per_run: int = 25
    max_days_past: int = 30


@dataclass(frozen=True)
class UndoConfig:
    # Undo a request withdrawn after the sync acted, without waiting for `python -m sync undo`.
    automatic: bool = False


@dataclass(frozen=True)
class Config:
    salesforce: SalesforceConfig
    sheets: SheetsConfig
    trello: TrelloConfig
    email: EmailConfig
    # Empty: $STATE_DIRECTORY (set by systemd's StateDirectory= and by the container image).
    state_dir: str = ""
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    heartbeat: HeartbeatConfig = field(default_factory=HeartbeatConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    morning_summary: MorningSummaryConfig = field(default_factory=MorningSummaryConfig)
    golive: GoLiveConfig = field(default_factory=GoLiveConfig)
    undo: UndoConfig = field(default_factory=UndoConfig)
    # Where relative paths in this file are resolved from (the config file's folder).
    base_dir: str = ""
    source: str = ""

    @property
    def state_path(self) -> Path:
        return self.resolve(self.state_dir)

    def resolve(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p


# Columns each sheet must map, by the sync's own names. The key column is given separately.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "ds_tracker": ("account_id", "client", "status", "pause_date", "cancel_date"),
    "ari_tracker": ("account_id", "client", "status", "pause_date", "cancel_date"),
    "planner": ("request_id", "client", "type", "effective_date", "reason", "link"),
    "monthly": ("request_id", "client", "change", "effective_date"),
    "offboarding": ("request_id", "client", "effective_date", "reason", "ninja_cat"),
    "sync_log": ("run_id", "started_at", "finished_at", "summary"),
}


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
    _check_ops(cfg, path)
    _check_golive(cfg.golive, path)


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


def cleartext_login(email: EmailConfig) -> bool:
    """True when the settings would send the SMTP password unencrypted without leave to."""
    return email.security == "none" and bool(email.username_env) and not email.allow_cleartext_login


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


_SECRETS_READ: set[str] = set()


def remember_secret(value: str) -> None:
    """A secret that does not come through `secret_from_env` (say a URL given in the file, or a
    credential obtained at run time: a session id from a login, an OAuth access token)."""
    if value:
        _SECRETS_READ.add(value)


def secret_from_env(var: str, *, what: str, key: str) -> str:
    """Read a secret from the environment variable the config names."""
    value = os.environ.get(var, "")
    if not value:
        raise CredentialError(f"{what} is not set: export {var}=... (named by config key '{key}')")
    _SECRETS_READ.add(value)
    return value


def secrets_read() -> frozenset[str]:
    """Every secret read so far, so the log filter can hide it whatever library logs it."""
    return frozenset(_SECRETS_READ)


def secret_file(cfg: Config, value: str, *, what: str, key: str) -> Path:
    """A credential file named in config must exist and be readable."""
    if not value:
        raise CredentialError(f"{what}: no file named (config key '{key}')")
    p = cfg.resolve(value)
    try:
        with p.open("rb"):
            pass
    except FileNotFoundError:
        raise CredentialError(f"{what}: file not found: {p} (config key '{key}')") from None
    except OSError as exc:
        raise CredentialError(
            f"{what}: cannot read {p}: {exc.strerror} (config key '{key}')"
        ) from None
    return p
