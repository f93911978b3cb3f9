"""The Prometheus textfile: read back with prometheus_client's own parser, its numbers are those
of the run log's line for the same run (and of the ledger, for what is open now)."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import stat
from datetime import date, datetime
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from sync.cli.runner import unlocked_run
from sync.config.model import Config, MetricsConfig
from sync.engine.request import RunRequest
from sync.engine.result import RunResult
from sync.state.ledger import Ledger
from sync.state.runlog import RunLog
from tests.support.fixtures.sandbox import SEEDED_ON, Agency

FAR = date(2099, 1, 1)


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(
    m: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return m[(f"offboarding_sync_{name}", tuple(sorted(labels.items())))]


def _ts(iso: object) -> float:
    return datetime.fromisoformat(str(iso)).timestamp()


def with_textfile(agency: Agency, tmp_path: Path) -> tuple[Config, Path]:
    path = tmp_path / "collector" / "offboarding_sync.prom"
    return dataclasses.replace(agency.config, metrics=MetricsConfig(textfile=str(path))), path


def run_line(cfg: Config, result: RunResult) -> dict[str, object]:
    runs = RunLog.in_state_dir(cfg.state_path).runs()
    return next(r for r in runs if r["run_id"] == result.run_id)


def test_the_textfile_parses_and_matches_the_run_log(agency: Agency, tmp_path: Path) -> None:
    cfg, path = with_textfile(agency, tmp_path)
    result = unlocked_run(
        cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON)
    )
    line = run_line(cfg, result)
    m = samples(path)
    started = datetime.fromisoformat(str(line["started_at"])).timestamp()
    finished = datetime.fromisoformat(str(line["finished_at"])).timestamp()
    assert value(m, "last_run_timestamp_seconds") == started
    assert value(m, "last_success_timestamp_seconds") == started
    assert abs(value(m, "last_run_duration_seconds") - (finished - started)) < 1e-6
    assert value(m, "last_run_exit_code") == line["exit_code"] == 0
    counts = line["counts"]
    assert isinstance(counts, dict)
    for outcome, n in counts.items():
        assert value(m, "last_run_effects", outcome=outcome) == n, outcome
    assert counts["applied"] > 40
    usage = line["salesforce_api_usage"]
    assert isinstance(usage, dict)
    assert value(m, "salesforce_api_used") == usage["used"]
    assert value(m, "salesforce_api_limit") == usage["limit"] == 15000
    assert value(m, "last_run_salesforce_api_calls") == line["salesforce_api_calls"]
    assert value(m, "unconfirmed_emails") == 0
    # TR-00007, TR-00008 and TR-00010 wait for a person (as `status` lists them).
    ledger = Ledger(cfg.state_path / "ledger.sqlite3")
    try:
        needing = {f.request_id for f in ledger.findings()}
    finally:
        ledger.close()
    assert value(m, "requests_needing_person") == len(needing) == 3
    # Written atomically: no temporary file is left beside it for the collector to read.
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_failing_run_moves_last_run_but_not_last_success(agency: Agency, tmp_path: Path) -> None:
    cfg, path = with_textfile(agency, tmp_path)
    good = unlocked_run(cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON))
    gone = dict.fromkeys(cfg.trello.boards, "5f0000000000000000000999")  # no such board
    broken = dataclasses.replace(cfg, trello=dataclasses.replace(cfg.trello, boards=gone))
    bad = unlocked_run(broken, agency.routes, RunRequest(clock=agency.clock.clock(), today=FAR))
    assert bad.exit_code == 1
    m = samples(path)
    line, good_line = run_line(cfg, bad), run_line(cfg, good)
    assert value(m, "last_run_timestamp_seconds") == _ts(line["started_at"])
    assert value(m, "last_success_timestamp_seconds") == _ts(good_line["started_at"])
    assert value(m, "last_run_exit_code") == line["exit_code"] == 1
    counts = line["counts"]
    assert isinstance(counts, dict)
    assert value(m, "last_run_effects", outcome="failed") == counts["failed"] > 0


def test_an_unconfirmed_email_is_counted_until_resolved(agency: Agency, tmp_path: Path) -> None:
    cfg, path = with_textfile(agency, tmp_path)
    first = unlocked_run(
        cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON)
    )
    key = next(k for k in first.outcomes if "/simplifi_notice/" in k)
    db = sqlite3.connect(cfg.state_path / "ledger.sqlite3")
    with db:  # as a crash mid-send leaves it
        db.execute("UPDATE effects SET state = 'sending' WHERE key = ?", (key,))
    db.close()
    unlocked_run(cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON))
    assert value(samples(path), "unconfirmed_emails") == 1


def test_a_dry_run_writes_no_metrics(agency: Agency, tmp_path: Path) -> None:
    cfg, path = with_textfile(agency, tmp_path)
    unlocked_run(
        cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON, dry_run=True)
    )
    assert not path.exists()


def test_the_sandbox_writes_its_metrics_into_the_sandbox_folder(agency: Agency) -> None:
    assert Path(agency.config.metrics.textfile) == (agency.directory / "metrics.prom").resolve()


def test_the_collector_can_read_the_file_under_the_services_umask(
    agency: Agency, tmp_path: Path
) -> None:
    cfg, path = with_textfile(agency, tmp_path)
    old = os.umask(0o077)  # the systemd units' UMask=
    try:
        unlocked_run(cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
