"""Benchmark (issue 10): HTTP calls, wall time and peak memory per run, ours against a per-record
baseline, on the local emulators. Not part of the test suite (pytest collects only test_*.py).

    /tmp/venv/bin/python tools/bench.py            # N = 10, 100, 1000 (several minutes)
    /tmp/venv/bin/python tools/bench.py --quick    # N = 10, 100 (under a minute)
    /tmp/venv/bin/python tools/bench.py --sizes 50 --tracemalloc
    /tmp/venv/bin/python tools/bench.py --sizes 1000 --repeat 3   # ours only: min/median, CPU
    BENCH_PROFILE=/tmp/p.prof ... --repeat 1                      # cProfile the full run

Per N the agency is seeded with N approved requests (a third each cancellation, contract pause,
contract change; every third cancellation leaves the platform), each for a different client; both
trackers hold 5,000 rows and both Trello boards 2,000 cards. The runs plan "as of" a year after
the seed day, so every effect is due at once (reminders are then past their effective date and
recorded as skipped, as the product does; none is sent).

How it measures:
- The emulators run in THIS process (threads); every measured run is a fresh child process
  (`python tools/bench.py --child ...`), as cron starts the sync. So the emulators' memory and
  CPU never count as the sync's, and the child's `ru_maxrss` is the peak RSS of that one run's
  process. "peak MB" is that peak; "+MB" is how far the run grew it above the same process just
  before the run (after imports), i.e. what the run itself needs. `--tracemalloc` also reports
  the peak of Python allocations during the run (slower; times are then inflated).
- "run s" is build() + run_once() + close() inside the child (imports excluded); "proc s" is the
  whole child process as the parent saw it (interpreter start, imports, run).
- "where the time goes" wraps a few product functions with timers in the child only (each
  connector's apply, the Salesforce fetch, the ledger's methods, the run log, Trello's card
  matching); items marked "(in X)" are also part of X.
- HTTP calls are read from the emulators' request counters; login/token calls ("auth": the
  Salesforce SOAP login, Google's OAuth token) are counted apart from API calls. Reads are GET,
  writes everything else. Email is SMTP, not HTTP: messages are counted.
- The baseline does the same effects (from the same planner) the way a per-record automation
  (Zapier/n8n style) does: one lookup and one write per effect, no batching, with the same client
  libraries (simple-salesforce, gspread's HTTP client, py-trello, smtplib) against fresh
  emulators seeded identically. It is given the benefit of the doubt: headers and tab ids are
  read once per run, not per record, and a Trello search is one raw call (py-trello's search()
  would also fetch the board each time). Its no-op run is what such a tool pays when nothing is
  new: its polling trigger (one query; it keeps its own "seen" list). A sanity line checks that
  both did the same work (effects per kind, and the same end state in every service).
- "quota floor" is the least time real quotas impose on the calls made: Sheets 60 reads and 60
  writes per minute per user, Trello 100 requests per 10 s per token (lower bound; Salesforce has
  no rate limit, only the daily allocation, shown as "% of daily" of the emulated 15,000).

Output: a human table per N, then target lines with PASS/MISS, and one machine line per N
prefixed `BENCH_JSON ` (grep it).
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import math
import os
import re
import resource
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests
from google.auth.transport.requests import AuthorizedSession
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import service_account
from gspread.http_client import HTTPClient
from simple_salesforce.api import Salesforce
from trello import TrelloClient

from connectors.emulators.scenarios.scenario import account_id, build_agency, request_id
from connectors.http import build_session, mount_routes
from connectors.salesforce.records import request_fields
from sync.config.loading import load
from sync.config.model import Config
from sync.config.secrets import secret_from_env
from sync.core.domain import (
    Effect,
    EffectKind,
    OutcomeStatus,
    Platform,
    RequestType,
    TakedownRequest,
)
from sync.core.planner import plan
from sync.core.rules import PlanRules
from sync.engine.request import RunRequest
from sync.engine.run import run_once
from sync.engine.wiring import build
from sync.sandbox.agency import SANDBOX_SECRETS, sandbox_config, seed_data, start_emulators

REPO = Path(__file__).resolve().parents[1]
SANDBOX_CONFIG = REPO / "config" / "sandbox.toml"
SEED_DAY = date(2026, 11, 25)
AS_OF = SEED_DAY + timedelta(days=365)  # every effect is due
TRACKER_ROWS = 5000
BOARD_CARDS = 2000
SIZES_FULL = (10, 100, 1000)
SIZES_QUICK = (10, 100)
SF_DAILY = 15000  # the scenario's DailyApiRequests
CHILD_TAG = "BENCH_CHILD "
JSON_TAG = "BENCH_JSON "
AUTH_PATH = re.compile(r"^/services/Soap/|/oauth2/token$|^/token$")
SHEET_PATH = re.compile(r"^/v4/spreadsheets/([^/:]+)")
BOARD_PATH = re.compile(r"^/1/boards/([^/]+)")
CARD_PATH = re.compile(r"^/1/cards/([^/]+)")
SF_QUERY = re.compile(r"/services/data/v[\d.]+/query(All)?(/|$)")
RTT_S = 0.1  # for the "at 100 ms per call" estimate
SF_QUERY_PAGE = 2000  # records per query page the emulator serves for the poll's query


# ----- the scenario ---------------------------------------------------------------------------
def scenario(n: int) -> dict[str, Any]:
    """N approved requests for N different clients, 5,000-row trackers, 2,000-card boards."""
    clients = n + 40
    while clients % 7 == 0:  # build_agency picks client (7k + 17) % clients: keep it one-to-one
        clients += 1
    platform_ds = sum(1 for i in range(clients) if i % 3)
    data = build_agency(
        clients=clients,
        extra_requests=n,
        extra_tracker_rows=max(0, TRACKER_ROWS - platform_ds),
        extra_cards=max(0, BOARD_CARDS - clients),
    )
    sf = data["salesforce"]
    bundled = {request_id(i) for i in range(1, 100)}  # keep only the N benchmark requests
    reqs = [r for r in sf["records"]["Takedown_Request__c"] if r["Id"] not in bundled]
    for k, rec in enumerate(reqs):
        # build_agency writes "{today+-5}" for k % 20 < 5, which resolve_dates leaves as text
        # (an invalid date: the request would need a person). See the report.
        rec["Effective_Date__c"] = str(rec["Effective_Date__c"]).replace("{today+-", "{today-")
        if rec["Request_Type__c"] == "Cancellation" and k % 9 == 0:
            rec["Leaving_Platform__c"] = True
    sf["records"]["Takedown_Request__c"] = reqs
    sf["approvals"] = {k: v for k, v in sf["approvals"].items() if k not in bundled}
    books = data["google"]["spreadsheets"]
    ari = books["sandbox-ari-tracker"]["sheets"]["Clients"]
    first_free = clients + max(0, TRACKER_ROWS - platform_ds)
    for k in range(max(0, TRACKER_ROWS + 1 - len(ari))):
        ari.append([account_id(first_free + k), f"Bench ARI Dealer {k}", "Active", "$500"])
    design = data["trello"]["boards"][1]
    for k in range(max(0, BOARD_CARDS - len(design["cards"]))):
        design["cards"].append({"name": f"Design filler {k}", "desc": "banner set"})
    return data


# ----- counting -------------------------------------------------------------------------------
def tally(emulators: Mapping[str, Any], smtp_before: int) -> dict[str, Any]:
    """What the emulators received since their counters were reset."""
    out: dict[str, Any] = {}
    for name in ("salesforce", "google", "trello"):
        auth = reads = writes = 0
        per: dict[str, dict[str, int]] = {}
        searches = 0
        for c in emulators[name].calls:
            if AUTH_PATH.search(c.path):
                auth += 1
                continue
            is_read = c.method in ("GET", "HEAD")
            reads += is_read
            writes += not is_read
            if name == "google":
                m = SHEET_PATH.match(c.path)
                if m:
                    slot = per.setdefault(m.group(1), {"r": 0, "w": 0})
                    slot["r" if is_read else "w"] += 1
            elif name == "trello":
                m = BOARD_PATH.match(c.path)
                if m:
                    slot = per.setdefault(m.group(1), {"r": 0, "w": 0})
                    slot["r" if is_read else "w"] += 1
                searches += c.path == "/1/search"
        entry: dict[str, Any] = {"auth": auth, "reads": reads, "writes": writes}
        if name == "salesforce":
            # Poll pages (query and queryMore) and the mapping check's describes, apart.
            gets = [c.path for c in emulators[name].calls if c.method == "GET"]
            entry["queries"] = sum(1 for p in gets if SF_QUERY.search(p))
            entry["describes"] = sum(1 for p in gets if p.endswith("/describe"))
        if name == "google":
            entry["per_sheet"] = per
        if name == "trello":
            entry["per_board"] = per
            entry["searches"] = searches
            entry["cards_archived"] = sum(
                1
                for c in emulators[name].calls
                if c.method == "PUT" and CARD_PATH.match(c.path) and c.status == 200
            )
        out[name] = entry
    out["email"] = {"messages": len(emulators["smtp"].messages) - smtp_before}
    out["http_calls"] = sum(
        out[s]["reads"] + out[s]["writes"] for s in ("salesforce", "google", "trello")
    )
    out["auth_calls"] = sum(out[s]["auth"] for s in ("salesforce", "google", "trello"))
    return out


def quota_floor(calls: Mapping[str, Any]) -> float:
    """Seconds that real rate limits impose at least (one user, one token)."""

    def windows(count: int, per_window: int, seconds: float) -> float:
        return max(0, math.ceil(count / per_window) - 1) * seconds

    g, t = calls["google"], calls["trello"]
    sheets = max(windows(g["reads"], 60, 60.0), windows(g["writes"], 60, 60.0))
    trello = windows(t["reads"] + t["writes"], 100, 10.0)
    return max(sheets, trello)


def end_state(emulators: Mapping[str, Any]) -> dict[str, Any]:
    """A digest of what both approaches must leave behind identically."""
    books = emulators["google"].snapshot()["spreadsheets"]
    rows: dict[str, list[str]] = {}
    for sid, book in books.items():
        for tab, grid in book["sheets"].items():
            data = grid["rows"] if isinstance(grid, dict) else grid
            keyed = sorted("|".join(str(c) for c in r[:3]) for r in data[1:] if r)
            rows[f"{sid}/{tab}"] = keyed
    boards = emulators["trello"].snapshot()["boards"]
    closed = sorted(c["name"] for b in boards for c in b["cards"] if c.get("closed"))
    recs = emulators["salesforce"].snapshot()["records"]
    accounts = sorted(
        f"{a['Id']}={a.get('TDA_Status__c')}"
        for a in recs["Account"]
        if a.get("TDA_Status__c") != "Active"
    )
    synced = sorted(
        f"{r['Id']}={r.get('Sync_Status__c')}"
        for r in recs["Takedown_Request__c"]
        if r.get("Sync_Status__c")
    )
    return {"rows": rows, "closed": closed, "accounts": accounts, "synced": synced}


def state_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    diffs: list[str] = []
    for key in ("closed", "accounts", "synced"):
        if a[key] != b[key]:
            diffs.append(f"{key}: {len(a[key])} vs {len(b[key])}")
    for tab in sorted(set(a["rows"]) | set(b["rows"])):
        ra, rb = a["rows"].get(tab, []), b["rows"].get(tab, [])
        if ra != rb:
            diffs.append(f"{tab}: {len(ra)} rows vs {len(rb)}")
    return diffs


# ----- the agency (emulators in this process) -------------------------------------------------
@dataclass
class Agency:
    emulators: dict[str, Any]
    routes: dict[str, str]
    directory: Path

    def child(self, kind: str, *, tracemalloc_on: bool) -> dict[str, Any]:
        """One measured run in a fresh process; the emulators' counters are for it alone."""
        for name in ("salesforce", "google", "trello"):
            self.emulators[name].reset_counts()
        smtp_before = len(self.emulators["smtp"].messages)
        args = {
            "directory": str(self.directory),
            "routes": self.routes,
            "smtp_port": self.emulators["smtp"].port,
            "as_of": AS_OF.isoformat(),
            "tracemalloc": tracemalloc_on,
        }
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", kind, json.dumps(args)],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, **SANDBOX_SECRETS},
            check=False,
        )
        wall = time.perf_counter() - started
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(CHILD_TAG)]
        if proc.returncode != 0 or not lines:
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
            raise SystemExit(f"the {kind} child failed (exit {proc.returncode})")
        result: dict[str, Any] = json.loads(lines[-1][len(CHILD_TAG) :])
        result["proc_s"] = round(wall, 3)
        result["calls"] = tally(self.emulators, smtp_before)
        return result


