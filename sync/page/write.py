"""Build the page from a config's state and write it: `report --html PATH`, and after a run.

The file is replaced in one step (`atomic_write`: a temporary file, fsync, rename) and is 0600
like the rest of the state: it names clients and what happened to them. A browser that has the
page open keeps the old one until it reloads; a reader never sees half a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sync.config import Config
from sync.page.model import build_page
from sync.page.read import read_schedule, read_state
from sync.page.render import Redactor, page_html
from sync.private_files import atomic_write


def page_text(cfg: Config, *, now: datetime, sync: Sequence[str], redact: Redactor) -> str:
    """The page of `cfg`'s state as of `now`; `sync` is how its commands are to be typed."""
    page = build_page(read_state(cfg), read_schedule(cfg, now), now=now, sync=sync)
    return page_html(page, redact=redact)


def write_page(
    cfg: Config, path: Path, *, now: datetime, sync: Sequence[str], redact: Redactor
) -> int:
    """Write the page to `path` (0600, atomically); return its size in bytes."""
    data = page_text(cfg, now=now, sync=sync, redact=redact).encode("utf-8")
    atomic_write(path, data)
    return len(data)
