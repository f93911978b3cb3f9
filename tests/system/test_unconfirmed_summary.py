"""A morning summary a kill left "sending" is treated like every other message (issue #25,
item 6): `status` shows it, `resolve` settles it, the next day's summary says it may be
missing. Before the fix it stayed "sending" forever, with one warning a run and nothing else."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from connectors.email.connector import EmailConnector
from sync.cli.reports import resolve_command, status_command
from sync.config.model import Config, MorningSummaryConfig, ScheduleConfig
from sync.ops import morning
from sync.state.ledger import Ledger
from tests.support.fixtures.sandbox import SEEDED_ON, Agency

DAY = date(2026, 11, 26)


class _CutOffError(Exception):
    may_have_been_sent = True  # the connection broke during the hand-over


def _cfg(agency: Agency) -> Config:
    return dataclasses.replace(
        agency.config,
        morning_summary=MorningSummaryConfig(enabled=True, send_after="07:00"),
        schedule=ScheduleConfig(timezone="UTC"),
    )


def _at(day: date) -> datetime:
    return datetime.combine(day, time(8, 0), UTC)


def _status(cfg: Config) -> str:
    out = io.StringIO()
    status_command(cfg, out=out)
    return " ".join(out.getvalue().split())


def _cut_off_once(monkeypatch: pytest.MonkeyPatch) -> None:
    real = EmailConnector.send_message

    def cut(self: EmailConnector, *args: Any, **kw: Any) -> str:
        monkeypatch.setattr(EmailConnector, "send_message", real)
        raise _CutOffError("connection lost while the message was handed over")

    monkeypatch.setattr(EmailConnector, "send_message", cut)


def test_a_summary_cut_off_is_shown_settled_and_named_the_next_day(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _cfg(agency)
    agency.run(SEEDED_ON)
    email = EmailConnector(cfg)
    try:
        _cut_off_once(monkeypatch)
        assert not morning.maybe_send(cfg, email, now=_at(DAY))
        assert not morning.maybe_send(cfg, email, now=_at(DAY))  # never resent by itself
        name = f"morning_summary:{DAY}"
        assert (
            f"morning summary:{DAY}: unconfirmed send: check the mailbox, then "
            f"`python -m sync resolve {name} --sent` or `--resend`"
        ) in _status(cfg)
        # The next day's summary says the previous one may be missing.
        assert morning.maybe_send(cfg, email, now=_at(date(2026, 11, 27)))
    finally:
        email.close()
    (summary,) = [m for m in agency.outbox() if "Good morning" in m.body]
    assert (
        f"the morning summary of {DAY} may be missing: a run stopped while sending it. Check "
        f"the mailbox, then `python -m sync resolve {name} --sent` (or `--resend`)"
    ) in " ".join(summary.body.split())
    out = io.StringIO()
    assert resolve_command(cfg, name, sent=True, out=out) == 0
    assert f"{name}: recorded as sent." in out.getvalue()
    assert "unconfirmed send" not in _status(cfg)
    ledger = Ledger(cfg.state_path / "ledger.sqlite3")
    try:
        assert morning.unconfirmed(ledger) == []
    finally:
        ledger.close()


def test_resend_lets_the_same_days_summary_go_out_again(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _cfg(agency)
    email = EmailConnector(cfg)
    try:
        _cut_off_once(monkeypatch)
        assert not morning.maybe_send(cfg, email, now=_at(DAY))
        out = io.StringIO()
        assert resolve_command(cfg, f"morning_summary:{DAY}", sent=False, out=out) == 0
        assert "will be sent on the next run" in out.getvalue()
        assert morning.maybe_send(cfg, email, now=_at(DAY))
    finally:
        email.close()
    assert len([m for m in agency.outbox() if "Good morning" in m.body]) == 1
