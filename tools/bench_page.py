"""Benchmark of the ops lead's page (issue 29): N open requests and D days of runs, as files.

    python tools/bench_page.py                 # N = 1000, 90 days of runs every 15 minutes
    python tools/bench_page.py --sizes 100,1000 --days 90 --repeat 5

A real state directory is written first (the ledger through its own API, the run log through
RunLog), so what is timed is what `report --html` does: read the ledger and the run log, build
the page, render it, write it atomically. Printed per N: the median and the worst of --repeat
runs (the first one in a process includes compiling the templates), and the page's size.
Targets: under 1 s and under 2 MB at N = 1,000 with 90 days of runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sync.cli.schedule import cron_trigger
from sync.config.loading import load
from sync.config.model import Config
from sync.core.domain import (
    Effect,
    EffectKind,
    Finding,
    Outcome,
    OutcomeStatus,
    Platform,
    RequestType,
    TakedownRequest,
)
from sync.ops.page.write import write_page
from sync.state.ledger import Ledger
from sync.state.runlog import RunLog

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)
DONE = (("planner_add", "planner"), ("tracker_status", "ds_tracker"),
        ("offboarding_add", "offboarding"), ("simplifi_notice", "simplifi"),
        ("manager_digest", "tda_manager"))  # fmt: skip
OWED = (("tracker_remove", "ds_tracker"), ("trello_archive", "tda"), ("trello_archive", "design"),
        ("reminder", "tda_team:7d"), ("salesforce_writeback", "offboarded"))  # fmt: skip


def _request(i: int, eff: date) -> TakedownRequest:
    return TakedownRequest(
        id=f"a0T{i:012d}AAA", name=f"TR-{i:05d}", account_id=f"001{i:012d}AAA",
        client_name=f"Client {i} Motorsports & Marine", type=RequestType.CANCELLATION,
        raw_type="Cancellation", status="Approved", approved=True, effective_date=eff,
        raw_effective_date=eff.isoformat(), reason="Budget", platform=Platform.DS,
        raw_platform="DS",
    )  # fmt: skip


def seed(cfg: Config, n: int, days: int) -> None:
    """N requests with five effects done and five owed (1 in 50 failing, 1 in 100 needing a
    person), and `days` of runs every 15 minutes (one in 24 did something)."""
    ledger = Ledger(cfg.state_path / "ledger.sqlite3")
    try:
        requests = [_request(i, date(2026, 12, 1) + timedelta(days=i % 40)) for i in range(n)]
        ledger.remember_requests(requests)
        effects = []
        for r in requests:
            assert r.effective_date is not None
            for kind, target in (*DONE, *OWED):
                effects.append(Effect(r.id, EffectKind(kind), target, r.effective_date, r))
        ledger.record_planned(effects, "seed")
        for e in effects:
            i = int(e.request.name[3:])
            if (str(e.kind), e.target) in DONE:
                ledger.record_outcome(Outcome(e.key, OutcomeStatus.APPLIED), "seed")
            elif i % 50 == 0 and e.kind is EffectKind.TRELLO_ARCHIVE:
                ledger.record_outcome(Outcome(e.key, OutcomeStatus.FAILED, "Trello: 429"), "seed")
        ledger.replace_findings(
            [r.id for r in requests],
            [Finding(r.id, "approval_chain", "the approval chain is not complete", True, r.label)
             for r in requests[7::100]],
        )  # fmt: skip
    finally:
        ledger.close()
    log = RunLog.in_state_dir(cfg.state_path)
    start = NOW - timedelta(days=days)
    for k in range(days * 96):
        at = start + timedelta(minutes=15 * k)
        busy = k % 24 == 0
        log.run({
            "run_id": f"{at:%Y%m%dT%H%M%SZ}-{k:04x}",
            "started_at": at.isoformat(timespec="milliseconds"),
            "finished_at": (at + timedelta(seconds=2)).isoformat(timespec="milliseconds"),
            "as_of": at.date().isoformat(), "dry_run": False,
            "counts": {"applied": 12 if busy else 0, "failed": 1 if busy and k % 5 == 0 else 0,
                       "waiting": n * 5, "needs_person": 0, "skipped": 0, "left": 0},
            "retries": 0, "exit_code": 0, "error": "", "stopped_early": False, "adopted": 0,
        })  # fmt: skip
    log.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--sizes", default="1000", help="comma-separated N (default 1000)")
    p.add_argument("--days", type=int, default=90, help="days of runs, every 15 min (default 90)")
    p.add_argument("--repeat", type=int, default=5, help="timed renders per N (default 5)")
    args = p.parse_args(argv)
    base = load(REPO / "config" / "sandbox.toml", sandbox=True)
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-page-") as work:
            cfg = dataclasses.replace(base, state_dir=str(Path(work) / "state"))
            seed(cfg, n, args.days)
            out = Path(work) / "page.html"
            trigger = cron_trigger(cfg.schedule.cron, cfg.schedule.timezone)
            times, size = [], 0
            for _ in range(args.repeat):
                t = time.perf_counter()
                size = write_page(
                    cfg, out, now=NOW, sync=("python", "-m", "sync"), redact=str, trigger=trigger
                )
                times.append(time.perf_counter() - t)
            med, worst = statistics.median(times), max(times)
            ok = worst < 1.0 and size < 2_000_000
            print(f"page N={n} runs={args.days * 96} ({args.days} days): median {med:.3f} s, "
                  f"worst {worst:.3f} s (first, with template compile: {times[0]:.3f} s), "
                  f"{size:,} bytes ({size / 1e6:.2f} MB)  {'PASS' if ok else 'MISS'} "
                  "(targets: < 1 s, < 2 MB)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