@contextmanager
def agency(data: Mapping[str, Any], directory: Path) -> Iterator[Agency]:
    directory.mkdir(parents=True)
    path = directory / "scenario.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    seeded = seed_data(path, SEED_DAY)
    with start_emulators(seeded, directory) as (emulators, routes):
        yield Agency(emulators, routes, directory)


# ----- child processes ------------------------------------------------------------------------
def child_main(kind: str, raw: str) -> None:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    args = json.loads(raw)
    directory = Path(args["directory"])
    cfg = sandbox_config(load(SANDBOX_CONFIG, sandbox=True), directory, int(args["smtp_port"]))
    routes = dict(args["routes"])
    as_of = date.fromisoformat(args["as_of"])
    timers = Timers()
    if kind.startswith("ours"):
        timers.instrument_product()
    io_counts = count_io() if kind.startswith("ours") else {}
    rss_before = reset_peak_rss()
    if args["tracemalloc"]:
        tracemalloc.start()
    cpu_before = _cpu_s()
    started = time.perf_counter()
    profile_to = os.environ.get("BENCH_PROFILE")  # a path: cProfile the ours-new run into it
    if kind.startswith("ours") and profile_to and kind.endswith("new"):
        import cProfile  # noqa: PLC0415

        profiler = cProfile.Profile()
        detail = profiler.runcall(run_ours, cfg, routes, as_of)
        profiler.dump_stats(profile_to)
    elif kind.startswith("ours"):
        detail = run_ours(cfg, routes, as_of)
    else:
        detail = run_baseline(cfg, routes, as_of, noop=kind.endswith("noop"), timers=timers)
    elapsed = time.perf_counter() - started
    cpu = _cpu_s() - cpu_before
    heap_peak = tracemalloc.get_traced_memory()[1] if args["tracemalloc"] else None
    rss_after = peak_rss_kb()
    out = {
        "run_s": round(elapsed, 3),
        "cpu_s": round(cpu, 3),
        "io": dict(io_counts),
        "rss_peak_mb": round(rss_after / 1024, 1),
        "rss_growth_mb": round(max(0, rss_after - rss_before) / 1024, 1),
        "heap_peak_mb": None if heap_peak is None else round(heap_peak / 2**20, 1),
        "breakdown_s": {k: round(v, 3) for k, v in sorted(timers.totals.items())},
        **detail,
    }
    print(CHILD_TAG + json.dumps(out), flush=True)


