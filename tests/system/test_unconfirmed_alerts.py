"""Alerts: a changed cause is a new problem (issue #25, item 7), and an alert is recorded
"sending" before it goes out and "sent" after, like every message (item 10).

Before the fix a problem whose cause changed while it was open was never alerted again (the
ops lead's only alert named the old cause), and a kill between sending an alert and recording
it sent the same alert again on the next run."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest

from sync.cli.reports import resolve_command, status_command
from sync.core.domain import System
from sync.engine.wiring import build
from sync.ops.alerts import after_run
from sync.state.alert_sends import AlertSends
from sync.state.ledger import Ledger
from tests.support.fixtures.sandbox import Agency

DAY = date(2026, 11, 25)
TAB = "Cancellations & Pauses"


def _run_with_alerts(agency: Agency) -> list[str]:
    result = agency.run(DAY)
    wired = build(agency.config, agency.routes, sleep=lambda _s: None)
    try:
        return after_run(agency.config, result, wired.connectors[System.EMAIL])
    finally:
        wired.close()


def _alerts(agency: Agency) -> list[Any]:
    ops = agency.config.email.ops_lead_to[0]
    return [m for m in agency.outbox() if m.message["To"] == ops]


def test_a_changed_cause_is_alerted_again_as_a_new_message(agency: Agency) -> None:
    google = agency.emulators["google"]
    google.set_cell("sandbox-planner", TAB, "C1", "Kind")
    assert _run_with_alerts(agency)
    assert _run_with_alerts(agency) == []  # the same cause: not again
    first = _alerts(agency)
    assert len(first) == 1
    assert "no column headed 'Type'" in first[0].body
    # The header is back, but now another one is renamed: the same effects fail anew.
    google.set_cell("sandbox-planner", TAB, "C1", "Type")
    google.set_cell("sandbox-planner", TAB, "E1", "Why")
    again = _run_with_alerts(agency)
    assert again
    assert all(k.startswith("effect:") and "/planner_add/" in k for k in again)
    second = _alerts(agency)
    assert len(second) == 2
    assert "no column headed 'Reason'" in second[1].body
    assert second[1].message["Message-ID"] != second[0].message["Message-ID"]
    assert _run_with_alerts(agency) == []  # and that cause, once


class _Killed(BaseException):
    """The process dying between the send and its record (SIGKILL cannot be caught: this
    leaves the ledger exactly as a kill at that instant would)."""


def test_a_kill_between_sending_an_alert_and_recording_it_never_sends_it_twice(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    agency.emulators["google"].set_cell("sandbox-planner", TAB, "C1", "Kind")
    real = Ledger.alert_sent

    def killed(self: Ledger, problem: str, message: str) -> None:
        raise _Killed

    monkeypatch.setattr(Ledger, "alert_sent", killed)
    with pytest.raises(_Killed):
        _run_with_alerts(agency)
    monkeypatch.setattr(Ledger, "alert_sent", real)
    assert len(_alerts(agency)) == 1
    assert _run_with_alerts(agency) == []
    assert len(_alerts(agency)) == 1, "the alert was sent twice"
    # A person sees it and settles it, as for any unconfirmed message.
    out = io.StringIO()
    status_command(agency.config, out=out)
    shown = " ".join(out.getvalue().split())
    ledger = Ledger(agency.config.state_path / "ledger.sqlite3")
    try:
        (pending,) = AlertSends(ledger).unconfirmed()
    finally:
        ledger.close()
    assert f"`python -m sync resolve {pending.key} --sent` or `--resend`" in shown
    out = io.StringIO()
    assert resolve_command(agency.config, pending.key, sent=True, out=out) == 0
    assert "recorded as sent" in out.getvalue()
    assert _run_with_alerts(agency) == []
    assert len(_alerts(agency)) == 1


def test_an_unconfirmed_alert_resent_on_request_keeps_its_message_id(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    agency.emulators["google"].set_cell("sandbox-planner", TAB, "C1", "Kind")
    real = Ledger.alert_sent
    monkeypatch.setattr(Ledger, "alert_sent", lambda *_a: (_ for _ in ()).throw(_Killed()))
    with pytest.raises(_Killed):
        _run_with_alerts(agency)
    monkeypatch.setattr(Ledger, "alert_sent", real)
    ledger = Ledger(agency.config.state_path / "ledger.sqlite3")
    try:
        (pending,) = AlertSends(ledger).unconfirmed()
    finally:
        ledger.close()
    assert resolve_command(agency.config, pending.key, sent=False, out=io.StringIO()) == 0
    assert _run_with_alerts(agency)
    first, second = _alerts(agency)
    assert first.message["Message-ID"] == second.message["Message-ID"]  # a duplicate to filters
