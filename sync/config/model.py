"""The sync's configuration: who is who, where everything lives, and how the org names things.

The frozen model only: reading and checking a file is `sync.config.loading`, credentials are
`sync.config.secrets`. Secrets are never values here, only references: an environment
variable's name or a file's path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


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
    # Before acting, a run that would spend more than what is left today less this share
    # stops with the figures: the allocation is shared with the org's other integrations.
    api_reserve_share: float = 0.2
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
    # All retry waits of one service in one run together: a service that keeps failing costs
    # a run this much at most, not max_wait_seconds again for every call.
    run_budget_seconds: float = 120.0


@dataclass(frozen=True)
class PacingConfig:
    """The services' published rate limits, which the sync keeps under (connectors.pacing).

    Defaults are the published figures: Trello 100 requests per 10 s per token and 300 per
    key; Google Sheets 60 reads and 60 writes per minute per user, 300 of each per project.
    Lower them when other tools share the credential. `margin_seconds` widens every window
    (the service counts a request when it arrives); `trello_in_flight` is how many Trello
    requests may be under way at once, so a round trip does not sit on top of the limit."""

    enabled: bool = True
    margin_seconds: float = 0.05
    trello_per_token: int = 100
    trello_per_key: int = 300
    trello_window_seconds: float = 10.0
    trello_in_flight: int = 4
    sheets_reads_per_user: int = 60
    sheets_writes_per_user: int = 60
    sheets_per_project: int = 300
    sheets_window_seconds: float = 60.0


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
class ReportConfig:
    # The ops lead's page (`python -m sync report --html PATH`), rewritten after every run
    # when set; "" writes none. Relative to the config file's folder.
    html: str = ""


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
    pacing: PacingConfig = field(default_factory=PacingConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    heartbeat: HeartbeatConfig = field(default_factory=HeartbeatConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    morning_summary: MorningSummaryConfig = field(default_factory=MorningSummaryConfig)
    golive: GoLiveConfig = field(default_factory=GoLiveConfig)
    undo: UndoConfig = field(default_factory=UndoConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
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


def cleartext_login(email: EmailConfig) -> bool:
    """True when the settings would send the SMTP password unencrypted without leave to."""
    return email.security == "none" and bool(email.username_env) and not email.allow_cleartext_login