def _cpu_s() -> float:
    """This process's own CPU time (user + system), as the issue's "sync process CPU"."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def count_io() -> collections.Counter[str]:
    """Count, in the child only, SQLite commits of the ledger and openings of the run log.

    A commit is a COMMIT statement, or a write statement run outside an explicit transaction
    (the ledger opens SQLite with isolation_level=None, so such a statement commits itself).
    """
    import pathlib  # noqa: PLC0415
    import sqlite3  # noqa: PLC0415

    counts: collections.Counter[str] = collections.Counter()
    real_connect = sqlite3.connect

    def connect(*a: Any, **kw: Any) -> sqlite3.Connection:
        con: sqlite3.Connection = real_connect(*a, **kw)
        in_tx = False

        def trace(sql: str) -> None:
            nonlocal in_tx
            head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
            if head == "BEGIN":
                in_tx = True
            elif head in ("COMMIT", "END"):
                in_tx = False
                counts["ledger_commits"] += 1
                counts[f"commit by {_product_caller()}"] += 1
            elif head == "ROLLBACK":
                in_tx = False
            elif head in ("INSERT", "UPDATE", "DELETE", "REPLACE") and not in_tx:
                counts["ledger_commits"] += 1
                counts[f"commit by {_product_caller()}"] += 1

        con.set_trace_callback(trace)
        return con

    sqlite3.connect = connect  # type: ignore[assignment]
    import sync.state.runlog as runlog_mod  # noqa: PLC0415

    real_open = runlog_mod.open_private

    def open_counted(path: pathlib.Path, *a: Any, **kw: Any) -> Any:
        if Path(path).name == "runs.jsonl":
            counts["runlog_opens"] += 1
        return real_open(path, *a, **kw)

    runlog_mod.open_private = open_counted  # type: ignore[assignment]
    return counts


def _product_caller() -> str:
    """The first function outside the ledger that led to a commit (where commits come from)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if ("/sync/" in name or "/connectors/" in name) and not name.endswith("ledger.py"):
            return f"{Path(name).stem}.{frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


def _status_kb(field_name: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    m = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) if m else None


def reset_peak_rss() -> int:
    """Start the peak-RSS count afresh at the current RSS (Linux); return the RSS in KiB.

    Not `ru_maxrss`: Linux keeps it across fork and exec, so a child would report the
    benchmark's own (emulator-laden) peak. VmHWM belongs to the process image alone, and
    writing 5 to clear_refs resets it to the current RSS."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    now = _status_kb("VmRSS")
    return now if now is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss_kb() -> int:
    peak = _status_kb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_ours(cfg: Config, routes: Mapping[str, str], as_of: date) -> dict[str, Any]:
    wired = build(cfg, routes)
    try:
        result = run_once(
            cfg,
            RunRequest(today=as_of, allow_backlog=True),
            source=wired.source,
            connectors=wired.connectors,
        )  # the benchmark is a backlog on purpose
    finally:
        wired.close()
    kinds = collections.Counter(
        f"{key.split('/')[1]}:{outcome.status}" for key, outcome in result.outcomes.items()
    )
    return {
        "exit_code": result.exit_code,
        "counts": dict(result.counts),
        "outcomes": dict(sorted(kinds.items())),
        "findings": dict(collections.Counter(f.code for f in result.plan.findings)),
        "fatal": result.fatal,
        "fetched": len(result.fetch.requests) if result.fetch else 0,
        # Requests written back this run: each is one request record and one account record.
        "writeback_requests": len(
            {
                key.split("/")[0]
                for key, outcome in result.outcomes.items()
                if key.split("/")[1] == "salesforce_writeback"
                and outcome.status is OutcomeStatus.APPLIED
            }
        ),
    }


class Timers:
    """Where a run's time goes, by wrapping a few product functions in the child only."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = collections.defaultdict(float)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.totals[name] += time.perf_counter() - t

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        inner = getattr(owner, attr)
        timers = self

        def wrapper(*a: Any, **kw: Any) -> Any:
            with timers.timed(name):
                return inner(*a, **kw)

        setattr(owner, attr, wrapper)

    def wrap_generator(self, owner: Any, attr: str, name: str) -> None:
        """Time a generator's own steps only (not what its consumer does between them)."""
        inner = getattr(owner, attr)
        timers = self

        def wrapper(*a: Any, **kw: Any) -> Iterator[Any]:
            it = iter(inner(*a, **kw))
            while True:
                with timers.timed(name):
                    try:
                        item = next(it)
                    except StopIteration:
                        return
                yield item

        setattr(owner, attr, wrapper)

    def instrument_product(self) -> None:
        import connectors.trello.connector as trello_mod  # noqa: PLC0415 - only the child patches it
        import connectors.trello.match as trello_match  # noqa: PLC0415
        from connectors.email.connector import EmailConnector  # noqa: PLC0415
        from connectors.salesforce.connector import SalesforceConnector  # noqa: PLC0415
        from connectors.sheets.connector import SheetsConnector  # noqa: PLC0415
        from sync.state.ledger import Ledger  # noqa: PLC0415
        from sync.state.runlog import RunLog  # noqa: PLC0415

        self.wrap(SalesforceConnector, "fetch", "salesforce fetch")
        for cls, name in (
            (SalesforceConnector, "salesforce write-back"),
            (SheetsConnector, "sheets"),
            (trello_mod.TrelloConnector, "trello"),
            (EmailConnector, "email"),
        ):
            self.wrap_generator(cls, "apply", name)
        self.wrap(trello_match.CardSet, "match", "trello card matching (in trello)")
        for attr in (
            "record_planned",
            "record_outcome",
            "skip",
            "get",
            "states",
            "remember_requests",
            "replace_findings",
        ):
            self.wrap(Ledger, attr, "ledger (sqlite)")
        self.wrap(Ledger, "__init__", "ledger (sqlite)")
        self.wrap(Ledger, "mark_sending", "ledger 'sending' marks (in email)")
        self.wrap(RunLog, "_append", "run log")


