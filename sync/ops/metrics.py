"""The numbers a monitoring system expects, as a Prometheus textfile.

node_exporter's textfile collector reads `*.prom` files from one folder on every scrape; a file
half written would be read as garbage, so `prometheus_client.write_to_textfile` writes a temporary
file beside it and renames it over the old one (atomic on one file system). Rewritten after each
run (never by a dry run), from the same numbers the run line of the run log holds, plus the
ledger's unconfirmed emails and the last successful run, which the run log knows too.

The library writes the exposition format, escaping and HELP/TYPE lines included, and the tests
read the file back with the library's own parser; a hand-written writer would need its own
parser to be tested against.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from sync.config.model import Config
from sync.config.redaction import redact
from sync.core.domain import EffectState
from sync.state.ledger import Ledger
from sync.state.runlog import RunLog

log = logging.getLogger("sync.metrics")

PREFIX = "offboarding_sync"
OUTCOMES = ("applied", "failed", "waiting", "needs_person", "skipped")


def write(cfg: Config, run_id: str) -> Path | None:
    """Write the textfile for the run `run_id` (already in the run log). Never raises: the
    metrics must not fail the run they describe."""
    if not cfg.metrics.textfile:
        return None
    path = cfg.resolve(cfg.metrics.textfile)
    try:
        runs = RunLog.in_state_dir(cfg.state_path).runs()
        run = next((r for r in reversed(runs) if r.get("run_id") == run_id), None)
        if run is None:
            log.error("metrics not written: run %s is not in the run log", run_id)
            return None
        last_ok = next((r for r in reversed(runs) if r.get("exit_code") == 0), None)
        registry = _registry(run, last_ok, *_ledger_numbers(cfg))
        path.parent.mkdir(parents=True, exist_ok=True)
        # node_exporter runs as another user: the file must be readable by it (0644) even under
        # the service's UMask=0077. It holds counts and timestamps only, no client names.
        old_umask = os.umask(0o022)
        try:
            write_to_textfile(str(path), registry)
        finally:
            os.umask(old_umask)
    except (OSError, ValueError, KeyError) as exc:
        log.error("could not write the metrics file %s: %s", path, exc)
        return None
    return path


def _ledger_numbers(cfg: Config) -> tuple[int, int]:
    """Unconfirmed emails, and requests that wait for a person (a finding or an effect)."""
    ledger = Ledger.open_readonly(cfg.state_path / "ledger.sqlite3")
    if ledger is None:
        return 0, 0
    try:
        rows = ledger.rows()
        unconfirmed = sum(1 for r in rows if r.state is EffectState.SENDING)
        person = {f.request_id for f in ledger.findings()}
        person |= {r.request_id for r in rows if r.state is EffectState.NEEDS_PERSON}
        return unconfirmed, len(person)
    finally:
        ledger.close()


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _registry(
    run: dict[str, Any], last_ok: dict[str, Any] | None, unconfirmed: int, person: int
) -> CollectorRegistry:
    reg = CollectorRegistry()

    def gauge(name: str, doc: str, value: float, **labels: str) -> None:
        g = Gauge(f"{PREFIX}_{name}", doc, list(labels), registry=reg)
        # A label value leaves for the monitoring system: through the run's redactor.
        (g.labels(**{k: redact(v) for k, v in labels.items()}) if labels else g).set(value)

    started = _ts(run["started_at"])
    gauge("last_run_timestamp_seconds", "When the last run started (Unix time).", started)
    gauge(
        "last_run_duration_seconds",
        "How long the last run took.",
        _ts(run["finished_at"]) - _ts(run["started_at"]),
    )
    gauge("last_run_exit_code", "The last run's exit code (0: all good).", run["exit_code"])
    gauge(
        "last_run_stopped_early",
        "1 when the last run stopped before the end (an error or a shutdown).",
        int(bool(run.get("error") or run.get("stopped_early"))),
    )
    gauge("last_run_retries", "Retries of outside calls in the last run.", run.get("retries", 0))
    if last_ok is not None:
        gauge(
            "last_success_timestamp_seconds",
            "When the last run with exit code 0 started (Unix time).",
            _ts(last_ok["started_at"]),
        )
    counts = run.get("counts", {})
    effects = Gauge(
        f"{PREFIX}_last_run_effects",
        "Effects of the last run by outcome (as in the run log's counts).",
        ["outcome"],
        registry=reg,
    )
    for outcome in sorted({*OUTCOMES, *counts}):  # whatever the run line counts, at least these
        effects.labels(outcome=redact(outcome)).set(counts.get(outcome, 0))
    gauge(
        "requests_needing_person",
        "Requests waiting for a person (a finding or an effect), as of the last run.",
        person,
    )
    gauge(
        "unconfirmed_emails",
        "Emails a crash left unconfirmed, waiting for `python -m sync resolve`.",
        unconfirmed,
    )
    if "salesforce_api_calls" in run:
        gauge(
            "last_run_salesforce_api_calls",
            "Salesforce REST calls of the last run.",
            run["salesforce_api_calls"],
        )
    usage = run.get("salesforce_api_usage")
    if usage:
        gauge(
            "salesforce_api_used",
            "The org's daily API requests used, as Salesforce reported it.",
            usage["used"],
        )
        gauge("salesforce_api_limit", "The org's daily API request allocation.", usage["limit"])
        gauge(
            "salesforce_api_left",
            "The org's daily API requests left, as Salesforce reported it after the last run.",
            max(0, usage["limit"] - usage["used"]),
        )
    return reg
