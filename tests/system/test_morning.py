"""The morning summary: one email a day to the ops lead, with what the runs did, whatever the
number of runs and restarts; kept exactly once in the ledger like every other email."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.email.connector import EmailConnector
from sync.cli.runner import unlocked_run
from sync.config.model import Config, MorningSummaryConfig, ScheduleConfig
from sync.engine.request import RunRequest
from sync.errors import RetriableError
from sync.ops import morning
from sync.state.ledger import Ledger
from tests.support.fixtures.common import REPO
from tests.support.fixtures.sandbox import SEEDED_ON, Agency

FAR = date(2099, 1, 1)


def summaries(messages: list[object]) -> list[object]:
    return [m for m in messages if "Good morning" in getattr(m, "body", "")]


def at(cfg: Config, day: date, hhmm: str) -> datetime:
    """A moment on `day` at HH:MM in the config's timezone, as an aware UTC datetime."""
    hour, minute = map(int, hhmm.split(":"))
    local = datetime(
        day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(cfg.schedule.timezone)
    )
    return local.astimezone(UTC)


def ops(agency: Agency, send_after: str = "07:30", tz: str = "America/Chicago") -> Config:
    return dataclasses.replace(
        agency.config,
        morning_summary=MorningSummaryConfig(enabled=True, send_after=send_after),
        schedule=ScheduleConfig(timezone=tz),
    )


@pytest.mark.slow  # two CLI processes
def test_one_summary_a_day_across_runs_and_restarts(tmp_path: Path) -> None:
    """Two separate processes (a restart) on the same day: one summary."""
    box = tmp_path / "box"
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "sync", "--sandbox", "--sandbox-dir", str(box)],
            cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    mails = [
        message_from_bytes(p.read_bytes(), policy=default)
        for p in sorted((box / "outbox").glob("*.eml"))
    ]
    found = [m for m in mails if "Good morning" in m.get_body(("plain",)).get_content()]  # type: ignore[union-attr]
    assert len(found) == 1
    body = found[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert found[0]["To"] == "digital-ops-lead@agency.example"
    # Real content: what the first run did, and what is still waiting for a person.
    assert "TR-00001 (Blue Ridge RV Center): added to the Planner Sheet" in body
    assert "Simpli.fi notified" in body
    assert "TR-00007 (Big Sky RV Sales): status is 'Approved' but the approval chain" in body
    assert "1 run(s) from" in body


def test_nothing_goes_out_before_send_after_in_the_schedule_timezone(agency: Agency) -> None:
    cfg = ops(agency, send_after="07:30", tz="America/Chicago")
    email = EmailConnector(cfg)
    day = date(2026, 11, 26)
    try:
        assert not morning.maybe_send(cfg, email, now=at(cfg, day, "07:29"))
        assert not summaries(agency.outbox())
        assert morning.maybe_send(cfg, email, now=at(cfg, day, "07:30"))  # 13:30 UTC
    finally:
        email.close()
    assert len(summaries(agency.outbox())) == 1


def test_the_next_day_brings_the_next_summary_and_only_one(agency: Agency) -> None:
    cfg = ops(agency, send_after="00:00", tz="UTC")
    cfg = dataclasses.replace(
        cfg, morning_summary=dataclasses.replace(cfg.morning_summary, enabled=False)
    )
    unlocked_run(cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON))
    on = dataclasses.replace(cfg, morning_summary=MorningSummaryConfig(enabled=True))
    email = EmailConnector(on)
    # The agency's clock, from just after the run.
    first_at = agency.clock.advance(minutes=1)
    tomorrow = datetime.combine(first_at.date() + timedelta(days=1), datetime.min.time(), UTC)
    try:
        assert morning.maybe_send(on, email, now=first_at)
        assert not morning.maybe_send(on, email, now=first_at + timedelta(seconds=30))
        assert not morning.maybe_send(on, email, now=tomorrow - timedelta(seconds=1))
        assert morning.maybe_send(on, email, now=tomorrow + timedelta(hours=8))
        assert not morning.maybe_send(on, email, now=tomorrow + timedelta(hours=9))
    finally:
        email.close()
    first, second = (m.body for m in summaries(agency.outbox()))  # type: ignore[attr-defined]
    assert "1 run(s) from" in first
    assert "Simpli.fi notified" in first
    # The second covers only what happened since the first: nothing ran in between.
    assert f"since {first_at:%Y-%m-%d %H:%M}" in second
    assert "no runs: if the sync should have run" in second
    assert "Done:\n  (none)" in second
    # What waits for a person is still open, so it is still listed.
    assert "TR-00007 (Big Sky RV Sales)" in second