# ----- the per-record baseline ----------------------------------------------------------------
@dataclass
class Tally:
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)


class PerRecord:
    """The same effects, one lookup and one write per effect, as a Zap/n8n flow does them."""

    def __init__(self, cfg: Config, routes: Mapping[str, str], today: date, timers: Timers):
        self.cfg = cfg
        self.today = today
        self.timers = timers
        sf = cfg.salesforce
        self.sf = Salesforce(
            username=secret_from_env(sf.username_env, what="user", key="u"),
            password=secret_from_env(sf.password_env, what="password", key="p"),
            security_token=secret_from_env(sf.security_token_env, what="token", key="t"),
            session=build_session(routes),
            version=sf.api_version,
            domain=sf.domain,
        )
        key_file = cfg.sheets.service_account_file
        creds = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            key_file, scopes=["https://www.googleapis.com/auth/spreadsheets"]
        )
        session = AuthorizedSession(  # type: ignore[no-untyped-call]
            creds, auth_request=GoogleRequest(session=build_session(routes))
        )
        mount_routes(session, routes)
        self.sheets = HTTPClient(creds, session=session)
        trello_session = requests.Session()
        mount_routes(trello_session, routes)
        tc = cfg.trello
        self.trello = TrelloClient(
            secret_from_env(tc.api_key_env, what="key", key="k"),
            token=secret_from_env(tc.token_env, what="token", key="t"),
            http_service=trello_session,
        )
        self._tab_ids: dict[str, dict[str, int]] = {}
        self._headers: dict[tuple[str, str], list[str]] = {}
        self.tally = Tally()

    # -- Salesforce: the polling trigger, then per record
    def poll(self) -> list[TakedownRequest]:
        sf, f = self.cfg.salesforce, self.cfg.salesforce.fields
        soql = (
            f"SELECT {', '.join(request_fields(f))} FROM {sf.object} "
            f"WHERE {f.status} = '{sf.approved_status}' AND {f.sync_status} = null"
        )
        with self.timers.timed("salesforce"):
            records = self.sf.query_all(soql)["records"]
        return [self._request(r) for r in records]

    def _request(self, rec: Mapping[str, Any]) -> TakedownRequest:
        sf, f = self.cfg.salesforce, self.cfg.salesforce.fields
        types = {v: RequestType(k) for k, v in sf.type_values.items()}
        platforms = {v: Platform(k) for k, v in sf.platform_values.items()}
        raw_date = str(rec.get(f.effective_date) or "")
        relation, _, name_field = f.account_name.partition(".")
        account = rec.get(relation) or {}
        return TakedownRequest(
            id=str(rec["Id"]),
            name=str(rec.get(f.name) or ""),
            account_id=str(rec.get(f.account) or ""),
            client_name=str(account.get(name_field) or ""),
            type=types.get(str(rec.get(f.type))),
            raw_type=str(rec.get(f.type) or ""),
            status=str(rec.get(f.status) or ""),
            approved=True,
            effective_date=date.fromisoformat(raw_date[:10]) if raw_date else None,
            raw_effective_date=raw_date,
            reason=str(rec.get(f.reason) or ""),
            platform=platforms.get(str(rec.get(f.platform))),
            raw_platform=str(rec.get(f.platform) or ""),
            leaving_platform=bool(rec.get(f.leaving_platform)),
            new_package=str(rec.get(f.new_package) or ""),
            product_change_notes=str(rec.get(f.product_change_notes) or ""),
            services=tuple(s for s in str(rec.get(f.services) or "").split(";") if s),
            link=f"https://{self.sf.sf_instance}/lightning/r/{sf.object}/{rec['Id']}/view",
        )

    def lookup_request(self, req: TakedownRequest) -> None:
        """The flow's "find record" step: is it still approved and not yet synced?"""
        sf, f = self.cfg.salesforce, self.cfg.salesforce.fields
        with self.timers.timed("salesforce"):
            self.sf.query(
                f"SELECT Id, {f.status}, {f.sync_status} FROM {sf.object} WHERE Id = '{req.id}'"
            )

    def writeback(self, e: Effect) -> str:
        sf, f = self.cfg.salesforce, self.cfg.salesforce.fields
        with self.timers.timed("salesforce"):
            getattr(self.sf, sf.object).update(
                e.request_id,
                {f.sync_status: e.params["sync_status"], f.sync_message: e.params["sync_message"]},
            )
            if e.params.get("account_status"):
                getattr(self.sf, sf.account.object).update(
                    e.request.account_id, {sf.account.status_field: e.params["account_status"]}
                )
        return "applied"

    # -- Sheets
    def _tab_id(self, sid: str, tab: str) -> int | None:
        if sid not in self._tab_ids:  # once per spreadsheet and run (flow setup)
            meta = self.sheets.fetch_sheet_metadata(sid, params={"fields": "sheets.properties"})
            self._tab_ids[sid] = {
                s["properties"]["title"]: int(s["properties"]["sheetId"]) for s in meta["sheets"]
            }
        return self._tab_ids[sid].get(tab)

    def _header(self, sid: str, tab: str) -> list[str]:
        if (sid, tab) not in self._headers:  # once per tab and run (flow setup)
            got = self.sheets.values_get(sid, f"'{tab}'!1:1").get("values") or [[]]
            self._headers[(sid, tab)] = [str(h) for h in got[0]]
        return self._headers[(sid, tab)]

    def _find(self, sid: str, tab: str, header: str, key: str) -> int | None:
        """One read of the key column; the 1-based row of `key`."""
        col = _letter(self._header(sid, tab).index(header))
        values = self.sheets.values_get(sid, f"'{tab}'!{col}:{col}").get("values") or []
        for i, row in enumerate(values):
            if i and row and row[0] == key:
                return i + 1
        return None

    def _values(self, e: Effect) -> dict[str, str]:
        r = e.request
        return {
            "request_id": r.id,
            "client": r.client_name,
            "account_id": r.account_id,
            "type": r.raw_type,
            "effective_date": r.effective_date.strftime(self.cfg.sheets.date_format)
            if r.effective_date
            else "",
            "reason": r.reason,
            "link": r.link,
            "platform": r.raw_platform,
            "change": r.new_package,
            "notes": r.product_change_notes,
        }

    def sheet_effect(self, e: Effect) -> str:
        sheet = getattr(self.cfg.sheets, e.target)
        sid, tab = sheet.spreadsheet_id, sheet.tab
        values = self._values(e)
        key = values[sheet.key]
        key_header = sheet.columns[sheet.key]
        with self.timers.timed("sheets"):
            if e.kind is EffectKind.TRACKER_REMOVE:
                return self._remove(e, sid, tab, key_header, key)
            row = self._find(sid, tab, key_header, key)
            headers = self._header(sid, tab)
            if e.kind in (
                EffectKind.PLANNER_ADD,
                EffectKind.MONTHLY_RECORD,
                EffectKind.OFFBOARDING_ADD,
            ):
                if row is not None:
                    return "already_done"
                cells = [""] * len(headers)
                for logical, header in sheet.columns.items():
                    if header in headers and logical in values:
                        cells[headers.index(header)] = values[logical]
                self.sheets.values_append(
                    sid,
                    f"'{tab}'!A1",
                    params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
                    body={"values": [cells]},
                )
                return "applied"
            if row is None:
                return "needs_person"
            if e.kind is EffectKind.TRACKER_STATUS:
                rtype = e.request.type
                assert rtype is not None
                date_col = "pause_date" if rtype is RequestType.PAUSE else "cancel_date"
                wanted = {
                    "status": self.cfg.sheets.tracker_status[rtype.value],
                    date_col: values["effective_date"],
                }
            else:  # Ninja Cat flag
                wanted = {"ninja_cat": self.cfg.sheets.ninja_cat_flag}
            data = [
                {
                    "range": f"'{tab}'!{_letter(headers.index(sheet.columns[k]))}{row}",
                    "values": [[v]],
                }
                for k, v in wanted.items()
            ]
            self.sheets.values_batch_update(sid, body={"valueInputOption": "RAW", "data": data})
            return "applied"

    def _remove(self, e: Effect, sid: str, tab: str, key_header: str, key: str) -> str:
        """Find the row (the lookup returns it whole), append its copy, delete it."""
        sheet = getattr(self.cfg.sheets, e.target)
        rows = self.sheets.values_get(sid, f"'{tab}'").get("values") or []
        col = rows[0].index(key_header)
        found = [i for i, r in enumerate(rows) if i and len(r) > col and r[col] == key]
        if not found:
            return "needs_person"
        row = found[0]
        removed = sheet.removed_tab
        if self._tab_id(sid, removed) is None:
            sheet_id = 900_000 + len(self._tab_ids[sid])
            self.sheets.batch_update(
                sid,
                {
                    "requests": [
                        {"addSheet": {"properties": {"title": removed, "sheetId": sheet_id}}}
                    ]
                },
            )
            self._tab_ids[sid][removed] = sheet_id
            self.sheets.values_update(
                sid,
                f"'{removed}'!A1",
                params={"valueInputOption": "RAW"},
                body={"values": [[*rows[0], "Removed On", "Request ID"]]},
            )
        copy = rows[row] + [""] * (len(rows[0]) - len(rows[row]))
        copy += [self.today.strftime(self.cfg.sheets.date_format), e.request_id]
        self.sheets.values_append(
            sid,
            f"'{removed}'!A1",
            params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
            body={"values": [copy]},
        )
        tab_id = self._tab_id(sid, tab)
        self.sheets.batch_update(
            sid,
            {
                "requests": [
                    {
                        "deleteDimension": {
                            "range": {
                                "sheetId": tab_id,
                                "dimension": "ROWS",
                                "startIndex": row,
                                "endIndex": row + 1,
                            }
                        }
                    }
                ]
            },
        )
        return "applied"

    # -- Trello: a search per client and board, then a write per card
    def archive(self, e: Effect) -> str:
        board = self.cfg.trello.boards[e.target]
        r = e.request
        words = " ".join(re.findall(r"\w+", r.client_name))
        with self.timers.timed("trello"):
            found = self.trello.fetch_json(
                "/search",
                query_params={
                    "query": words,
                    "idBoards": board,
                    "modelTypes": "cards",
                    "cards_limit": 1000,
                },
            )
            name = " ".join(r.client_name.split()).casefold()
            cards = [
                c
                for c in found.get("cards", [])
                if r.account_id[:15] in str(c.get("desc", ""))
                or " ".join(str(c.get("name", "")).split()).casefold() == name
            ]
            for card in cards:
                self.trello.fetch_json(
                    f"/cards/{card['id']}", http_method="PUT", post_args={"closed": True}
                )
                self.trello.fetch_json(
                    f"/cards/{card['id']}/actions/comments",
                    http_method="POST",
                    post_args={"text": f"Archived: {r.client_name} cancelled ({r.name})."},
                )
        return "applied" if cards else "skipped"

    # -- email: one message (and one SMTP session) per effect
    def mail(self, e: Effect) -> str:
        em = self.cfg.email
        to = {
            EffectKind.SIMPLIFI_NOTICE: em.simplifi_to,
            EffectKind.MANAGER_DIGEST: em.manager_to,
        }.get(e.kind, em.tda_team_to)
        msg = EmailMessage()
        msg["From"], msg["To"] = em.from_address, ", ".join(to)
        msg["Subject"] = f"{e.kind}: {e.request.client_name}"
        msg.set_content(f"{e.request.label}: {e.kind}, effective {e.request.effective_date}")
        with self.timers.timed("email"), smtplib.SMTP(em.host, em.port, timeout=30) as smtp:
            smtp.send_message(msg)
        return "applied"

    def run(self, noop: bool) -> None:
        requests_ = self.poll()
        if noop:
            return
        done = plan(requests_, {}, self.today, PlanRules.from_config(self.cfg))
        by_request: dict[str, list[Effect]] = collections.defaultdict(list)
        for e in done.due:
            by_request[e.request_id].append(e)
        for effect, _why in done.skips:
            self.tally.outcomes[f"{effect.kind}:skipped"] += 1
        for effects in by_request.values():
            self.lookup_request(effects[0].request)
            for e in sorted(effects, key=lambda x: _KIND_ORDER.index(x.kind)):
                handler: Callable[[Effect], str] = {
                    EffectKind.TRELLO_ARCHIVE: self.archive,
                    EffectKind.SIMPLIFI_NOTICE: self.mail,
                    EffectKind.MANAGER_DIGEST: self.mail,
                    EffectKind.REMINDER: self.mail,
                    EffectKind.SALESFORCE_WRITEBACK: self.writeback,
                }.get(e.kind, self.sheet_effect)
                self.tally.outcomes[f"{e.kind}:{handler(e)}"] += 1


