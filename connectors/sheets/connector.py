"""Google Sheets: the Planner, the two TDA Client Trackers, the Monthly and Offboarding sheets.

People work in these sheets all day while the sync writes into them, so nothing here trusts a row
number: columns are found by header name (row 1) and rows by key (account id or request id), and
every write is decided on a read taken just before it.

Per spreadsheet and run, whatever the number of effects:

1. one read of the whole spreadsheet (`spreadsheets.get` with a field mask: tab ids, titles and
   the displayed value of every cell). It tells which tabs exist (the "removed" tab may not yet)
   and is the baseline that later shows what a person changed. If it shows every effect already
   done (or impossible), that is the only call. (It reads unrelated tabs too: the price of
   learning whether the "removed" tab exists without a third call.)
2. one verification read of just the tabs to be written, immediately before writing. Every
   decision is made on it: rows are re-located by key (a person inserted rows above, sorted the
   tab, deleted or re-keyed the row), and a target cell whose value differs from the baseline is
   reported (NEEDS_PERSON), not overwritten.
3. one atomic `spreadsheets.batchUpdate`: addSheet for a missing "removed" tab, updateCells for
   single cells (status, dates, the Ninja Cat flag), appendCells for new rows and for row copies,
   deleteDimension for removed rows, bottom-up. Google applies all of it or none of it, so a row
   is never deleted without its copy. Every value goes in as `stringValue`: "=HYPERLINK(..)",
   "+1" or "@x" stay text.

A 429, a 5xx or a dropped connection on the write repeats steps 2-3 (bounded by RetryPolicy): the
fresh read shows what the failed attempt did, so a retried append never doubles a row.

The race window that remains: a person's edit that lands between the verification read and the
batchUpdate (usually well under a second) cannot be prevented; Sheets offers no conditional
write. Such an edit can shift rows so that a cell update or a row deletion hits the row now at
the old position (appended rows are safe: appendCells finds the end itself). It is *detected*:
the batchUpdate asks for the written tabs in its own answer (no extra call), and any row that is
not what the re-check plus our write should give makes the effects on that tab NEEDS_PERSON,
naming the rows, instead of "applied"; the next run re-checks those effects by key. Edits
between the first read and the verification read (a second or more with large tabs) are handled
as described above.

This module does the I/O (auth, reads, the write, retries); what to write is decided without a
network in `connectors.sheets.plan`.

Why one module of about 490 lines: the reads, the one batchUpdate per spreadsheet and the
re-check after an ambiguous answer share one authorised session, its Retry-After and the run's
retry count; all the deciding is apart (`book`, `rows`, `plan`, `writes`, `undo`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from functools import partial
from typing import Any, TypeVar

import google.auth
import requests
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL

from connectors import pacing
from connectors.base import Journal
from connectors.certificates import refused_certificate
from connectors.http import build_session, cache_environment, mount_routes
from connectors.retry import RetryPolicy, retry_after_seconds
from connectors.sheets.book import DONE_BY_PERSON, BookPlan, Tab, find_tab, parse_book
from connectors.sheets.plan import ORDER, plan_book
from connectors.sheets.token import TokenEndpointError, TokenRequest, describe
from connectors.sheets.writes import batch_requests, rows_not_as_written
from sync.config.model import Config, SheetConfig
from sync.config.redaction import redact
from sync.config.secrets import remember_secret, secret_file, secret_from_env
from sync.core.domain import Check, CheckState, Effect, EffectKind, Outcome, OutcomeStatus, System
from sync.errors import (
    ConnectorError,
    CredentialError,
    FatalError,
    RetriableError,
    SyncError,
)

log = logging.getLogger("connectors.sheets")

SERVICE = "Google Sheets"
SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
TIMEOUT_SECONDS = 60.0
# What the reads ask for: tab ids and titles, and each cell's displayed value only.
READ_FIELDS = (
    "sheets(properties(sheetId,title,index,gridProperties),data(rowData(values(formattedValue))))"
)
# The re-check before a write that removes rows also asks what was entered, so the copy of a
# removed row keeps a person's formulas (=HYPERLINK keeps its link, not just its label).
READ_FIELDS_ENTERED = (
    "sheets(properties(sheetId,title,index,gridProperties),"
    "data(rowData(values(formattedValue,userEnteredValue))))"
)
WRITE_ANSWER_FIELDS = (
    "updatedSpreadsheet(sheets(properties(sheetId,title),data(rowData(values(formattedValue)))))"
)
SHEET_NAMES = ("ds_tracker", "ari_tracker", "planner", "monthly", "offboarding")
T = TypeVar("T")


class SheetsConnector:
    """Applies the Sheets effects of a run in bulk: per spreadsheet, 2 reads and 1 write."""

    system = System.SHEETS

    def __init__(
        self,
        cfg: Config,
        *,
        routes: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._cfg = cfg
        self._retry = retry or RetryPolicy.from_config(cfg.retry)
        credentials, self.client_email = _credentials(cfg, routes)
        # Token requests and Sheets calls both go through routed sessions (emulators in tests).
        token_session = build_session(routes)
        token_session.hooks["response"].append(_remember_issued_token)
        # The token transport fails at once on an error answer: google-auth's own hidden
        # retry (real sleeps) is replaced by this connector's bounded policy.
        self._session = AuthorizedSession(  # type: ignore[no-untyped-call]
            credentials, auth_request=TokenRequest(session=token_session)
        )
        self._token_failures = 0  # token endpoint failures in a row (Google's fault)
        self._token_down = ""  # how the last of them reads
        if routes:
            mount_routes(self._session, routes)
        cache_environment(self._session)
        # Under Google's per-minute quotas (60 reads, 60 writes per user): waits, not 429s.
        self._pacer = pacing.pace_sheets_session(
            self._session, cfg.pacing, self.client_email or "adc", sleep=self._retry.sleep
        )
        self._http = HTTPClient(credentials, session=self._session)
        self._http.set_timeout(TIMEOUT_SECONDS)

    @property
    def retries(self) -> int:
        """Retries made so far by this connector's calls, for the run log."""
        return self._retry.retries

    def close(self) -> None:
        self._session.close()  # type: ignore[no-untyped-call]

    def check(self) -> list[str]:
        """Read-only (`python -m sync check`): every configured spreadsheet opens with this service
        account, and each tab has every mapped header (one read per spreadsheet)."""
        problems: list[str] = []
        sheets = [(n, getattr(self._cfg.sheets, n)) for n in (*SHEET_NAMES, "sync_log")]
        by_book: dict[str, list[tuple[str, SheetConfig]]] = {}
        for name, sheet in sheets:
            if sheet is not None:
                by_book.setdefault(sheet.spreadsheet_id, []).append((name, sheet))
        for sid, group in by_book.items():
            try:
                book = self._retry.call(partial(self._read, sid, None), what=f"read {sid}")
            except ConnectorError as exc:
                problems.append(str(exc))
                continue
            for name, sheet in group:
                tab = find_tab(book, sheet.tab)
                if tab is None:
                    problems.append(
                        f"sheets.{name}: no tab '{sheet.tab}' in spreadsheet {sid} "
                        f"(tabs: {', '.join(book)})"
                    )
                    continue
                missing = [h for h in sheet.columns.values() if not tab.columns(h)]
                if missing:
                    problems.append(
                        f"sheets.{name}: tab '{sheet.tab}' has no header(s) "
                        f"{', '.join(repr(h) for h in missing)} in row 1"
                    )
                if sheet.removed_tab and find_tab(book, sheet.removed_tab) is None:
                    problems.append(
                        f"note: sheets.{name}: tab '{sheet.removed_tab}' does not exist yet; "
                        "the first removal creates it"
                    )
        return problems

    def append_sync_log(self, values: Mapping[str, str]) -> None:
        """One row per run in the optional "Sync Log" tab, by header, as text (2 calls)."""
        sheet = self._cfg.sheets.sync_log
        if sheet is None:
            return
        sid = sheet.spreadsheet_id
        book = self._retry.call(lambda: self._read(sid, [sheet.tab]), what="read the sync log")
        tab = find_tab(book, sheet.tab)
        if tab is None:
            raise FatalError(SERVICE, f"sheets.sync_log: no tab '{sheet.tab}' in {sid}")
        row = [""] * len(tab.headers)
        for logical, header in sheet.columns.items():
            cols = tab.columns(header)
            if cols and logical in values:
                # A shared sheet people read: the summary may quote an upstream error.
                row[cols[0]] = redact(values[logical])
        rng = "'" + tab.title.replace("'", "''") + "'!A1"
        self._retry.call(
            lambda: self._guard(
                sid,
                lambda: self._http.values_append(
                    sid,
                    rng,
                    params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
                    body={"values": [row]},
                ),
            ),
            what="append to the sync log",
        )

    def header_rows(self, spreadsheet_id: str) -> tuple[str, dict[str, list[str]]]:
        """(title, tab -> its header row) of one spreadsheet: one read, for `python -m sync
        init`."""
        sid = spreadsheet_id
        params: dict[str, Any] = {"fields": "properties(title)," + READ_FIELDS}
        body = self._retry.call(
            lambda: self._guard(sid, lambda: self._http.spreadsheets_get(sid, params=params)),
            what=f"read {sid}",
        )
        title = str(((body or {}).get("properties") or {}).get("title", ""))
        return title, {name: list(tab.headers) for name, tab in parse_book(body).items()}

    def verify(self, effects: Sequence[Effect]) -> dict[str, Check]:
        """Read-only (dry runs, shadow mode): does each sheet already show the effect? One read
        per spreadsheet; the same decisions as a run, with nothing written: a tracker row that
        is gone is removed (by a person, when the sync kept no copy), as a run records it."""
        out: dict[str, Check] = {}
        by_book: dict[str, list[tuple[Effect, str, SheetConfig]]] = {}
        for e in effects:
            name = sheet_of(e)
            if e.kind not in ORDER or name not in SHEET_NAMES:
                out[e.key] = Check(e.key, CheckState.UNKNOWN, f"not a sheet effect: {e.key}")
                continue
            sheet: SheetConfig = getattr(self._cfg.sheets, name)
            by_book.setdefault(sheet.spreadsheet_id, []).append((e, name, sheet))
        for sid, group in by_book.items():
            try:
                book = self._retry.call(partial(self._read, sid, None), what=f"read {sid}")
            except SyncError as exc:
                out.update({e.key: Check(e.key, CheckState.UNKNOWN, str(exc)) for e, *_ in group})
                continue
            journal = _ReadOnly(max(e.not_before for e, *_ in group))
            plan = plan_book(self._cfg, group, book, None, journal, set())
            for e, _name, _sheet in group:
                if e.key in plan.pending:
                    out[e.key] = Check(e.key, CheckState.NOT_DONE, plan.pending[e.key])
                else:
                    o = plan.decided[e.key]
                    by_person = o.status is OutcomeStatus.SKIPPED and o.message.startswith(
                        DONE_BY_PERSON
                    )
                    if o.status is OutcomeStatus.ALREADY_DONE or by_person:
                        out[e.key] = Check(e.key, CheckState.DONE, o.message)
                    else:
                        out[e.key] = Check(
                            e.key, CheckState.UNKNOWN, f"a run would say: {o.message}"
                        )
        return out

    # ----- the run --------------------------------------------------------------------------
    def apply(self, effects: Sequence[Effect], journal: Journal) -> Iterator[Outcome]:
        by_book: dict[str, list[tuple[Effect, str, SheetConfig]]] = {}
        for e in effects:
            if e.kind not in ORDER:
                yield Outcome(e.key, OutcomeStatus.FAILED, f"{e.kind} is not a Sheets effect")
                continue
            name = sheet_of(e)
            if name not in SHEET_NAMES:
                yield Outcome(e.key, OutcomeStatus.FAILED, f"no sheet named {e.target!r}")
                continue
            sheet: SheetConfig = getattr(self._cfg.sheets, name)
            by_book.setdefault(sheet.spreadsheet_id, []).append((e, name, sheet))
        for sid, group in by_book.items():
            group.sort(key=lambda item: ORDER.index(item[0].kind))
            yield from self._apply_book(sid, group, journal)

    def _apply_book(
        self, sid: str, group: list[tuple[Effect, str, SheetConfig]], journal: Journal
    ) -> Iterator[Outcome]:
        retries_before = self._retry.retries
        attempts = 0
        attempted: set[str] = set()
        last: BookPlan | None = None
        moved: dict[str, list[int]] = {}
        try:
            base = self._retry.call(lambda: self._read(sid, None), what=f"read {sid}")
            first = plan_book(self._cfg, group, base, None, journal, attempted)
            last = first
            if first.writes:
                removes = any(e.kind is EffectKind.TRACKER_REMOVE for e, _n, _s in group)
                tabs = sorted({t for _e, _n, s in group for t in (s.tab, s.removed_tab) if t})
                known = [t.title for name in tabs if (t := find_tab(base, name)) is not None]

                def cycle() -> BookPlan:
                    nonlocal attempts, last, moved
                    attempts += 1
                    # After a failed write, read everything: it may have added a tab.
                    fresh = self._read(sid, known if attempts == 1 else None, entered=removes)
                    plan = plan_book(self._cfg, group, fresh, base, journal, attempted)
                    last = plan
                    if plan.writes:
                        attempted.update(plan.pending)
                        # What the write replaces is on disk before the write (first one wins),
                        # all of this batchUpdate's effects in one step.
                        journal.before_images(
                            [
                                (e, plan.images[e.key])
                                for e, _n, _s in group
                                if e.key in plan.pending and e.key in plan.images
                            ]
                        )
                        after = self._write(sid, plan)
                        moved = rows_not_as_written(plan, fresh, after)
                    return plan

                last = self._retry.call(cycle, what=f"write {sid}")
        except SyncError as exc:
            message = str(exc)
            log.info("spreadsheet %s: %s", sid, message, extra={"spreadsheet": sid})
            retries = self._retry.retries - retries_before
            for effect, _name, _sheet in group:
                decided = last.decided.get(effect.key) if last else None
                if decided is not None:
                    yield decided
                else:
                    yield Outcome(
                        effect.key, OutcomeStatus.FAILED, message, max(attempts, 1), retries
                    )
            return
        retries = self._retry.retries - retries_before
        assert last is not None
        for effect, _name, sheet in group:
            shifted = [(t, moved[t]) for t in (sheet.tab, sheet.removed_tab) if t in moved]
            if effect.key in last.pending and shifted:
                where = "; ".join(f"tab '{t}' rows {_rows(r)}" for t, r in shifted)
                log.info("spreadsheet %s changed while the sync wrote: %s", sid, where)
                yield Outcome(
                    effect.key,
                    OutcomeStatus.NEEDS_PERSON,
                    f"written, but the sheet changed at that very moment ({where} are not what "
                    "the sync wrote: did someone insert, sort or delete rows?). Check those rows "
                    "by hand; the next run re-checks this effect by its key.",
                    attempts,
                    retries,
                )
            elif effect.key in last.caveats:
                yield Outcome(
                    effect.key,
                    OutcomeStatus.NEEDS_PERSON,
                    last.caveats[effect.key],
                    attempts,
                    retries,
                )
            elif effect.key in last.pending:
                yield Outcome(
                    effect.key, OutcomeStatus.APPLIED, last.pending[effect.key], attempts, retries
                )
            else:
                o = last.decided[effect.key]
                yield Outcome(o.key, o.status, o.message, max(attempts, 1), retries)
        log.info(
            "spreadsheet %s: %d effects, %d written, %d retries",
            sid,
            len(group),
            len(last.pending),
            retries,
            extra={"spreadsheet": sid},
        )

    # ----- HTTP -------------------------------------------------------------------------------
    def _read(self, sid: str, tabs: list[str] | None, *, entered: bool = False) -> dict[str, Tab]:
        params: dict[str, Any] = {"fields": READ_FIELDS_ENTERED if entered else READ_FIELDS}
        if tabs:
            params["ranges"] = ["'" + t.replace("'", "''") + "'" for t in tabs]
        body = self._guard(sid, lambda: self._http.spreadsheets_get(sid, params=params))
        return parse_book(body)

    def _write(self, sid: str, plan: BookPlan) -> dict[str, Tab]:
        """One atomic batchUpdate; its answer carries the written tabs as they are after it."""
        body = {
            "requests": batch_requests(plan),
            "includeSpreadsheetInResponse": True,
            "responseIncludeGridData": True,
            "responseRanges": ["'" + t.replace("'", "''") + "'" for t in plan.writes],
        }
        # Only what the shifted-row check reads: each written tab's displayed values. Without
        # a mask Google sends every cell's entered, effective and formatted value and format.
        params: dict[str, Any] = {"fields": WRITE_ANSWER_FIELDS}
        answer = self._guard(
            sid,
            lambda: self._http.request(
                "post", SPREADSHEET_BATCH_UPDATE_URL % sid, json=body, params=params
            ).json(),
        )
        return parse_book((answer or {}).get("updatedSpreadsheet") or {})

    def _quota_wait(self, response: requests.Response) -> float:
        """Google's 429 has no Retry-After and its per-minute quota is refilled only when the
        minute rolls over: wait for the window (the pacer knows how much of it is left), not
        the one second a backoff would start with."""
        kind = pacing.sheets_kind(response.request) if response.request is not None else None
        if self._pacer is not None and kind is not None:
            return self._pacer.blocked_for(kind)
        return self._cfg.pacing.sheets_window_seconds

    def _guard(self, sid: str, fn: Callable[[], T]) -> T:
        """Call the API; translate every failure into the sync's error tree.

        Once Google's token endpoint has failed as many times in a row as the retry policy
        attempts a call, no Sheets call is tried again this run: each would only ask the
        endpoint again (a refresh comes before every call), one policy's worth of retries
        each."""
        if self._token_down and self._token_failures >= self._retry.max_attempts:
            raise FatalError(SERVICE, f"spreadsheet {sid} not tried: {self._token_down}")
        try:
            answer = fn()
        except APIError as exc:
            status = exc.response.status_code
            text = f"{status} {exc.error.get('status', '')}: {exc.error.get('message', '')}"
            if status == 429 or status >= 500:
                after = retry_after_seconds(exc.response.headers.get("Retry-After"))
                if status == 429 and after is None:
                    after = self._quota_wait(exc.response)
                raise RetriableError(
                    SERVICE, f"spreadsheet {sid}: {text}", status=status, retry_after=after
                ) from None
            if status in (403, 404):
                text += f" (is spreadsheet {sid} shared with {self.client_email}?)"
            raise FatalError(SERVICE, f"spreadsheet {sid}: {text}", status=status) from None
        except TokenEndpointError as exc:
            self._token_failures += 1
            text = describe(exc, self.client_email)
            self._token_down = text if exc.google_fault else ""
            if exc.google_fault:
                raise RetriableError(SERVICE, text, status=exc.status) from None
            raise FatalError(SERVICE, text, status=exc.status) from None
        except auth_exceptions.RefreshError as exc:
            error = RetriableError if exc.retryable else FatalError
            raise error(SERVICE, f"Google refused the service account: {exc}") from None
        except (auth_exceptions.TransportError, requests.RequestException) as exc:
            untrusted = refused_certificate(SERVICE, exc)
            if untrusted is not None:
                raise untrusted from None
            raise RetriableError(SERVICE, f"spreadsheet {sid}: {type(exc).__name__}") from None
        self._token_failures = 0
        return answer


