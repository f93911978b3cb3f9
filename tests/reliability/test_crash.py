"""Crash anywhere: the sync dies after its k-th outgoing write, for every k, then runs again.

The scenario has a cancellation (every offboarding effect due today), a pause and a contract
change. Whatever the k, the end state of every emulator equals that of an uninterrupted run, no
email goes out twice or goes missing, and no sheet row is doubled. An email whose send was the
k-th write is left "sending" and reported; `python -m sync resolve KEY --sent` settles it (the
designed behaviour: the sync cannot know whether a message it handed over went out).

One case kills a real `python -m sync` child process with SIGKILL right after its first write.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from connectors.emulators.base import Request as EmuRequest
from sync.config.model import PacingConfig
from sync.sandbox.agency import SANDBOX_SECRETS
from tests.support.fixtures.sandbox import Agency
from tests.support.reliability import (
    REPO,
    TODAY,
    UNCONFIRMED_KEY,
    Killed,
    agency_for,
    child_cli_script,
    cli_on,
    core_requests,
    differences,
    duplicated_rows,
    ledger_states,
    morning_summaries,
    outbox,
    run,
    scenario,
    watch_writes,
    world,
)
from tests.support.undo import EFFECTIVE, cancellation, undo, withdraw

pytestmark = pytest.mark.slow  # crash matrices: a kill after every write

FINAL = {"applied", "skipped"}
IN_FLIGHT = PacingConfig().trello_in_flight  # the sandbox config keeps the default


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scenario(tmp_path_factory.mktemp("scenario"), core_requests())


@pytest.fixture(scope="module")
def baseline(seeded: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The uninterrupted run: its end state, its outbox and its writes in order."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in SANDBOX_SECRETS.items():
            mp.setenv(name, value)
        with agency_for(tmp_path_factory.mktemp("baseline"), seeded) as agency:
            with watch_writes() as writes:
                result = run(agency)
            assert result.exit_code == 0, result.outcomes
            assert run(agency).outcomes == {}  # and a second run has nothing left to do
            return {
                "world": world(agency),
                "outbox": outbox(agency),
                "writes": list(writes.seen),
                "ledger": ledger_states(agency),
            }


def _settle_unconfirmed(agency: Agency, findings_text: str) -> list[str]:
    """What the ops lead does with the report: check the mailbox, then `resolve KEY --sent`."""
    keys = UNCONFIRMED_KEY.findall(findings_text)
    states = ledger_states(agency)
    assert keys
    assert {states[k] for k in keys} == {"sending"}
    with cli_on(agency) as sync_cli:
        for key in keys:
            if ledger_states(agency)[key] != "sending":
                continue  # settled with its message by an earlier `resolve`
            out = io.StringIO()
            with redirect_stdout(out):
                assert sync_cli(["resolve", key, "--sent"]) == 0
            assert "recorded as sent" in out.getvalue()
    # One `resolve` per message: the digest's keys were settled together.
    assert {ledger_states(agency)[k] for k in keys} == {"applied"}
    return keys


def _assert_same_as_baseline(agency: Agency, baseline: dict[str, Any], k: int) -> None:
    now = world(agency)
    assert now == baseline["world"], (k, differences(now, baseline["world"]))
    sent = outbox(agency)
    assert sent == baseline["outbox"], f"kill after write {k}: {sent - baseline['outbox']}"
    assert max(sent.values()) == 1
    assert max(morning_summaries(agency).values(), default=1) == 1
    assert duplicated_rows(agency) == {}
    states = ledger_states(agency)
    assert set(states.values()) <= FINAL, states
    assert states == baseline["ledger"]


def test_the_baseline_has_a_write_of_every_system(baseline: dict[str, Any]) -> None:
    kinds = Counter(w.split(" ")[0] for w in baseline["writes"])
    # 5 spreadsheet batchUpdates, 2 archives + 2 comments, 1 Salesforce call, 5 messages.
    assert kinds == {"POST": 7, "PUT": 2, "PATCH": 1, "SMTP": 5}, baseline["writes"]


def test_killed_after_every_write_then_rerun_ends_as_if_never_killed(
    seeded: dict[str, Any], baseline: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    total = len(baseline["writes"])
    unconfirmed_cases = 0
    for k in range(1, total + 1):
        with agency_for(tmp_path / f"k{k}", seeded) as agency:
            with watch_writes(kill_at=k) as writes, pytest.raises(Killed):
                run(agency)
            # Trello's writes run a few at a time, beside the emails: requests already on the
            # wire when the process dies may land too (none starts after it), as they would
            # for real; a message among them was sent but never confirmed.
            assert k <= len(writes.seen) <= k + IN_FLIGHT, writes.seen
            killed_by = writes.seen[k - 1]
            on_the_wire = writes.seen[k - 1 :]
            rerun = run(agency)
            needs = [f for f in rerun.plan.needs_person if f.code == "unconfirmed_send"]
            if any(w.startswith("SMTP") for w in on_the_wire):
                # The message went out but the sync never heard so: reported, never resent.
                assert needs, f"kill after write {k} ({killed_by}) was not reported"
                text = "\n".join(f.message for f in needs)
                keys = _settle_unconfirmed(agency, text)
                assert keys
                unconfirmed_cases += 1
                final = run(agency)  # the write-back held back by the unsettled message
                assert final.exit_code == 0, final.outcomes
            else:
                assert needs == [], (k, killed_by, needs)
                assert rerun.exit_code == 0, (k, killed_by, rerun.outcomes)
            assert run(agency).outcomes == {}
            _assert_same_as_baseline(agency, baseline, k)
    assert unconfirmed_cases >= 5  # every message was the killing write once


def test_sigkill_of_a_real_process_after_its_first_write(
    seeded: dict[str, Any], baseline: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    """`python -m sync --as-of DAY` in a child process, killed with SIGKILL the moment it sends
    its next request after the first write's answer; then the same command again."""
    with agency_for(tmp_path / "agency", seeded) as agency:
        spec = tmp_path / "spec.json"
        spec.write_text(
            json.dumps(
                {
                    "dir": str(agency.directory),
                    "smtp_port": agency.emulators["smtp"].port,
                    "routes": agency.routes,
                }
            )
        )
        argv = [*child_cli_script(spec), "--as-of", TODAY.isoformat()]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        child: dict[str, subprocess.Popen[str]] = {}
        killed: list[int] = []

        def kill_once_past_the_first_write(_req: EmuRequest) -> None:
            if not killed and agency.http_writes() >= 1:
                killed.append(agency.http_writes())
                os.kill(child["p"].pid, signal.SIGKILL)

        for name in ("salesforce", "google", "trello"):
            agency.emulators[name].on_request(kill_once_past_the_first_write, times=-1)
        child["p"] = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        out, err = child["p"].communicate(timeout=60)
        assert child["p"].returncode == -signal.SIGKILL, (out, err)
        assert killed == [1]
        # Nothing was written after the kill but what was already on the wire: Trello's
        # writes (up to IN_FLIGHT) run beside the spreadsheets' and the emails' (one).
        assert 1 <= agency.http_writes() <= 1 + IN_FLIGHT + 1
        for name in ("salesforce", "google", "trello"):
            agency.emulators[name].hooks.clear()

        again = subprocess.run(
            argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert again.returncode == 0, again.stdout + again.stderr
        # The lock the killed run held is taken over, and the log says so.
        assert "ended without releasing the lock; taken over" in again.stderr
        assert "Traceback" not in again.stderr
        _assert_same_as_baseline(agency, baseline, 1)


def test_undo_killed_after_every_write_then_rerun_ends_as_if_never_killed(
    tmp_path: Path, sandbox_env: None
) -> None:
    """The same for `python -m sync undo` after a cancellation was carried out in full: killed
    after each write of the undo, then the same undo again; every sheet, board and record ends
    as after an uninterrupted undo, and no message goes out twice."""
    seeded = scenario(tmp_path / "scenario", cancellation())

    def carried_out_then_withdrawn(agency: Agency) -> None:
        assert run(agency, TODAY).exit_code == 0
        assert run(agency, EFFECTIVE).exit_code == 0
        withdraw(agency)

    with agency_for(tmp_path / "baseline", seeded) as agency:
        carried_out_then_withdrawn(agency)
        with watch_writes() as writes:
            assert undo(agency, EFFECTIVE).exit_code == 0
        expected = {"world": world(agency), "outbox": outbox(agency)}
        expected_ledger = ledger_states(agency)
    # 3 spreadsheet batchUpdates, 2 unarchives + 2 comments, 2 messages, 1 Salesforce call.
    kinds = Counter(w.split(" ")[0] for w in writes.seen)
    assert kinds == {"POST": 5, "PUT": 2, "PATCH": 1, "SMTP": 2}, writes.seen
    for k in range(1, len(writes.seen) + 1):
        with agency_for(tmp_path / f"k{k}", seeded) as agency:
            carried_out_then_withdrawn(agency)
            with watch_writes(kill_at=k) as seen, pytest.raises(Killed):
                undo(agency, EFFECTIVE)
            assert k <= len(seen.seen) <= k + IN_FLIGHT, seen.seen  # in flight, as above
            killed_by = seen.seen[k - 1]
            rerun = undo(agency, EFFECTIVE)
            needs = [f for f in rerun.plan.findings if f.code == "unconfirmed_send"]
            if any(w.startswith("SMTP") for w in seen.seen[k - 1 :]):
                assert needs, (k, killed_by)
                _settle_unconfirmed(agency, "\n".join(f.message for f in needs))
                assert run(agency, EFFECTIVE).exit_code == 0  # the write-back it held back
            else:
                assert needs == [], (k, killed_by)
                assert rerun.exit_code == 0, (k, killed_by, rerun.outcomes)
            assert run(agency, EFFECTIVE).outcomes == {}
            now = world(agency)
            assert now == expected["world"], (k, differences(now, expected["world"]))
            assert outbox(agency) == expected["outbox"], k
            assert max(outbox(agency).values()) == 1
            assert ledger_states(agency) == expected_ledger, k
