"""Build the page from a config's state and write it: `report --html PATH`, and after a run.

The file is replaced in one step (`atomic_write`: a temporary file, fsync, rename) and is 0600
like the rest of the state: it names clients and what happened to them. A browser that has the
page open keeps the old one until it reloads; a reader never sees half a page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sync.config.model import Config
from sync.config.redaction import redact
from sync.ops.page.model import build_page
from sync.ops.page.read import read_schedule, read_state
from sync.ops.page.render import Redactor, page_html
from sync.state.private_files import atomic_write

log = logging.getLogger("sync.page")


def page_text(
    cfg: Config, *, now: datetime, sync: Sequence[str], redact: Redactor, trigger: Any
) -> str:
    """The page of `cfg`'s state as of `now`; `sync` is how its commands are to be typed,
    `trigger` the schedule's (for the next run)."""
    page = build_page(read_state(cfg), read_schedule(cfg, now, trigger), now=now, sync=sync)
    return page_html(page, redact=redact)


def write_page(
    cfg: Config,
    path: Path,
    *,
    now: datetime,
    sync: Sequence[str],
    redact: Redactor,
    trigger: Any,
) -> int:
    """Write the page to `path` (0600, atomically); return its size in bytes."""
    data = page_text(cfg, now=now, sync=sync, redact=redact, trigger=trigger).encode("utf-8")
    atomic_write(path, data)
    return len(data)


def commands_for(cfg: Config) -> tuple[str, ...]:
    """How the page's commands start, for this config: the sandbox's need `--sandbox` (and its
    folder when it is not the default one)."""
    if not cfg.golive.sandbox:
        return ("python", "-m", "sync")
    folder = cfg.state_path.parent
    where = () if folder.name == ".sandbox" else ("--sandbox-dir", str(folder))
    return ("python", "-m", "sync", "--sandbox", *where)


def after_run(
    cfg: Config, *, now: datetime, cron_trigger: Callable[[str, str], Any]
) -> Path | None:
    """Rewrite `[report] html` after a run. Never raises: the page must not fail the run it
    describes (the run log and `status` say the same). `cron_trigger` is `serve`'s reading of
    `[schedule] cron` (the CLI hands it down), so the page's next run is the one it starts."""
    if not cfg.report.html:
        return None
    path = cfg.resolve(cfg.report.html)
    try:
        trigger = cron_trigger(cfg.schedule.cron, cfg.schedule.timezone)
        write_page(cfg, path, now=now, sync=commands_for(cfg), redact=redact, trigger=trigger)
    except Exception as exc:
        log.error("could not write the ops lead's page %s: %s: %s", path, type(exc).__name__, exc)
        return None
    return path
