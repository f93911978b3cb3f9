"""The Salesforce allocation before a run acts (issue 26, item 5), end to end against the
bundled agency: the Salesforce emulator counts its daily allocation down and answers each call
with Sforce-Limit-Info, as a real org does."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from sync.cli.reports import status_command
from sync.config.model import MetricsConfig
from sync.ops import metrics
from tests.support.fixtures.sandbox import SEEDED_ON, Agency

LIMIT = 15_000


def spend_all_but(agency: Agency, left: int) -> None:
    agency.emulators["salesforce"].set_usage(LIMIT - left, LIMIT)


def test_a_run_the_allocation_cannot_afford_stops_before_acting_with_the_figures(
    agency: Agency,
) -> None:
    spend_all_but(agency, 4)  # the poll (3 calls) leaves 1: it may spend 0 of it, needs 1
    result = agency.run(SEEDED_ON)
    assert result.fatal.startswith("stopped before any write: this run needs about 1 ")
    assert "of the org's 15,000 daily calls are left" in result.fatal
    assert "keeping 20% for the org's other integrations" in result.fatal
    assert agency.http_writes() == 0
    assert agency.outbox() == []
    assert result.exit_code == 3


def test_a_dry_run_shows_the_same_stop(agency: Agency) -> None:
    spend_all_but(agency, 4)
    result = agency.run(SEEDED_ON, dry_run=True)
    assert "daily calls are left" in result.stop_reason
    assert agency.http_writes() == 0


def test_a_run_within_its_share_acts_and_status_and_metrics_show_the_allocation(
    agency: Agency, tmp_path: Path
) -> None:
    spend_all_but(agency, 1000)
    result = agency.run(SEEDED_ON)
    assert result.fatal == ""
    assert agency.http_writes() > 0
    used, limit = result.api_usage or (0, 0)
    assert limit == LIMIT
    assert LIMIT - used < 1000  # the run's own calls came off what was left
    out = io.StringIO()
    status_command(agency.config, out=out)
    text = " ".join(out.getvalue().split())
    assert (
        f"Salesforce API allocation: {used:,} of 15,000 daily calls used, {LIMIT - used:,} left"
        in text
    )
    assert f"a run may use {int((LIMIT - used) * 0.8):,} of them" in text
    cfg = dataclasses.replace(
        agency.config, metrics=MetricsConfig(textfile=str(tmp_path / "metrics.prom"))
    )
    path = metrics.write(cfg, result.run_id)
    assert path is not None
    gauges = {
        s.name: s.value
        for family in text_string_to_metric_families(path.read_text(encoding="utf-8"))
        for s in family.samples
    }
    assert gauges["offboarding_sync_salesforce_api_left"] == LIMIT - used