_KIND_ORDER = (
    EffectKind.PLANNER_ADD,
    EffectKind.MONTHLY_RECORD,
    EffectKind.OFFBOARDING_ADD,
    EffectKind.TRACKER_STATUS,
    EffectKind.NINJACAT_FLAG,
    EffectKind.TRACKER_REMOVE,
    EffectKind.TRELLO_ARCHIVE,
    EffectKind.SIMPLIFI_NOTICE,
    EffectKind.MANAGER_DIGEST,
    EffectKind.REMINDER,
    EffectKind.SALESFORCE_WRITEBACK,
)


def _letter(col: int) -> str:
    out, n = "", col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def run_baseline(
    cfg: Config, routes: Mapping[str, str], as_of: date, *, noop: bool, timers: Timers
) -> dict[str, Any]:
    flow = PerRecord(cfg, routes, as_of, timers)
    flow.run(noop)
    return {"outcomes": dict(sorted(flow.tally.outcomes.items()))}


# ----- report ---------------------------------------------------------------------------------
def applied_by_kind(outcomes: Mapping[str, int]) -> dict[str, int]:
    """Effects per kind that changed something or found it done (the work, either way)."""
    out: collections.Counter[str] = collections.Counter()
    for key, count in outcomes.items():
        kind, status = key.split(":", 1)
        if status in (str(OutcomeStatus.APPLIED), str(OutcomeStatus.ALREADY_DONE)):
            out[kind] += count
    return dict(sorted(out.items()))


