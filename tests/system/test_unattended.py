"""Running unattended as an operations lead would (issue 16): one message is one ledger step
and one `resolve`, an unconfirmed send keeps the exit code at 1, a repeated alert is a new
message, `--only` cannot create a phantom, a stop says what it left, and `check` names what it
checked. Everything runs the real connectors against the emulated agency."""

from __future__ import annotations

import io
import os
import signal
import smtplib
import sqlite3
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from connectors.email.connector import EmailConnector
from sync.cli import reports
from sync.cli.check import run_check
from sync.cli.runner import locked_run
from sync.core.domain import (
    Effect,
    EffectKind,
    Finding,
    Outcome,
    OutcomeStatus,
    System,
    TakedownRequest,
)
from sync.core.planner import Plan
from sync.engine import run as engine
from sync.engine.request import RunRequest
from sync.engine.result import RunResult
from sync.engine.wiring import build
from sync.errors import ConnectorError
from sync.ops.alerts import after_run
from sync.ops.render import run_text
from sync.state.ledger import Ledger
from sync.state.runlog import OUTCOMES, RunLog
from tests.support.fixtures.sandbox import Agency
from tests.support.reliability import cli_on

DAY = date(2026, 11, 25)  # the bundled agency's first day: seven requests inform the manager
OPS_LEAD = "digital-ops-lead@agency.example"


class Crash(BaseException):
    """Stands for the process being killed: nothing in the sync catches it."""


def ledger_of(agency: Agency) -> Ledger:
    return Ledger(agency.config.state_path / "ledger.sqlite3")


def states(agency: Agency) -> dict[str, str]:
    ledger = ledger_of(agency)
    try:
        return {k: str(v) for k, v in ledger.states().items()}
    finally:
        ledger.close()


def digest_keys(agency: Agency) -> list[str]:
    return sorted(k for k in states(agency) if f"/{EffectKind.MANAGER_DIGEST}/" in k)


def digests(agency: Agency) -> list[Any]:
    return [m for m in agency.outbox() if "X-Offboarding-Sync-Effects" in m.message and
            "/manager_digest/" in str(m.message["X-Offboarding-Sync-Effects"])]  # fmt: skip


def runs(agency: Agency) -> list[dict[str, Any]]:
    return RunLog.in_state_dir(agency.config.state_path).runs()