def _credentials(cfg: Config, routes: Mapping[str, str] | None) -> tuple[Any, str]:
    """A service-account key file (named in config or by an env var), or with
    `sheets.credentials = "adc"` Google's Application Default Credentials: workload identity,
    `gcloud auth application-default login`, or the file in $GOOGLE_APPLICATION_CREDENTIALS."""
    sheets = cfg.sheets
    if sheets.credentials == "adc":
        try:
            creds, _project = google.auth.default(
                scopes=list(SCOPES), request=Request(session=build_session(routes))
            )
        except auth_exceptions.DefaultCredentialsError as exc:
            raise CredentialError(
                f"no Application Default Credentials ({exc}) (config key 'sheets.credentials')"
            ) from None
        email = str(getattr(creds, "service_account_email", "") or "the ADC account")
        return creds, email
    if sheets.service_account_file:
        name, key = sheets.service_account_file, "sheets.service_account_file"
    else:
        key = "sheets.service_account_file_env"
        name = secret_from_env(
            sheets.service_account_file_env,
            what="the Google service-account key file",
            key=key,
        )
    path = secret_file(cfg, name, what="the Google service-account key file", key=key)
    try:
        creds = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(path), scopes=list(SCOPES)
        )
    except (ValueError, KeyError) as exc:
        raise CredentialError(
            f"not a service-account key file: {path} ({exc}) (config key '{key}')"
        ) from None
    return creds, str(creds.service_account_email)


