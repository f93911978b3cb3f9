"""Helpers shared by the reliability and security tests (tests/reliability/test_*.py and
tests/system/test_security.py): a small agency scenario, a comparable snapshot of every
emulator, an in-process "kill" after the k-th outgoing write, and the CLI run in-process
against an agency.

Nothing here mocks a client library: the kill wraps the transport (`EmulatorRoutingAdapter.send`
and `smtplib.SMTP.send_message`), calls the real one, and only then raises, so the write really
happened before the "process" dies.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
import smtplib
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from connectors.emulators.scenarios.scenario import build_agency, chain, takedown
from connectors.http import EmulatorRoutingAdapter
from sync.cli import app as cli
from sync.engine import wiring
from sync.engine.request import RunRequest
from sync.engine.result import RunResult
from sync.engine.run import run_once
from sync.engine.wiring import build
from sync.sandbox.agency import seed_data
from sync.state.ledger import Ledger
from sync.state.runlog import RunLog
from tests.support.fixtures.sandbox import AUTH_PATHS, Agency, start_agency

TODAY = date(2026, 11, 25)  # the small agency's scenario dates resolve against this day
REPO = Path(__file__).resolve().parents[2]
SYNC_LOG_TAB = "Sync Log"

# Spreadsheets of the sandbox config and the column that keys their rows.
KEYED_TABS = {
    ("sandbox-planner", "Cancellations & Pauses"): "Request ID",
    ("sandbox-monthly", "Contract Changes"): "Request ID",
    ("sandbox-offboarding", "Offboarding"): "Request ID",
    ("sandbox-ds-tracker", "Clients"): "Salesforce Account ID",
    ("sandbox-ari-tracker", "Clients"): "Salesforce Account ID",
    ("sandbox-ds-tracker", "Removed clients"): "Request ID",
    ("sandbox-ari-tracker", "Removed clients"): "Request ID",
}


# ----- scenarios ---------------------------------------------------------------------------------


def scenario(
    directory: Path,
    requests: Sequence[Mapping[str, Any]],
    *,
    today: date = TODAY,
    edit: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """The bundled agency's sheets and boards (16 clients) with only `requests` in Salesforce,
    each approved yesterday by the full chain; `edit` may change the raw scenario first."""
    data = build_agency(clients=16)
    data["salesforce"]["records"]["Takedown_Request__c"] = [dict(r) for r in requests]
    data["salesforce"]["approvals"] = {
        str(r["Id"]): chain("jeremy", "dustin") for r in requests if r.get("_approvals", True)
    }
    for r in data["salesforce"]["records"]["Takedown_Request__c"]:
        r.pop("_approvals", None)
    if edit is not None:
        edit(data)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "scenario.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return seed_data(path, today)


def core_requests() -> list[dict[str, Any]]:
    """One cancellation (effective today, leaving the platform, SEO too, a card on each board),
    one pause (effective tomorrow) and one contract change: every kind of effect is due today."""
    return [
        takedown(
            1,
            0,
            "Cancellation",
            Effective_Date__c="{today}",
            Leaving_Platform__c=True,
            Services__c="TDA;SEO",
            Reason__c="switching service to SEM",
        ),
        takedown(2, 2, "Contract Pause", Effective_Date__c="{today+1}", Reason__c="winter"),
        takedown(
            3,
            4,
            "Contract Change",
            Effective_Date__c="{today+5}",
            New_Package_Or_Budget__c="OTT Advertising add-on, $1,500/month",
        ),
    ]


@contextmanager
def agency_for(directory: Path, data: Mapping[str, Any]) -> Iterator[Agency]:
    """Every emulator seeded with (a copy of) `data`, stopped on exit."""
    gen = start_agency(directory, copy.deepcopy(dict(data)))
    agency = next(gen)
    try:
        yield agency
    finally:
        gen.close()


def run(
    agency: Agency, today: date = TODAY, *, sleeps: list[float] | None = None, **kw: Any
) -> RunResult:
    """One real run through every real connector, on the agency's clock; retry waits are
    recorded, not slept."""
    clock = kw.pop("clock", None) or agency.clock.clock()
    on_effect = kw.pop("on_effect", None)
    wired = build(
        agency.config,
        agency.routes,
        sleep=(sleeps.append if sleeps is not None else _no),
        clock=clock,
    )
    try:
        return run_once(
            agency.config,
            RunRequest(today=today, clock=clock, **kw),
            source=wired.source,
            connectors=wired.connectors,
            on_effect=on_effect,
        )
    finally:
        wired.close()


def _no(_seconds: float) -> None:
    return None


# ----- what the world holds ----------------------------------------------------------------------
def world(agency: Agency) -> dict[str, Any]:
    """Every emulator's data, minus what differs between two correct runs (clock times, ids the
    server picks): two runs that did the same things compare equal."""
    state = copy.deepcopy(agency.state())
    for records in state["salesforce"].values():
        for rec in records:
            for stamp in ("CreatedDate", "SystemModstamp", "LastModifiedDate"):
                rec.pop(stamp, None)
    for book in state["google"].values():
        for title, tab in list(book["sheets"].items()):
            if isinstance(tab, dict):
                book["sheets"][title] = tab["rows"]
        # One row per finished CLI run (sync/cli/runner.py): it counts runs, not effects.
        book["sheets"].pop(SYNC_LOG_TAB, None)
    for board in state["trello"]:
        for card in board["cards"]:
            card.pop("dateLastActivity", None)
            card["comments"] = [c["text"] for c in card["comments"]]
    return state


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two snapshots differ, as readable paths (for assertion messages)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in sorted(set(a) | set(b), key=str)
            for d in differences(a.get(k), b.get(k), f"{path}/{k}")
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def outbox(agency: Agency) -> Counter[tuple[str, str, tuple[str, ...]]]:
    """Every message an effect delivered, by Message-ID, subject and recipients (a resend counts
    twice). The morning summary is not an effect (an in-process run sends none, the CLI does):
    `morning_summaries` counts it."""
    return Counter(
        (str(m.message["Message-ID"]), str(m.message["Subject"]), tuple(sorted(m.rcpt_tos)))
        for m in agency.outbox()
        if m.message["X-Offboarding-Sync-Message"] != "morning_summary"
    )


def morning_summaries(agency: Agency) -> Counter[str]:
    """Morning summaries delivered, by Message-ID (one a day, whatever was killed)."""
    return Counter(
        str(m.message["Message-ID"])
        for m in agency.outbox()
        if m.message["X-Offboarding-Sync-Message"] == "morning_summary"
    )


def duplicated_rows(agency: Agency) -> dict[str, list[str]]:
    """Keys that appear in more than one row of a keyed tab (there must be none)."""
    found: dict[str, list[str]] = {}
    google = agency.emulators["google"]
    for (sid, tab), header in KEYED_TABS.items():
        try:
            rows = google.rows(sid, tab)
        except KeyError:
            continue
        col = rows[0].index(header)
        keys = Counter(r[col] for r in rows[1:] if len(r) > col and r[col])
        twice = [k for k, n in keys.items() if n > 1]
        if twice:
            found[f"{sid}/{tab}"] = twice
    return found


def ledger_states(agency: Agency) -> dict[str, str]:
    ledger = Ledger(agency.config.state_path / "ledger.sqlite3")
    try:
        return {k: str(v) for k, v in ledger.states().items()}
    finally:
        ledger.close()


def runlog(agency: Agency) -> list[dict[str, Any]]:
    return list(RunLog.in_state_dir(agency.config.state_path).read())


# ----- the in-process kill -----------------------------------------------------------------------
class Killed(BaseException):
    """The process dies here: the sync catches Exception, never a BaseException."""


@dataclass
class Writes:
    """Outgoing writes seen (HTTP other than GET and logins, and SMTP sends), in order."""

    kill_at: int | None = None
    seen: list[str] = field(default_factory=list)

    def tick(self, what: str) -> None:
        self.seen.append(what)
        if self.kill_at is not None and len(self.seen) == self.kill_at:
            raise Killed(f"killed after write {self.kill_at}: {what}")


@contextmanager
def watch_writes(kill_at: int | None = None) -> Iterator[Writes]:
    """Count outgoing writes; with `kill_at`, die right after that write's answer arrived."""
    writes = Writes(kill_at)
    real_send = EmulatorRoutingAdapter.send
    real_send_message = smtplib.SMTP.send_message

    def send(self: EmulatorRoutingAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = real_send(self, request, *args, **kwargs)
        path = urlsplit(request.url or "").path
        if request.method not in ("GET", "HEAD") and not AUTH_PATHS.search(path):
            try:
                writes.tick(f"{request.method} {path}")
            except Killed:
                response.close()  # a dead process's sockets close with it
                raise
        return response

    def send_message(self: smtplib.SMTP, msg: Any, *args: Any, **kwargs: Any) -> Any:
        refused = real_send_message(self, msg, *args, **kwargs)
        writes.tick(f"SMTP {msg['Subject']}")
        return refused

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(EmulatorRoutingAdapter, "send", send)
        mp.setattr(smtplib.SMTP, "send_message", send_message)
        yield writes


# ----- the CLI, in-process, against an agency ----------------------------------------------------
@contextmanager
def cli_on(agency: Agency) -> Iterator[Callable[[Sequence[str]], int]]:
    """`python -m sync ARGS` run in-process with the agency's config and emulator routes."""

    @contextmanager
    def environment(_args: Any) -> Iterator[tuple[Any, Mapping[str, str] | None]]:
        yield agency.config, agency.routes

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "environment", environment)
        # Retry waits are not slept in tests (the CLI builds its connectors itself).
        mp.setattr(wiring, "build", functools.partial(wiring.build, sleep=_no))
        try:
            yield lambda argv: cli.main(list(argv))
        finally:  # cli.main points the root logger at stderr; give pytest its own back
            root.handlers[:] = handlers
            root.setLevel(level)


UNCONFIRMED_KEY = re.compile(r"python -m sync resolve (\S+) --sent")


def child_cli_script(spec_file: Path) -> list[str]:
    """argv of a child process running the real `python -m sync` CLI against emulators that run
    in *this* process (so killing the child kills the sync, not the world it talks to)."""
    code = (
        "import json, sys\n"
        "from contextlib import contextmanager\n"
        "from pathlib import Path\n"
        "from sync.cli import app as cli\n"
        "from sync.config.loading import load\n"
        "from sync.sandbox.agency import packaged_config, sandbox_config\n"
        "spec = json.loads(Path(sys.argv[1]).read_text())\n"
        "@contextmanager\n"
        "def environment(args):\n"
        "    cfg = sandbox_config(packaged_config(), Path(spec['dir']), spec['smtp_port'])\n"
        "    yield cfg, spec['routes']\n"
        "cli.environment = environment\n"
        "sys.exit(cli.main(sys.argv[2:]))\n"
    )
    return [sys.executable, "-c", code, str(spec_file)]