# ----- 1. one message, one ledger step, one resolve ---------------------------------------------
class _DiesOnADigestMark:
    """The ledger's connection, killed while it marks the n-th digest effect "sending"."""

    def __init__(self, db: sqlite3.Connection, n: int) -> None:
        self._db, self._n, self._seen = db, n, 0

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if "SET state = 'sending'" in sql and any("/manager_digest/" in str(p) for p in params):
            self._seen += 1
            if self._seen == self._n:
                raise Crash("killed while marking the digest's effects")
        return self._db.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_a_kill_while_marking_a_digest_leaves_all_or_none_sending_and_one_digest_goes_out(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Dying(Ledger):
        def __init__(self, path: Path, **kw: Any) -> None:
            super().__init__(path, **kw)
            self._db = _DiesOnADigestMark(self._db, n=3)  # type: ignore[assignment]

    with monkeypatch.context() as mp:
        mp.setattr(engine, "Ledger", Dying)
        with pytest.raises(Crash):
            agency.run(DAY)
    keys = digest_keys(agency)
    assert len(keys) == 7
    assert {states(agency)[k] for k in keys} == {"planned"}  # none half-marked
    assert digests(agency) == []
    rerun = agency.run(DAY)
    assert rerun.exit_code == 0
    (digest,) = digests(agency)  # one message naming all seven requests, not two
    assert str(digest.message["X-Offboarding-Sync-Effects"]).split() == keys
    assert {states(agency)[k] for k in keys} == {"applied"}


def test_a_kill_after_the_digest_went_out_is_one_unconfirmed_message_settled_by_one_resolve(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = smtplib.SMTP.send_message

    def send_then_die(self: smtplib.SMTP, msg: Any, *args: Any, **kwargs: Any) -> Any:
        refused = real(self, msg, *args, **kwargs)
        if "/manager_digest/" in str(msg.get("X-Offboarding-Sync-Effects", "")):
            raise Crash("killed after the server took the digest")
        return refused

    with monkeypatch.context() as mp:
        mp.setattr(smtplib.SMTP, "send_message", send_then_die)
        with pytest.raises(Crash):
            agency.run(DAY)
    keys = digest_keys(agency)
    assert {states(agency)[k] for k in keys} == {"sending"}
    # The rerun does not resend it, and its exit code says something is unconfirmed.
    rerun = agency.run(DAY)
    assert len(digests(agency)) == 1
    assert rerun.exit_code == 1
    assert "unconfirmed_send" in {f.code for f in rerun.plan.findings}
    assert runs(agency)[-1]["exit_code"] == 1
    # One resolve, by any one of its keys, settles the whole message.
    out = io.StringIO()
    assert reports.resolve_command(agency.config, keys[3], sent=True, out=out) == 0
    assert f"One message carrying {len(keys)} effects: recorded as sent" in out.getvalue()
    assert {states(agency)[k] for k in keys} == {"applied"}
    final = agency.run(DAY)
    assert final.exit_code == 0
    assert len(digests(agency)) == 1


def test_resolve_by_message_id_settles_the_message(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = smtplib.SMTP.send_message

    def send_then_die(self: smtplib.SMTP, msg: Any, *args: Any, **kwargs: Any) -> Any:
        real(self, msg, *args, **kwargs)
        if "/manager_digest/" in str(msg.get("X-Offboarding-Sync-Effects", "")):
            raise Crash("killed after the server took the digest")
        return {}

    with monkeypatch.context() as mp:
        mp.setattr(smtplib.SMTP, "send_message", send_then_die)
        with pytest.raises(Crash):
            agency.run(DAY)
    mid = str(digests(agency)[0].message["Message-ID"])
    out = io.StringIO()
    assert reports.resolve_command(agency.config, mid.strip("<>"), sent=False, out=out) == 0
    assert {states(agency)[k] for k in digest_keys(agency)} == {"planned"}  # resend next run
    agency.run(DAY)
    assert len(digests(agency)) == 2  # resent once, as the person asked


def test_a_kill_between_recording_a_digests_outcomes_leaves_none_sending(
    agency: Agency,
) -> None:
    def die_on_digest(effect: Effect, _outcome: Outcome) -> None:
        if effect.kind is EffectKind.MANAGER_DIGEST:
            raise Crash("killed right after the first outcome of the digest was recorded")

    with pytest.raises(Crash):
        agency.run(DAY, on_effect=die_on_digest)
    assert {states(agency)[k] for k in digest_keys(agency)} == {"applied"}
    assert agency.run(DAY).exit_code == 0


# ----- 2. a repeated alert is a new message ------------------------------------------------------
def test_an_alert_keeps_its_message_id_on_a_resend_and_a_new_occurrence_gets_a_new_one(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[str] = []
    real_send = EmailConnector.send_alert

    def first_attempt_fails(self: EmailConnector, key: str, subject: str, body: str) -> None:
        attempts.append(key)
        if len(attempts) == 1:
            raise ConnectorError("email", "relay down")  # this alert stays pending
        real_send(self, key, subject, body)

    monkeypatch.setattr(EmailConnector, "send_alert", first_attempt_fails)

    def run_and_alert(fatal: str) -> list[str]:
        now = agency.clock.advance(seconds=1)
        result = RunResult("r", DAY, False, Plan(today=DAY), now, now, fatal=fatal)
        clock = agency.clock.clock()
        wired = build(agency.config, agency.routes, clock=clock)
        try:
            return after_run(agency.config, result, wired.connectors[System.EMAIL], clock)
        finally:
            wired.close()

    def alerts() -> list[str]:
        return [str(m.message["Message-ID"]) for m in agency.outbox() if m.rcpt_tos == (OPS_LEAD,)]

    assert run_and_alert("salesforce: unreachable") == []  # not sent: pending
    assert run_and_alert("salesforce: unreachable") == ["run:fatal"]  # the resend
    assert attempts[0] == attempts[1]  # same occurrence, same key, so the same Message-ID
    assert run_and_alert("salesforce: unreachable") == []  # persists: not alerted again
    assert run_and_alert("") == []  # fixed: resolved
    assert run_and_alert("salesforce: unreachable") == ["run:fatal"]  # it came back
    first, second = alerts()
    assert second != first  # a new occurrence is a new message, not a duplicate to drop
    assert run_and_alert("") == []
    assert run_and_alert("salesforce: unreachable") == ["run:fatal"]
    assert len(set(alerts())) == 3


# ----- 3. --only ---------------------------------------------------------------------------------
def cli(agency: Agency, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with cli_on(agency) as main, redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_an_unknown_only_is_a_usage_error_that_records_nothing(agency: Agency) -> None:
    code, out, err = cli(agency, "--as-of", DAY.isoformat(), "--only", "TR-99999")
    assert code == 2
    assert err.strip().splitlines() == [
        "usage error: --only TR-99999: no Takedown Request has this id or name in Salesforce; "
        "nothing was done"
    ]
    assert out == ""
    assert runs(agency) == []  # no run line
    assert not (agency.config.state_path / "ledger.sqlite3").exists() or (
        ledger_of(agency).findings() == []
    )
    code, out, _ = cli(agency, "status")
    assert "TR-99999" not in out
    assert agency.outbox() == []  # and no alert about it


def test_only_by_name_acts_on_that_request_and_reports_no_phantom(agency: Agency) -> None:
    code, out, err = cli(agency, "--as-of", DAY.isoformat(), "--only", "TR-00002")
    assert code == 0, err
    assert "TR-00002 (Lone Star Powersports)" in out
    assert "no longer in Salesforce" not in out + err
    done = {k: v for k, v in states(agency).items() if v == "applied"}
    assert done
    assert {k.split("/")[0] for k in done} == {
        r["Id"]
        for r in agency.emulators["salesforce"].snapshot()["records"]["Takedown_Request__c"]
        if r["Name"] == "TR-00002"
    }
    ledger = ledger_of(agency)
    try:
        assert [f for f in ledger.findings() if f.code == "not_in_salesforce"] == []
    finally:
        ledger.close()


def test_a_phantom_left_by_an_older_version_disappears(agency: Agency) -> None:
    agency.run(DAY)
    ledger = ledger_of(agency)
    try:  # what `--only TR-99999` used to leave behind
        ledger.replace_findings(
            ["TR-99999"],
            [Finding("TR-99999", "not_in_salesforce", "the request is no longer in Salesforce")],
        )
    finally:
        ledger.close()
    _, out, _ = cli(agency, "status")
    assert "TR-99999" not in out  # never acted on, not in Salesforce: not shown
    agency.run(DAY)  # and the next run forgets it for good
    ledger = ledger_of(agency)
    try:
        assert "TR-99999" not in {f.request_id for f in ledger.findings()}
        assert "TR-99999" not in ledger.open_request_ids()
    finally:
        ledger.close()


# ----- 6. a stopped run says so ------------------------------------------------------------------
def test_a_stopped_run_says_it_stopped_and_counts_what_it_left(agency: Agency) -> None:
    seen: list[str] = []
    result = agency.run(
        DAY, on_effect=lambda e, _o: seen.append(e.key), stop=lambda: len(seen) >= 3
    )
    assert result.stopped
    left = len(result.plan.due) - len(result.outcomes) - len(result.waiting_on)
    assert left > 0
    assert result.counts["left"] == left
    assert result.exit_code == 3
    line = runs(agency)[-1]
    assert (line["exit_code"], line["stopped_early"], line["counts"]["left"]) == (3, True, left)
    text = " ".join(run_text(result).split())
    assert "STOPPED EARLY" in text
    assert f"left {left} effects owed for the next run" in text
    out = io.StringIO()
    reports.log_command(agency.config, None, failed=False, limit=5, out=out)
    assert f"stopped early, {left} left for the next run" in out.getvalue()
    # The next run does what was left, and only that.
    after = agency.run(DAY)
    assert after.exit_code == 0
    assert set(after.outcomes) >= {e.key for e in result.left}


@pytest.fixture
def sigterm_is_a_crash() -> Iterator[None]:
    """Without the run's own handler, SIGTERM would end pytest: make it a test failure."""

    def crash(_n: int, _f: FrameType | None) -> None:
        raise Crash("SIGTERM reached the default handler: the run did not catch it")

    previous = signal.signal(signal.SIGTERM, crash)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_sigterm_during_a_cron_run_ends_it_early_with_exit_code_3(
    agency: Agency, monkeypatch: pytest.MonkeyPatch, sigterm_is_a_crash: None
) -> None:
    real = smtplib.SMTP.send_message

    def send_then_sigterm(self: smtplib.SMTP, msg: Any, *args: Any, **kwargs: Any) -> Any:
        refused = real(self, msg, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # systemd stops the unit mid-run
        return refused

    monkeypatch.setattr(smtplib.SMTP, "send_message", send_then_sigterm)
    result = locked_run(
        agency.config, agency.routes, RunRequest(clock=agency.clock.clock(), today=DAY)
    )
    assert result.stopped
    assert result.exit_code == 3
    assert result.counts["left"] > 0
    assert len([m for m in agency.outbox() if m.rcpt_tos != (OPS_LEAD,)]) == 1


# ----- 11. check names what it checked -----------------------------------------------------------
def test_check_names_every_spreadsheet_tab_header_set_board_and_the_relay(agency: Agency) -> None:
    out = io.StringIO()
    assert run_check(agency.config, agency.routes, out=out) == 0
    text = out.getvalue()
    cfg = agency.config
    for name in ("ds_tracker", "ari_tracker", "planner", "monthly", "offboarding"):
        sheet = getattr(cfg.sheets, name)
        headers = ", ".join(repr(h) for h in sheet.columns.values())
        assert (
            f"checked sheets.{name}: spreadsheet {sheet.spreadsheet_id}, tab '{sheet.tab}', "
            f"headers {headers}"
        ) in text
    for board, board_id in cfg.trello.boards.items():
        assert f"checked trello.boards.{board}: board {board_id} is open" in text
    assert f"checked relay {cfg.email.host}:{cfg.email.port}" in text
    assert f"checked object {cfg.salesforce.object}:" in text


# ----- 12. the run log's outcomes are one list, used ---------------------------------------------
def test_the_run_log_accepts_every_outcome_and_only_those_and_log_has_words_for_each(
    tmp_path: Path,
) -> None:
    assert set(OUTCOMES) == {str(s) for s in OutcomeStatus} | {"waiting", "on_hold"}
    assert "unconfirmed" in OUTCOMES
    assert set(reports._WORDS) == set(OUTCOMES)
    effect = Effect("a0T1", EffectKind.MANAGER_DIGEST, "tda_manager", DAY, request=_request())
    log = RunLog(tmp_path / "runs.jsonl")
    for outcome in OUTCOMES:
        log.effect("r", effect, outcome, at="2026-11-25T00:00:00Z")
    with pytest.raises(ValueError, match="not a run log outcome"):
        log.effect("r", effect, "done", at="2026-11-25T00:00:00Z")
    assert [e["outcome"] for e in log.effects_of("r")] == list(OUTCOMES)


def _request() -> TakedownRequest:
    return TakedownRequest(
        id="a0T1", name="TR-1", account_id="001", client_name="Acme", type=None, raw_type="",
        status="Approved", approved=True, effective_date=DAY, raw_effective_date="",
        reason="", platform=None, raw_platform="",
    )  # fmt: skip