class _ReadOnly:
    """The journal a verification plans with: it never sends anything."""

    run_id = "verify"

    def __init__(self, today: date) -> None:
        # Only the "removed on" text of a copy that is never written: the latest due day of
        # the effects checked stands in for the run's day, so no clock is read here.
        self.today = today

    def sending(self, effects: Sequence[Effect], message_id: str) -> None:
        raise RuntimeError(f"a read-only check tried to send {message_id}")

    def delivered_to(self, effect: Effect) -> frozenset[str]:
        """A verification sends nothing: nobody was sent anything by it."""
        return frozenset()

    def before_image(self, effect: Effect, image: Mapping[str, object]) -> None:
        """A verification plans but never writes: nothing is replaced, nothing to keep."""

    def before_images(self, images: Sequence[tuple[Effect, Mapping[str, object]]]) -> None:
        """As `before_image`: nothing to keep."""


def sheet_of(e: Effect) -> str:
    """The configured sheet an effect writes: its target, or the part before the first ":" of
    a correction's target (`ds_tracker:2026-12-22`, sync/core/changes.py)."""
    return e.target.partition(":")[0]


def _remember_issued_token(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """The OAuth token endpoint's answer holds a bearer token: hide it from every log line."""
    if "json" not in response.headers.get("Content-Type", ""):
        return
    try:
        body = response.json()
    except ValueError:
        return
    if isinstance(body, dict):
        for name in ("access_token", "id_token", "refresh_token"):
            if isinstance(body.get(name), str):
                remember_secret(body[name])


def _rows(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")
