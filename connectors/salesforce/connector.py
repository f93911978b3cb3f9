"""Salesforce: where requests come from (`fetch`) and where the sync reports back (`apply`).

Built on simple-salesforce with our own `requests` session, so the emulator and the real org are
reached the same way. Each run first checks the [salesforce] mapping against the org's describe
(one call per object: the request object and the account object, `connectors.salesforce.mapping`)
and stops before acting if a field is missing, mistyped or too short; then one poll is one SOQL
query (approval history included as a child subquery); write-backs go out as sObject
Collections, 200 records a call, grouped by object so a call is at most two of Salesforce's
type chunks. Every call passes through one guard that maps the library's exceptions onto our
error tree, retries transient ones, renews an expired session once and keeps an eye on the
org's daily API allocation.

Mapping a record to a request lives in `connectors.salesforce.records`, translating errors in
`connectors.salesforce.errors`; both are pure.
The approval history is parsed in `connectors.salesforce.history` (and judged in the core),
SOQL text is built in `connectors.salesforce.soql`, the mapping check is
`connectors.salesforce.mapping`.

Why one module of about 650 lines: the poll, `find`, the write-backs, `verify`, `check`, `init`'s
describes and the preflight all go through one logged-in session and one guard (retries, the
session renewed once, the API allocation watched, calls counted for the run log); that shared
state is the connector, and every pure part is already a module of its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceResourceNotFound,
)

from connectors.base import FetchResult, Journal
from connectors.http import build_session
from connectors.retry import RetryPolicy, retry_after_seconds
from connectors.salesforce import history, soql
from connectors.salesforce import mapping as salesforce_mapping
from connectors.salesforce.errors import SERVICE, error_text, translate
from connectors.salesforce.records import RecordMapper, account_status_path, request_fields
from sync.config.model import Config
from sync.config.secrets import remember_secret, secret_file, secret_from_env
from sync.core.domain import (
    NOT_IN_SALESFORCE,
    Check,
    CheckState,
    Effect,
    EffectKind,
    Finding,
    Outcome,
    OutcomeStatus,
    System,
    TakedownRequest,
    WritebackTexts,
)
from sync.errors import BudgetExceededError, ConfigError, FatalError, MappingError, SyncError

T = TypeVar("T")
log = logging.getLogger("connectors.salesforce")

_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")

COMPOSITE_SOBJECTS = "composite/sobjects"  # sObject Collections, relative to /services/data/vXX/
COLLECTION_LIMIT = 200  # records per sObject Collections call (Salesforce's maximum)
REST_PATH = "/services/data/"  # calls under it count against the daily API allocation
TIMEOUT_SECONDS = 60.0


class SalesforceConnector:
    """Reads Takedown Requests and writes back what the sync did; logs in on first use."""

    system = System.SALESFORCE

    def __init__(
        self,
        cfg: Config,
        *,
        writeback_texts: WritebackTexts,
        routes: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._cfg = cfg
        # What the write-backs may write, for the mapping check (from the core, by the wiring).
        self._writeback_texts = writeback_texts
        self._sf_cfg = cfg.salesforce
        self._retry = retry or RetryPolicy.from_config(cfg.retry)
        self._session = build_session(routes)
        self._session.hooks["response"].append(self._count_call)
        self._sf: Salesforce | None = None
        self.api_calls = 0  # REST calls made (each counts against the org's allocation)
        self.usage: tuple[int, int] | None = None  # (used, allocation), from Sforce-Limit-Info
        self._retry_after: float | None = None  # the last answer's Retry-After, if any
        self._records = RecordMapper(self._sf_cfg)
        # Read now as well as at each login: a missing credential is a configuration error that
        # stops the run before any I/O, as for every other system.
        self._credentials()
        self._describes: dict[str, Mapping[str, Any] | None] = {}
        self._mapping_checked = False

    # ----- RequestSource -----------------------------------------------------------------
    @property
    def org_id(self) -> str:
        """From the session id, which starts with the org id: no extra call."""
        return org_id_of_session(self._sf.session_id) if self._sf is not None else ""

    def fetch(
        self,
        *,
        since: datetime | None,
        open_ids: Sequence[str],
        run_started: datetime,
        full: bool,
    ) -> FetchResult:
        """Approved requests (on a full reconcile: all of them), every request changed since
        `since` (minus the look-back) whatever its status, so a late withdrawal is seen, and
        every open id: one query, more only when the open ids need several IN lists."""
        calls_before = self.api_calls
        self._check_budget()
        self.preflight()
        seen: dict[str, dict[str, Any]] = {}
        for text in self._queries(since, open_ids, full):
            log.debug("SOQL: %s", text)
            for rec in self._run("query Takedown Requests", _query_all(text)):
                seen[str(rec["Id"])] = rec
        instance = self._client().sf_instance
        found: list[TakedownRequest] = []
        unreadable: list[Finding] = []
        for rid, rec in seen.items():
            try:
                found.append(self._records.to_request(rec, instance))
            except Exception as exc:  # one unreadable record costs itself only
                log.error(
                    "could not read Takedown Request %s: %s: %s", rid, type(exc).__name__, exc
                )
                unreadable.append(
                    Finding(
                        rid,
                        "internal_error",
                        f"the sync could not read this request (internal error: "
                        f"{type(exc).__name__}: {exc}). Nothing was done for it; the other "
                        "requests went on.",
                        label=str(rec.get(self._sf_cfg.fields.name) or rid),
                    )
                )
        stamps = [r.modified_at for r in found if r.modified_at is not None]
        high = min(max(stamps), run_started) if stamps else None
        short_ids = {rid[:15] for rid in seen}
        findings = unreadable + [
            Finding(
                rid,
                NOT_IN_SALESFORCE,
                "the request is no longer in Salesforce (deleted, or the sync user cannot see "
                "it); its remaining steps are not done",
            )
            for rid in dict.fromkeys(open_ids)
            if rid[:15] not in short_ids
        ]
        calls = self.api_calls - calls_before
        log.info(
            "found %d Takedown Request(s) in %d Salesforce call(s)",
            len(found),
            calls,
            extra={"requests": len(found), "api_calls": calls, "full": full},
        )
        return FetchResult(
            requests=found,
            high_water=high,
            findings=findings,
            api_calls=calls,
            api_usage=self.usage,
            full_reconcile=full,
        )

    def find(self, id_or_name: str) -> list[TakedownRequest]:
        """The request(s) `--only` names, by record Id (15 or 18 characters) or by Name
        (`TR-00042`), whatever their status: one query."""
        f = self._sf_cfg.fields
        try:
            where = f"{soql.name(f.name)} = {soql.quote(id_or_name)}"
        except soql.SoqlNameError as exc:
            raise ConfigError(str(exc), path=self._cfg.source, key="salesforce") from None
        if _RECORD_ID.match(id_or_name):  # `Id = 'TR-1'` is an error in Salesforce, not a miss
            where = soql.any_of(f"Id = {soql.quote(id_or_name)}", where)
        text = self._queries(None, [], True, where=where)[0]
        instance = self._client().sf_instance
        return [
            self._records.to_request(rec, instance)
            for rec in self._run("find the --only request", _query_all(text))
        ]

    # ----- Connector ---------------------------------------------------------------------
    def apply(self, effects: Sequence[Effect], journal: Journal) -> Iterator[Outcome]:
        """Write-backs as sObject Collections PATCHes (idempotent: a re-run rewrites the same
        values), at most 200 records a call, never one call per record."""
        todo: list[Effect] = []
        for effect in effects:
            if effect.kind in (EffectKind.SALESFORCE_WRITEBACK, EffectKind.UNDO_WRITEBACK):
                todo.append(effect)
            else:
                yield Outcome(
                    effect.key,
                    OutcomeStatus.FAILED,
                    f"the Salesforce connector does not handle '{effect.kind}' effects",
                )
        batches = self._batches(todo)
        for i, (batch, records) in enumerate(batches):
            retries_before = self._retry.retries
            try:
                self._check_budget()
                answer = self._run("update Salesforce records", _composite_update(records))
            except SyncError as exc:
                log.info("Salesforce write-back stopped: %s", exc)
                for later, _records in batches[i:]:
                    for effect in later:
                        yield Outcome(effect.key, OutcomeStatus.FAILED, str(exc))
                return
            retries = self._retry.retries - retries_before
            yield from self._outcomes(batch, records, answer, retries)

    def check(self) -> list[str]:
        """Read-only (`python -m sync check`): log in, check the mapping against describe (every
        field, its type, picklist values, write access and length), then read one request with every
        mapped field and the approval history, as the poll does."""
        try:
            found = self.mapping_problems()
            if found:
                return found
            text = self._queries(None, [], True)[0] + " LIMIT 1"
            self._run("check the Takedown Request fields", _query_all(text))
        except SyncError as exc:
            return [str(exc)]
        described = ", ".join(o for o, d in self._describes.items() if d is not None)
        return [
            f"note: mapping checked against the describe of {described} "
            f"({len(self._describes)} API calls, made before every run too)"
        ]

    def mapping_problems(self) -> list[str]:
        """The [salesforce] mapping against the org's describe: one call per object, cached."""
        return salesforce_mapping.problems(
            self._cfg, self._writeback_texts, self._describe, self._object_names
        )

    def preflight(self) -> None:
        """Once per run, before anything is read or written: a mapping that does not match the
        org stops the run here (exit 3) instead of polling nothing or failing write-backs
        after the other systems acted."""
        if self._mapping_checked:
            return
        self._queries(None, [], True)  # names that are not API names: a config error, no I/O
        try:
            soql.name(self._sf_cfg.account.object)
        except soql.SoqlNameError as exc:
            raise ConfigError(str(exc), path=self._cfg.source, key="salesforce.account") from None
        found = self.mapping_problems()
        if found:
            raise MappingError(
                SERVICE,
                "the [salesforce] settings do not match the org, so nothing was done: "
                + "; ".join(found),
            )
        self._mapping_checked = True

    # ----- discovery (`python -m sync init`) ------------------------------------------------------
    def describe_global(self) -> list[dict[str, Any]]:
        """Every object of the org (describeGlobal), read-only."""
        answer = self._run("describe the org", lambda sf: sf.describe())
        return list((answer or {}).get("sobjects") or [])

    def describe(self, name: str) -> dict[str, Any]:
        """One object's fields, types and picklist values, read-only."""
        return dict(self._run(f"describe {name}", lambda sf: getattr(sf, name).describe()))

    def users_named(self, names: Sequence[str]) -> dict[str, list[str]]:
        """Active users by exact full name -> their ids (a name may be shared)."""
        if not names:
            return {}
        text = soql.select(["Id", "Name"], "User", where=f"Name IN {soql.in_list(names)}")
        out: dict[str, list[str]] = {n: [] for n in names}
        for rec in self._run("look up the approvers", _query_all(text)):
            out.setdefault(str(rec.get("Name")), []).append(str(rec["Id"]))
        return out

    def verify(self, effects: Sequence[Effect]) -> dict[str, Check]:
        """Read-only (dry runs, shadow mode): does Salesforce already hold what each write-back
        would write? One query per object and 200 ids."""
        wanted = {e.key: self._records_for(e) for e in effects}
        ids: dict[str, set[str]] = {}
        for records in wanted.values():
            for obj, rid in records:
                ids.setdefault(obj, set()).add(rid)
        now: dict[tuple[str, str], Mapping[str, Any]] = {}
        for obj, values in ids.items():
            names = sorted({f for (o, _r), r in _merged(wanted).items() if o == obj for f in r})
            for chunk in soql.chunks(sorted(values)):
                text = soql.select(["Id", *names], obj, where=f"Id IN {soql.in_list(chunk)}")
                for rec in self._run(f"read {obj} records", _query_all(text)):
                    now[(obj, str(rec["Id"])[:15])] = rec
        out: dict[str, Check] = {}
        for e in effects:
            differ = [
                f"{obj}.{name} is '{(now.get((obj, rid[:15])) or {}).get(name) or ''}'"
                for (obj, rid), values in wanted[e.key].items()
                for name, value in values.items()
                if str((now.get((obj, rid[:15])) or {}).get(name) or "") != value
            ]
            if differ:
                out[e.key] = Check(e.key, CheckState.NOT_DONE, "; ".join(differ))
            else:
                out[e.key] = Check(e.key, CheckState.DONE, "Salesforce already shows it")
        return out

    def close(self) -> None:
        self._session.close()
        self._sf = None

    # ----- describe ----------------------------------------------------------------------
    def _describe(self, obj: str) -> Mapping[str, Any] | None:
        """`sobjects/{obj}/describe`, once per object per run; None if the org has no such
        object (Salesforce answers 404)."""
        if obj not in self._describes:
            name = soql.name(obj)

            def run(sf: Salesforce) -> Mapping[str, Any] | None:
                try:
                    result = sf.restful(f"sobjects/{name}/describe", timeout=TIMEOUT_SECONDS)
                except SalesforceResourceNotFound:
                    return None
                return result if isinstance(result, Mapping) else None

            self._describes[obj] = self._run(f"describe {obj}", run)
        return self._describes[obj]

    def _object_names(self) -> list[str]:
        """Every object's API name (describeGlobal): asked only to suggest a name for a typo."""

        def run(sf: Salesforce) -> list[str]:
            result = sf.describe(timeout=TIMEOUT_SECONDS) or {}
            return [str(o["name"]) for o in result.get("sobjects", [])]

        return self._run("list the org's objects", run)

    # ----- queries -----------------------------------------------------------------------
    def _queries(
        self, since: datetime | None, open_ids: Sequence[str], full: bool, *, where: str = ""
    ) -> list[str]:
        sf = self._sf_cfg
        f = sf.fields
        try:
            approved = f"{soql.name(f.status)} = {soql.quote(sf.approved_status)}"
            changed = ""
            if since is not None:
                start = since - timedelta(minutes=sf.lookback_minutes)
                # Whatever its status: a request withdrawn after all its work was done is no
                # longer open, and only this shows the sync it left "approved" (undo).
                changed = f"{soql.name(f.modified)} > {soql.datetime_literal(start)}"
                if not full:
                    approved = ""  # approved and changed since: covered by `changed`
            chunks = [
                f"Id IN {soql.in_list(c)}" for c in soql.chunks(list(dict.fromkeys(open_ids)))
            ]
            wheres = [soql.any_of(approved, changed, chunks[0] if chunks else ""), *chunks[1:]]
            if where:
                wheres = [where]
            subqueries: list[str] = []
            fields = request_fields(f)
            # What a write-back will replace, read by the poll at no extra call (undo).
            fields += [x for x in (account_status_path(sf), f.sync_status, f.sync_message) if x]
            if sf.approval.source == "fields":
                fields += history.fields_needed(sf.approval)
            else:
                subqueries.append(
                    soql.subquery(
                        soql.PROCESS_STEP_FIELDS, soql.PROCESS_STEPS, order_by=("CreatedDate",)
                    )
                )
            return [
                soql.select(
                    [x for x in fields if x],  # approval fields may be unmapped too
                    sf.object,
                    where=where,
                    subqueries=subqueries,
                    order_by=(f.modified, "Id"),
                )
                for where in wheres
            ]
        except soql.SoqlNameError as exc:
            raise ConfigError(str(exc), path=self._cfg.source, key="salesforce") from None

    # ----- write-back --------------------------------------------------------------------
    def _records_for(self, effect: Effect) -> dict[tuple[str, str], dict[str, str]]:
        """The records one write-back touches: the request and, if asked, its account."""
        sf = self._sf_cfg
        p = effect.params
        out: dict[tuple[str, str], dict[str, str]] = {}
        values = {
            name: p[param]
            for name, param in (
                (sf.fields.sync_status, "sync_status"),
                (sf.fields.sync_message, "sync_message"),
            )
            if name and param in p
        }
        if values:
            out[(sf.object, effect.request_id)] = values
        account_status = p.get("account_status", "")
        if account_status and effect.request.account_id:
            out[(sf.account.object, effect.request.account_id)] = {
                sf.account.status_field: account_status
            }
        return out

    def calls_needed(self, effects: Sequence[Effect]) -> int:
        """sObject Collections calls `apply` would make for these effects, packed as `_batches`
        packs them; a write-back's account is counted whether or not it ends up written (its
        status is settled only once the effects it reports on are final)."""
        calls, in_call = 0, 0
        for effect in effects:
            if effect.kind not in (EffectKind.SALESFORCE_WRITEBACK, EffectKind.UNDO_WRITEBACK):
                continue
            records = 2 if effect.request.account_id else 1
            if calls == 0 or in_call + records > COLLECTION_LIMIT:
                calls, in_call = calls + 1, 0
            in_call += records
        return calls

    def _batches(
        self, effects: Sequence[Effect]
    ) -> list[tuple[list[Effect], dict[tuple[str, str], dict[str, str]]]]:
        """Effects packed so each one's records share a call; a record twice is merged.

        Within a call the records are grouped by object (every request, then every account):
        Salesforce processes a collection in chunks of consecutive same-type records and
        refuses more than 10 chunks a call, so request/account/request/... would fail any call
        with more than five write-backs. Results come back in the order sent, and
        `_outcomes` reads them in that same order."""
        batches: list[tuple[list[Effect], dict[tuple[str, str], dict[str, str]]]] = []
        for effect in effects:
            wanted = self._records_for(effect)
            if not batches or len(batches[-1][1].keys() | wanted.keys()) > COLLECTION_LIMIT:
                batches.append(([], {}))
            batch, records = batches[-1]
            batch.append(effect)
            for key, values in wanted.items():
                records.setdefault(key, {}).update(values)
        return [(batch, _grouped_by_object(records)) for batch, records in batches]

    def _outcomes(
        self,
        batch: Sequence[Effect],
        records: Mapping[tuple[str, str], Mapping[str, str]],
        answer: Any,
        retries: int,
    ) -> Iterator[Outcome]:
        keys = list(records)
        results = answer if isinstance(answer, list) and len(answer) == len(keys) else None
        errors: dict[tuple[str, str], str] = {}
        for key, result in zip(keys, results or [], strict=False):
            if not (isinstance(result, Mapping) and result.get("success")):
                items = result.get("errors") if isinstance(result, Mapping) else None
                errors[key] = error_text(items) or "not updated (no reason given)"
        for effect in batch:
            mine = self._records_for(effect)
            if results is None:
                message = "Salesforce answered the update with something unexpected"
                yield Outcome(effect.key, OutcomeStatus.FAILED, message, retries + 1, retries)
                continue
            failed = [
                f"{obj} {rid}: {errors[(obj, rid)]}" for obj, rid in mine if (obj, rid) in errors
            ]
            if failed:
                yield Outcome(
                    effect.key,
                    OutcomeStatus.FAILED,
                    "Salesforce refused the update: " + "; ".join(failed),
                    retries + 1,
                    retries,
                )
                continue
            p = effect.params
            done = (
                f"sync status set to '{p['sync_status']}'"
                if "sync_status" in p
                else "sync status left as the later write-back set it"
            )
            if (self._sf_cfg.account.object, effect.request.account_id) in mine:
                done += f"; account status set to '{p.get('account_status', '')}'"
            yield Outcome(effect.key, OutcomeStatus.APPLIED, done, retries + 1, retries)

    # ----- the guard around every call ---------------------------------------------------
    def _run(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        """One operation: transient errors retried, an expired session renewed once."""

        def attempt() -> T:
            renewed = False
            while True:
                sf = self._client()
                try:
                    return fn(sf)
                except SalesforceExpiredSession as exc:
                    if renewed:
                        raise FatalError(
                            SERVICE,
                            f"{what}: the session was refused even after logging in again "
                            f"({error_text(exc.content)})" + self._session_hint(),
                            status=401,
                        ) from None
                    # Password and JWT log in again; session auth re-reads its variable.
                    log.info("Salesforce session expired during %s; logging in again", what)
                    renewed = True
                    self._sf = None
                except (SalesforceError, requests.RequestException) as exc:
                    raise translate(exc, what, self._retry_after) from None
                finally:
                    self._note_usage()

        return self._retry.call(attempt, what=what)

    def _client(self) -> Salesforce:
        if self._sf is None:
            try:
                self._sf = self._login()
            except (SalesforceError, requests.RequestException) as exc:
                raise translate(exc, "log in", self._retry_after) from None
            remember_secret(self._sf.session_id)  # a bearer credential: never in a log line
            log.info("logged in to Salesforce (%s)", self._sf.sf_instance)
        return self._sf

    def _login(self) -> Salesforce:
        sf = self._sf_cfg
        common: dict[str, Any] = {
            "session": self._session,
            "version": sf.api_version,
            "domain": sf.domain,
        }
        # Read again: a renewal after an expired session picks up a fresher session id.
        return Salesforce(**self._credentials(), **common)

    def _credentials(self) -> dict[str, Any]:
        """simple-salesforce's login arguments for the configured auth; no I/O."""
        sf = self._sf_cfg
        if sf.auth == "session":
            token = secret_from_env(
                sf.session_id_env, what="Salesforce session id", key="salesforce.session_id_env"
            )
            if not sf.instance_url:
                raise ConfigError(
                    "auth = 'session' needs the org's instance_url",
                    path=self._cfg.source,
                    key="salesforce.instance_url",
                )
            if "://" in sf.instance_url:
                return {"session_id": token, "instance_url": sf.instance_url}
            return {"session_id": token, "instance": sf.instance_url}
        username = secret_from_env(
            sf.username_env, what="Salesforce username", key="salesforce.username_env"
        )
        if sf.auth == "jwt":
            consumer_key = secret_from_env(
                sf.consumer_key_env,
                what="Salesforce consumer key",
                key="salesforce.consumer_key_env",
            )
            key_file = secret_file(
                self._cfg,
                sf.private_key_file,
                what="Salesforce JWT private key",
                key="salesforce.private_key_file",
            )
            return {
                "username": username,
                "consumer_key": consumer_key,
                "privatekey_file": str(key_file),
            }
        password = secret_from_env(
            sf.password_env, what="Salesforce password", key="salesforce.password_env"
        )
        token = (
            secret_from_env(
                sf.security_token_env,
                what="Salesforce security token",
                key="salesforce.security_token_env",
            )
            if sf.security_token_env
            else ""
        )
        return {"username": username, "password": password, "security_token": token}

    def _session_hint(self) -> str:
        if self._sf_cfg.auth == "session":
            return f"; put a fresh session id in {self._sf_cfg.session_id_env}"
        return ""

    @property
    def retries(self) -> int:
        """Retries made so far (the poll's and the write-backs'), for the run log."""
        return self._retry.retries

    def _count_call(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if urlsplit(response.url).path.startswith(REST_PATH):
            self.api_calls += 1

    def _note_usage(self) -> None:
        usage = self._sf.api_usage.get("api-usage") if self._sf is not None else None
        if usage is not None:
            self.usage = (usage.used, usage.total)

    def _check_budget(self) -> None:
        """Past the configured share of the daily allocation, start no new Salesforce work."""
        if self.usage is None or self.usage[1] <= 0:
            return
        used, total = self.usage
        share = self._sf_cfg.api_budget_share
        if used / total > share:
            raise BudgetExceededError(
                SERVICE,
                f"{used:,} of the org's {total:,} daily API requests are used "
                f"({used / total:.0%}), more than the {share:.0%} this sync may use "
                "(salesforce.api_budget_share); Salesforce work waits for a later run",
            )


# ----- helpers ---------------------------------------------------------------------------
def _merged(
    wanted: Mapping[str, Mapping[tuple[str, str], Mapping[str, str]]],
) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for records in wanted.values():
        for key, values in records.items():
            out.setdefault(key, set()).update(values)
    return out


def _query_all(text: str) -> Callable[[Salesforce], list[dict[str, Any]]]:
    def run(sf: Salesforce) -> list[dict[str, Any]]:
        return list(sf.query_all_iter(text, timeout=TIMEOUT_SECONDS))

    return run


def _grouped_by_object(
    records: Mapping[tuple[str, str], dict[str, str]],
) -> dict[tuple[str, str], dict[str, str]]:
    """The same records, each object's together, objects in the order first seen."""
    order = {obj: i for i, obj in enumerate(dict.fromkeys(obj for obj, _rid in records))}
    return dict(sorted(records.items(), key=lambda kv: order[kv[0][0]]))


def _composite_update(
    records: Mapping[tuple[str, str], Mapping[str, str]],
) -> Callable[[Salesforce], Any]:
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": obj}, "id": rid, **values}
            for (obj, rid), values in records.items()
        ],
    }

    def run(sf: Salesforce) -> Any:
        return sf.restful(COMPOSITE_SOBJECTS, method="PATCH", json=body, timeout=TIMEOUT_SECONDS)

    return run


_ORG_ID = re.compile(r"^(00D[0-9A-Za-z]{12})(?:[0-9A-Za-z]{3})?!")


def org_id_of_session(session_id: str) -> str:
    """The org id (15 characters) a Salesforce session id starts with; "" if it does not.
    Every session id Salesforce issues (SOAP login, OAuth, JWT) has the form `ORGID!...`."""
    m = _ORG_ID.match(session_id or "")
    return m.group(1) if m else ""