def row(label: str, r: Mapping[str, Any]) -> str:
    c = r["calls"]
    sf, g, t = c["salesforce"], c["google"], c["trello"]
    return (
        f"  {label:<17}{sf['reads']:>5}r{sf['writes']:>5}w{sf['auth']:>2}a"
        f"{g['reads']:>6}r{g['writes']:>5}w{g['auth']:>2}a"
        f"{t['reads']:>6}r{t['writes']:>5}w"
        f"{c['email']['messages']:>6}"
        f"{c['http_calls']:>7}"
        f"{r['run_s']:>8.2f}{r['proc_s']:>7.2f}"
        f"{r['rss_peak_mb']:>8.1f}{r['rss_growth_mb']:>6.1f}"
        f"{quota_floor(c):>7.0f}"
    )


HEADER = (
    "  run              Salesforce        Google Sheets      Trello         mail  HTTP"
    "   run s  proc s  peak MB   +MB  floor s\n"
    "                   (r/w/auth)        (r/w/auth)         (r/w)          msgs  calls"
)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def targets(
    n: int, ours_new: Mapping[str, Any], ours_noop: Mapping[str, Any]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(name: str, ok: bool, measured: str, note: str = "") -> None:
        out.append({"target": name, "ok": ok, "measured": measured, "note": note})

    sf0 = ours_noop["calls"]["salesforce"]
    sf0_total = sf0["reads"] + sf0["writes"] + sf0["auth"]
    add(
        "no-op: Salesforce 1-2 calls",
        sf0_total <= 2,
        f"{sf0_total} incl. login ({sf0['auth']} login + {sf0['describes']} describe(s) for the "
        f"mapping check + {sf0['queries']} poll call(s) + "
        f"{sf0['reads'] + sf0['writes'] - sf0['describes'] - sf0['queries']} other)",
    )
    per0 = ours_noop["calls"]["google"]["per_sheet"]
    worst0 = max([(v["r"], v["w"]) for v in per0.values()] or [(0, 0)])
    add(
        "no-op: each spreadsheet <= 1 read, 0 writes",
        all(v["r"] <= 1 and v["w"] == 0 for v in per0.values()),
        f"{len(per0)} spreadsheets touched; worst {worst0[0]} read(s), {worst0[1]} write(s)",
    )
    per = ours_new["calls"]["google"]["per_sheet"]
    worst = (
        (max(v["r"] for v in per.values()), max(v["w"] for v in per.values())) if per else (0, 0)
    )
    add(
        "new: each spreadsheet <= 2 reads, <= 2 writes",
        worst[0] <= 2 and worst[1] <= 2,
        f"worst spreadsheet: {worst[0]} reads, {worst[1]} writes ({len(per)} spreadsheets)",
    )
    sf = ours_new["calls"]["salesforce"]
    limit = math.ceil(n / 200)
    add(
        f"new: Salesforce <= ceil(N/200) = {limit} write calls",
        sf["writes"] <= limit,
        f"{sf['writes']} composite write(s) for {2 * n} records ({n} requests + {n} accounts)",
        f"ceil(2N/200) = {math.ceil(2 * n / 200)}: each write-back also sets the account",
    )
    t = ours_new["calls"]["trello"]
    boards = t["per_board"]
    archived = t["cards_archived"]
    max_board_reads = max((v["r"] for v in boards.values()), default=0)
    add(
        "new: Trello 1 read per board + 1 write per archived card",
        max_board_reads <= 1 and t["writes"] <= archived,
        f"reads per board {', '.join(str(v['r']) for v in boards.values())}; "
        f"{t['writes']} writes for {archived} cards",
        "per board: custom-field definitions + open cards (+ archived cards once, when a "
        "client has no open card); per card: archive + comment",
    )
    return out


def print_n(n: int, res: Mapping[str, Any]) -> None:
    ours_new, ours_noop = res["ours_new"], res["ours_noop"]
    base_new, base_noop = res["base_new"], res["base_noop"]
    print(
        f"\nN = {n} approved requests (trackers {TRACKER_ROWS:,} rows, "
        f"boards {BOARD_CARDS:,} cards)"
    )
    print(HEADER)
    print(row("ours, new", ours_new))
    print(row("ours, no-op", ours_noop))
    print(row("per-record, new", base_new))
    print(row("per-record, no-op", base_noop))
    calls_o, calls_b = ours_new["calls"]["http_calls"], base_new["calls"]["http_calls"]
    print(
        f"  ours vs per-record (new): HTTP calls {calls_o:,} vs {calls_b:,} = "
        f"{calls_o / calls_b:.3f}x ({calls_b / calls_o:.1f}x fewer); run time "
        f"{ours_new['run_s']:.2f} vs {base_new['run_s']:.2f} s = "
        f"{ours_new['run_s'] / base_new['run_s']:.2f}x; at {RTT_S * 1000:.0f} ms per call "
        f"~{ours_new['run_s'] + calls_o * RTT_S:,.0f} vs "
        f"~{base_new['run_s'] + calls_b * RTT_S:,.0f} s"
    )
    sf_o = ours_new["calls"]["salesforce"]
    sf_b = base_new["calls"]["salesforce"]
    print(
        f"  Salesforce daily allocation used (new): ours {sf_o['reads'] + sf_o['writes']} "
        f"({(sf_o['reads'] + sf_o['writes']) / SF_DAILY:.2%}), per-record "
        f"{sf_b['reads'] + sf_b['writes']} ({(sf_b['reads'] + sf_b['writes']) / SF_DAILY:.2%}) "
        f"of {SF_DAILY:,}"
    )
    sf_0 = ours_noop["calls"]["salesforce"]
    print(
        f"  Salesforce poll: {sf_o['queries']} query call(s) new, {sf_0['queries']} no-op "
        f"(per-record: {sf_b['queries']}, its lookups included); mapping check "
        f"{sf_o['describes']} describe(s) a run"
    )
    print(f"  ours, new, where the time goes (s): {_fmt_breakdown(ours_new['breakdown_s'])}")
    print(
        f"  ours, no-op, where the time goes (s): {_fmt_breakdown(ours_noop['breakdown_s'])}"
        f" ({ours_noop['fetched']} requests re-read from Salesforce, all already done)"
    )
    if ours_new.get("heap_peak_mb") is not None:
        print(
            f"  tracemalloc peak (MB): ours new {ours_new['heap_peak_mb']}, no-op "
            f"{ours_noop['heap_peak_mb']}, per-record new {base_new['heap_peak_mb']}"
        )
    same_work = applied_by_kind(ours_new["outcomes"]) == applied_by_kind(base_new["outcomes"])
    print(
        f"  same work: effects per kind {'equal' if same_work else 'DIFFER'}"
        f" ({sum(applied_by_kind(ours_new['outcomes']).values())} done); end state "
        + ("equal" if not res["state_diff"] else "DIFFERS: " + "; ".join(res["state_diff"][:5]))
        + f"; ours exit {ours_new['exit_code']}, no-op exit {ours_noop['exit_code']}"
    )
    if not same_work:
        print(f"    ours:       {applied_by_kind(ours_new['outcomes'])}")
        print(f"    per-record: {applied_by_kind(base_new['outcomes'])}")
    for tg in res["targets"]:
        note = f"  [{tg['note']}]" if tg["note"] else ""
        print(f"  {verdict(tg['ok'])}  {tg['target']}: {tg['measured']}{note}")


def _fmt_breakdown(b: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in sorted(b.items(), key=lambda kv: -kv[1]))


def machine_line(n: int, res: Mapping[str, Any]) -> str:
    def slim(r: Mapping[str, Any]) -> dict[str, Any]:
        keep = ("run_s", "proc_s", "rss_peak_mb", "rss_growth_mb", "heap_peak_mb", "calls")
        out = {k: r[k] for k in keep if k in r}
        out["quota_floor_s"] = quota_floor(r["calls"])
        out["breakdown_s"] = r.get("breakdown_s", {})
        return out

    o, b = res["ours_new"]["calls"]["http_calls"], res["base_new"]["calls"]["http_calls"]
    doc = {
        "n": n,
        "tracker_rows": TRACKER_ROWS,
        "board_cards": BOARD_CARDS,
        "ours": {"new": slim(res["ours_new"]), "noop": slim(res["ours_noop"])},
        "per_record": {"new": slim(res["base_new"]), "noop": slim(res["base_noop"])},
        "ratio_calls": round(o / b, 4),
        "ratio_time": round(res["ours_new"]["run_s"] / res["base_new"]["run_s"], 4),
        "same_end_state": not res["state_diff"],
        "targets": [
            {"target": t["target"], "ok": t["ok"], "measured": t["measured"]}
            for t in res["targets"]
        ],
    }
    return JSON_TAG + json.dumps(doc, separators=(",", ":"))


def bench_n(n: int, work: Path, *, tracemalloc_on: bool) -> dict[str, Any]:
    data = scenario(n)
    res: dict[str, Any] = {}
    with agency(data, work / f"n{n}-ours") as ours:
        res["ours_new"] = ours.child("ours-new", tracemalloc_on=tracemalloc_on)
        res["ours_noop"] = ours.child("ours-noop", tracemalloc_on=tracemalloc_on)
        state_ours = end_state(ours.emulators)
    with agency(data, work / f"n{n}-per-record") as base:
        res["base_new"] = base.child("baseline-new", tracemalloc_on=tracemalloc_on)
        res["base_noop"] = base.child("baseline-noop", tracemalloc_on=tracemalloc_on)
        state_base = end_state(base.emulators)
    res["state_diff"] = state_diff(state_ours, state_base)
    res["targets"] = targets(n, res["ours_new"], res["ours_noop"])
    return res


def floors(res: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """(calls made, the fewest calls the APIs allow for the same work) per system.

    Salesforce: the query's pages at the emulator's page size for this query, plus one
    sObject Collections call per 200 records written. Sheets: one read and one write per
    spreadsheet that was read or written. Trello: one `/1/batch` read for every board's cards
    and custom fields (up to 10 GETs in one), then per archived card its archive and its comment.
    """
    calls = res["calls"]
    sf, g, t = calls["salesforce"], calls["google"], calls["trello"]
    page = SF_QUERY_PAGE
    records = 2 * res["writeback_requests"]
    sf_floor = max(1, math.ceil(res["fetched"] / page)) + math.ceil(records / 200)
    per = g["per_sheet"]
    g_floor = sum(1 for v in per.values() if v["r"]) + sum(1 for v in per.values() if v["w"])
    t_floor = (1 if t["reads"] else 0) + 2 * t["cards_archived"]
    return {
        "salesforce": (sf["reads"] + sf["writes"], sf_floor),
        "sheets": (g["reads"] + g["writes"], g_floor),
        "trello": (t["reads"] + t["writes"], t_floor),
    }


def perf_n(n: int, work: Path, repeat: int) -> dict[str, Any]:
    """Ours only, `repeat` times on a freshly seeded agency: a full run, then two no-op runs."""
    data = scenario(n)
    runs: list[dict[str, Any]] = []
    for i in range(repeat):
        with agency(data, work / f"n{n}-perf{i}") as ours:
            new = ours.child("ours-new", tracemalloc_on=False)
            noop = [ours.child("ours-noop", tracemalloc_on=False) for _ in range(2)]
        runs.append({"new": new, "noop": noop})
    return {"runs": runs}


def print_perf(n: int, res: Mapping[str, Any]) -> None:
    runs = res["runs"]
    print(f"\nN = {n}, ours only, {len(runs)} fresh agencies (a full run, then two no-op runs)")
    print(
        "  run   run s  proc s   cpu s  commits  log opens  SF r/w   Sheets r/w  Trello r/w"
        "  no-op run s (re-read)"
    )
    for i, r in enumerate(runs, 1):
        new, c = r["new"], r["new"]["calls"]
        sf, g, t = c["salesforce"], c["google"], c["trello"]
        noops = ", ".join(f"{x['run_s']:.2f} ({x['fetched']})" for x in r["noop"])
        print(
            f"  {i:<4} {new['run_s']:6.2f}  {new['proc_s']:6.2f}  {new['cpu_s']:6.2f}"
            f"  {new['io'].get('ledger_commits', 0):7}  {new['io'].get('runlog_opens', 0):9}"
            f"  {sf['reads']}/{sf['writes']:<5} {g['reads']}/{g['writes']:<9}"
            f" {t['reads']}/{t['writes']:<6}  {noops}"
        )

    def stat(values: list[float]) -> str:
        return f"min {min(values):.2f}, median {statistics.median(values):.2f}"

    print(f"  full run s:    {stat([r['new']['run_s'] for r in runs])}")
    print(f"  full proc s:   {stat([r['new']['proc_s'] for r in runs])}")
    print(f"  full cpu s:    {stat([r['new']['cpu_s'] for r in runs])}")
    print(f"  no-op run s:   {stat([x['run_s'] for r in runs for x in r['noop']])}")
    last = runs[-1]["new"]
    print(f"  where the time goes (s, last run): {_fmt_breakdown(last['breakdown_s'])}")
    made = floors(last)
    print(
        "  calls made / floor: "
        + ", ".join(f"{k} {m}/{f} = {m / f:.2f}x" for k, (m, f) in made.items() if f)
    )
    doc = {
        "n": n,
        "full_run_s": [r["new"]["run_s"] for r in runs],
        "full_proc_s": [r["new"]["proc_s"] for r in runs],
        "full_cpu_s": [r["new"]["cpu_s"] for r in runs],
        "noop_run_s": [x["run_s"] for r in runs for x in r["noop"]],
        "noop_refetched": [x["fetched"] for r in runs for x in r["noop"]],
        "io": last["io"],
        "calls": {k: last["calls"][k] for k in ("salesforce", "google", "trello", "email")},
        "http_calls": last["calls"]["http_calls"],
        "floors": {k: {"made": m, "floor": f} for k, (m, f) in made.items()},
    }
    print(JSON_TAG + json.dumps(doc, separators=(",", ":")))


def help_startup(times: int = 7) -> list[float]:
    out = []
    for _ in range(times):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "sync", "--help"], cwd=REPO, capture_output=True, check=True
        )
        out.append(time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="N = 10 and 100 only (under a minute)")
    p.add_argument("--sizes", help="comma-separated N values (overrides --quick)")
    p.add_argument("--tracemalloc", action="store_true", help="also the Python heap peak (slower)")
    p.add_argument("--keep", metavar="DIR", help="keep the emulators' folders and state here")
    p.add_argument(
        "--repeat",
        type=int,
        metavar="K",
        help="ours only: K fresh agencies per N, each a full run then two no-op runs; "
        "prints min/median, CPU, ledger commits, run-log opens and calls against the floor",
    )
    p.add_argument("--child", nargs=2, metavar=("KIND", "JSON"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child_main(*args.child)
        return 0
    sizes = (
        tuple(int(s) for s in args.sizes.split(","))
        if args.sizes
        else (SIZES_QUICK if args.quick else SIZES_FULL)
    )
    started = time.perf_counter()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="offboarding-bench-"))
    print(
        f"offboarding-sync benchmark: N = {', '.join(map(str, sizes))}; as of {AS_OF} (seeded "
        f"{SEED_DAY}); python {sys.version.split()[0]}, {os.cpu_count()} CPU(s); work dir {work}"
    )
    if args.repeat:
        try:
            for n in sizes:
                print_perf(n, perf_n(n, work, args.repeat))
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        print(f"\nbenchmark wall time: {time.perf_counter() - started:.1f} s")
        return 0
    results: dict[int, dict[str, Any]] = {}
    try:
        for n in sizes:
            t = time.perf_counter()
            results[n] = bench_n(n, work, tracemalloc_on=args.tracemalloc)
            print_n(n, results[n])
            print(f"  (N = {n} took {time.perf_counter() - t:.1f} s to benchmark)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print("\nTargets across N")
    biggest = max(sizes)
    noop = results[biggest]["ours_noop"]
    if biggest >= 1000:
        add_ok = noop["run_s"] < 2.0
        print(
            f"  {verdict(add_ok)}  no-op run with N = {biggest} under 2 s: "
            f"run {noop['run_s']:.2f} s"
            f" (whole process incl. interpreter and imports {noop['proc_s']:.2f} s)"
        )
    else:
        print(
            f"  n/a   no-op run with N = 1000 under 2 s (not run; no-op at N = {biggest}: "
            f"{noop['run_s']:.2f} s)"
        )
    help_s = help_startup()
    best = min(help_s)
    print(
        f"  {verdict(best < 0.3)}  `python -m sync --help` under 0.3 s: best {best:.3f} s, "
        f"median {statistics.median(help_s):.3f} s of {len(help_s)}"
    )
    for n in sizes:
        print(machine_line(n, results[n]))
    help_doc = {"help_best_s": round(best, 3), "help_median_s": round(statistics.median(help_s), 3)}
    print(
        JSON_TAG
        + json.dumps({"startup": help_doc, "total_s": round(time.perf_counter() - started, 1)})
    )
    print(f"\nbenchmark wall time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
