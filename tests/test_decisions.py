"""Issue 15: wrong decisions found by independent testing, each reproduced end to end against
the sandbox agency (real connectors, emulators), then pinned.

Each test names its defect. Helpers come from `tests.reliability_support`.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors.emulators.scenario import request_id, takedown
from sync import planner
from tests.fixtures.sandbox import Agency
from tests.reliability_support import (
    TODAY,
    agency_for,
    cli_on,
    ledger_states,
    runlog,
    scenario,
)


@dataclass
class Cli:
    code: int
    out: str
    err: str


def sync_cli(agency: Agency, *argv: str, today: Any = TODAY) -> Cli:
    out, err = io.StringIO(), io.StringIO()
    with cli_on(agency) as main, redirect_stdout(out), redirect_stderr(err):
        code = main(["--as-of", today.isoformat(), *argv])
    return Cli(code, out.getvalue(), err.getvalue())


def flat(text: str) -> str:
    return " ".join(text.split())


def key(n: int, kind: str, target: str) -> str:
    return f"{request_id(n)}/{kind}/{target}"


def alerts(agency: Agency) -> list[str]:
    """Messages to the operations lead (the alerts): subject and body."""
    ops = set(agency.config.email.ops_lead_to)
    return [f"{d.message['Subject']}\n{d.body}" for d in agency.outbox() if ops & set(d.rcpt_tos)]


# ----- defect 3: one bad value, or one bug, must not stop every run nor be logged as clean ------
@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-inf", "sNaN", "1e999999999", "12 USD"])
def test_a_non_finite_or_unparseable_credit_is_bad_input_for_that_request_only(
    tmp_path: Path, sandbox_env: None, amount: str
) -> None:
    seeded = scenario(
        tmp_path / "s",
        [
            takedown(1, 1, "Cancellation", Credit_Amount__c=amount),
            takedown(2, 2, "Contract Pause"),
        ],
    )
    with agency_for(tmp_path / "a", seeded) as agency:
        done = sync_cli(agency)
        assert "Traceback" not in done.err
        states = ledger_states(agency)
        assert states[key(2, "planner_add", "planner")] == "applied"  # the other one went on
        assert not any(k.startswith(request_id(1)) for k in states)  # nothing done for it
        finding = next(r for r in runlog(agency) if r.get("request_id") == request_id(1))
        assert "credit amount" in finding["message"]
        assert amount in finding["message"]
        assert runlog(agency)[-1]["error"] == ""


def test_a_bug_planning_one_request_makes_that_request_a_finding_and_the_others_go_on(
    tmp_path: Path, sandbox_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = planner.effects_for

    def broken(req: Any, *args: Any, **kw: Any) -> Any:
        if req.id == request_id(1):
            raise ZeroDivisionError("a planted bug")
        return real(req, *args, **kw)

    monkeypatch.setattr(planner, "effects_for", broken)
    seeded = scenario(
        tmp_path / "s", [takedown(1, 1, "Cancellation"), takedown(2, 2, "Contract Pause")]
    )
    with agency_for(tmp_path / "a", seeded) as agency:
        done = sync_cli(agency)
        assert "Traceback" not in done.err
        assert ledger_states(agency)[key(2, "planner_add", "planner")] == "applied"
        line = next(r for r in runlog(agency) if r.get("code") == "internal_error")
        assert line["request_id"] == request_id(1)
        assert "ZeroDivisionError: a planted bug" in line["message"]
        assert "ZeroDivisionError: a planted bug" in done.err
        assert any("ZeroDivisionError: a planted bug" in a for a in alerts(agency))


def test_a_crash_of_the_whole_run_is_a_failed_run_line_exit_3_and_an_alert(
    tmp_path: Path, sandbox_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync import engine  # noqa: PLC0415 - patched below, by module

    def broken(*_a: Any, **_kw: Any) -> Any:
        raise KeyError("planted")

    monkeypatch.setattr(engine, "plan", broken)
    seeded = scenario(tmp_path / "s", [takedown(1, 1, "Cancellation")])
    with agency_for(tmp_path / "a", seeded) as agency:
        done = sync_cli(agency)
        assert done.code == 3, done.err
        assert "Traceback" not in done.err
        assert "KeyError" in done.err
        line = runlog(agency)[-1]
        assert line["type"] == "run"
        assert line["exit_code"] == 3
        assert "KeyError" in line["error"]
        shown = sync_cli(agency, "log")
        assert "FAILED (exit 3): internal error: KeyError" in shown.out.splitlines()[2]
        assert any("KeyError" in a for a in alerts(agency)), "the operations lead is alerted"
