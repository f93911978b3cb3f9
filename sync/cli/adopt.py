"""`python -m sync adopt`: record the requests people handled before the sync took over.

One full query of the approved requests (the same query a full reconcile makes), then the pure
selection of `sync.core.adoption`. Nothing is written anywhere but the ledger: no sheet, board,
email or Salesforce record is touched, and `--dry-run` does not even write the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import TextIO

from sync.cli.runner import take_lock
from sync.clock import SYSTEM as SYSTEM_CLOCK
from sync.clock import Clock
from sync.config.model import Config
from sync.core import adoption as adopt
from sync.core.domain import TakedownRequest
from sync.engine import wiring
from sync.errors import ConfigError
from sync.exitcodes import ExitCode
from sync.ops.render import table
from sync.state.adoption import AdoptionLedger
from sync.state.ledger import Ledger

log = logging.getLogger("sync.adopt")
CUTOVER = "cutover"


def adopt_command(
    cfg: Config,
    routes: Mapping[str, str] | None,
    *,
    before: date | None,
    only: str | None,
    dry_run: bool,
    out: TextIO,
    clock: Clock = SYSTEM_CLOCK,
) -> int:
    if before is None and cfg.golive.approved_before:
        before = date.fromisoformat(cfg.golive.approved_before)
    if before is None and only is None:
        raise ConfigError(
            "adopt needs the cut-over day: --approved-before YYYY-MM-DD (or golive."
            "approved_before in the config), or one request: --only REQUEST_ID"
        )
    path = cfg.state_path / "ledger.sqlite3"
    lock = None if dry_run else take_lock(cfg)
    source = wiring.salesforce(cfg, routes)
    try:
        ledger = Ledger.open_readonly(path, clock=clock) if dry_run else Ledger(path, clock=clock)
        try:
            fetched = source.fetch(
                since=None,
                open_ids=[only] if only and not only.upper().startswith("TR-") else [],
                run_started=clock.now(),
                full=True,
            )
            known = AdoptionLedger(ledger).adopted() if ledger else {}
            acted = {k.split("/", 1)[0] for k in ledger.states()} if ledger else set()
            chosen = _choose(fetched.requests, before, only)
            new = [r for r in chosen if r.id not in known and r.id not in acted]
            touched = [r for r in chosen if r.id in acted]
            _print(out, new, known_count=len(chosen) - len(new) - len(touched), before=before)
            for r in touched:
                out.write(
                    f"not adopted: {r.label}: the sync already acted on it (see "
                    "`python -m sync status`)\n"
                )
            if only is not None and not chosen:
                raise ConfigError(f"no request {only!r} in Salesforce (by id or name)")
            if dry_run:
                out.write(f"dry run: {len(new)} request(s) would be adopted; nothing was written\n")
                return ExitCode.OK
            assert ledger is not None
            cutover = before.isoformat() if before else ""
            with ledger.transaction():
                added = AdoptionLedger(ledger).adopt(_rows(new), cutover or "by hand")
                if before is not None:
                    ledger.set_meta(CUTOVER, cutover)
            out.write(
                f"adopted {added} request(s): the sync will never act on them by itself "
                "(`python -m sync status` lists them)\n"
            )
        finally:
            if ledger is not None:
                ledger.close()
    finally:
        source.close()
        if lock is not None:
            lock.release()
    return ExitCode.OK


def _choose(
    requests: list[TakedownRequest], before: date | None, only: str | None
) -> list[TakedownRequest]:
    if only is not None:
        return [r for r in requests if only in (r.id, r.name)]
    assert before is not None
    return sorted(
        (r for r in requests if adopt.before_cutover(r, before)),
        key=lambda r: (adopt.approved_on(r) or date.min, r.name),
    )


def _rows(reqs: list[TakedownRequest]) -> list[tuple[str, str, str, str]]:
    return [
        (r.id, r.label, r.status, (d.isoformat() if (d := adopt.approved_on(r)) else ""))
        for r in reqs
    ]


def _print(
    out: TextIO, new: list[TakedownRequest], *, known_count: int, before: date | None
) -> None:
    when = f"approved before {before:%Y-%m-%d}" if before else "named"
    out.write(f"{len(new)} request(s) {when} to adopt (handled by people)")
    out.write(f"; {known_count} adopted earlier\n" if known_count else "\n")
    rows = [
        [
            r.name or r.id,
            r.client_name,
            r.raw_type,
            f"{adopt.approved_on(r) or '?'}" + ("" if r.approved_at else " (modified)"),
            f"{r.effective_date or r.raw_effective_date or '?'}",
        ]
        for r in new
    ]
    if rows:
        shown = rows if len(rows) <= 40 else [*rows[:20], ["...", "", "", "", ""], *rows[-10:]]
        out.write(table(shown, ["request", "client", "type", "approved on", "effective"]) + "\n")
