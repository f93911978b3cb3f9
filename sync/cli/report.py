"""`python -m sync report --html PATH`: the ops lead's page, from the state alone.

Reads the ledger, the run log and the schedule (no service is called, so it works on any machine
that can read the state, while a run is going on too) and writes one self-contained HTML file,
0600, atomically.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from sync.cli.schedule import cron_trigger
from sync.config.model import Config
from sync.config.redaction import redact
from sync.exitcodes import ExitCode
from sync.ops.page.write import commands_for, write_page


def report_command(cfg: Config, html: str, *, now: datetime) -> int:
    path = Path(html)
    trigger = cron_trigger(cfg.schedule.cron, cfg.schedule.timezone)
    try:
        size = write_page(
            cfg, path, now=now, sync=commands_for(cfg), redact=redact, trigger=trigger
        )
    except OSError as exc:
        print(f"cannot write the page to {path}: {exc.strerror or exc}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"The ops lead's page: {path.resolve()} ({size:,} bytes); open it in a browser.")
    return ExitCode.OK