def test_what_failed_is_in_the_summary_with_its_reason(agency: Agency) -> None:
    cfg = ops(agency, send_after="00:00", tz="UTC")
    cfg = dataclasses.replace(
        cfg, morning_summary=dataclasses.replace(cfg.morning_summary, enabled=False)
    )
    unlocked_run(cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON))
    gone = dict.fromkeys(cfg.trello.boards, "5f0000000000000000000999")
    broken = dataclasses.replace(cfg, trello=dataclasses.replace(cfg.trello, boards=gone))
    unlocked_run(broken, agency.routes, RunRequest(clock=agency.clock.clock(), today=FAR))
    on = dataclasses.replace(
        cfg, morning_summary=MorningSummaryConfig(enabled=True, send_after="00:00")
    )
    email = EmailConnector(on)
    try:
        assert morning.maybe_send(on, email, now=agency.clock.advance(minutes=1))
    finally:
        email.close()
    body = summaries(agency.outbox())[0].body  # type: ignore[attr-defined]
    failed = body.split("Failed (retried on every run):")[1].split("Needs a person:")[0]
    assert "Trello cards archived on the Targeted Digital Advertising board" in failed
    assert "404" in failed or "not found" in failed
    assert "2 run(s)" in body
    assert "1 had failures" in body


class _UnconfirmedError(Exception):
    may_have_been_sent = True


def test_a_send_cut_off_midway_is_not_repeated_unless_resend_is_chosen(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = Ledger(config.state_path / "ledger.sqlite3")
    day = date(2026, 11, 26)
    calls: list[str] = []

    def cut_off() -> None:
        calls.append("cut")
        raise _UnconfirmedError("connection lost during the hand-over")

    try:
        with pytest.raises(_UnconfirmedError):
            morning.send_once_per_day(ledger, "morning_summary", day, cut_off)
        assert not morning.send_once_per_day(ledger, "morning_summary", day, calls.clear)
        assert calls == ["cut"]  # not called again
        assert "may not have gone out" in caplog.text
        assert morning.send_once_per_day(
            ledger, "morning_summary", day, lambda: calls.append("resent"), resend=True
        )
        assert calls == ["cut", "resent"]
    finally:
        ledger.close()


def test_a_refused_send_is_tried_again_on_the_next_run(config: Config) -> None:
    ledger = Ledger(config.state_path / "ledger.sqlite3")
    day = date(2026, 11, 26)
    sent: list[int] = []

    def refused() -> None:
        raise RetriableError("email", "451 try later")

    try:
        with pytest.raises(RetriableError):
            morning.send_once_per_day(ledger, "morning_summary", day, refused)
        assert morning.send_once_per_day(ledger, "morning_summary", day, lambda: sent.append(1))
        assert not morning.send_once_per_day(ledger, "morning_summary", day, lambda: sent.append(2))
        assert sent == [1]
    finally:
        ledger.close()


def test_a_summary_that_cannot_be_sent_never_fails_the_run(
    agency: Agency, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    cfg = ops(agency, send_after="00:00", tz="UTC")
    cfg = dataclasses.replace(cfg, morning_summary=dataclasses.replace(cfg.morning_summary, to=()))
    cfg = dataclasses.replace(cfg, email=dataclasses.replace(cfg.email, ops_lead_to=()))
    result = unlocked_run(
        cfg, agency.routes, RunRequest(clock=agency.clock.clock(), today=SEEDED_ON)
    )
    assert result.exit_code == 0
    assert "could not send the morning summary" in caplog.text
    assert not summaries(agency.outbox())
