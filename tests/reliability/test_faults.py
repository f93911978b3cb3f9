"""Transient faults: every service answers 429 (with Retry-After), 500, 503, a dropped connection
or a slow answer at random (fixed seeds), and the SMTP relay answers 451. The run retries with a
bounded backoff, ends in the same state as a clean run, and the run log says how many retries it
took. A fault that outlasts the bound fails that effect only; the next run finishes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sync.core.domain import OutcomeStatus
from tests.support.fixtures.sandbox import Agency
from tests.support.reliability import (
    agency_for,
    core_requests,
    differences,
    duplicated_rows,
    outbox,
    run,
    runlog,
    scenario,
    world,
)

HTTP = ("salesforce", "google", "trello")
KINDS = ("429", "500", "503", "drop", "delay")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scenario(tmp_path_factory.mktemp("scenario"), core_requests())


@pytest.fixture
def clean(seeded: dict[str, Any], tmp_path: Path, sandbox_env: None) -> dict[str, Any]:
    """What a run with no fault at all leaves behind."""
    with agency_for(tmp_path / "clean", seeded) as agency:
        result = run(agency)
        assert result.exit_code == 0
        assert result.retries == 0
        return {"world": world(agency), "outbox": outbox(agency)}


def _errors_injected(agency: Agency) -> tuple[int, int]:
    """Faulted answers the emulators gave (a slow answer is not an error), each one retried by
    the sync's policy (a token grant's too: google-auth's own hidden retry is not used), and
    how many of them were on Google's token grant."""
    ours = token = 0
    for name in HTTP:
        for c in agency.emulators[name].calls:
            if not c.fault or c.fault == "delay":
                continue
            ours += 1
            if name == "google" and c.path == "/token":
                token += 1
    return ours, token


def _run_line(agency: Agency, run_id: str) -> dict[str, Any]:
    return next(r for r in runlog(agency) if r["type"] == "run" and r["run_id"] == run_id)


@pytest.mark.parametrize(
    ("seed", "kinds_seen"),
    [
        # The seeds are picked so each kind of fault occurs; fewer calls (one board read for
        # all boards) change which calls a seed hits.
        (9, set(KINDS)),
        (11, set(KINDS)),
        # Also faults on Google's token grant.
        (7, {"429", "500", "drop", "delay"}),
    ],
)
@pytest.mark.slow  # random faults, several seeds
def test_random_faults_everywhere_end_as_a_clean_run_and_the_log_counts_the_retries(
    seed: int, kinds_seen: set[str], seeded: dict[str, Any], clean: dict[str, Any], tmp_path: Path
) -> None:
    with agency_for(tmp_path / "faulty", seeded) as agency:
        for i, name in enumerate(HTTP):
            agency.emulators[name].random_faults(0.25, seed=seed + i, kinds=KINDS)
        agency.emulators["smtp"].fail_next(451, "4.3.0 Try again later", times=2)
        sleeps: list[float] = []
        result = run(agency, sleeps=sleeps)
        for name in HTTP:
            agency.emulators[name].clear_faults()

        kinds = {c.fault for n in HTTP for c in agency.emulators[n].calls if c.fault}
        assert kinds == kinds_seen
        ours, token = _errors_injected(agency)
        assert (token > 0) == (seed == 7)
        injected = ours + 2  # and the two 451 answers of the SMTP relay
        assert injected >= 8, "the seed should cause a fair number of faults"
        assert result.exit_code == 0, {k: o.message for k, o in result.outcomes.items()}
        assert world(agency) == clean["world"], differences(world(agency), clean["world"])
        assert outbox(agency) == clean["outbox"]  # no message twice, none missing
        assert duplicated_rows(agency) == {}
        # Every faulted answer cost exactly one retry, and the run log says how many.
        line = _run_line(agency, result.run_id)
        assert line["retries"] == result.retries == injected
        assert len(sleeps) == injected
        effect_lines = [
            r for r in runlog(agency) if r["type"] == "effect" and r["run_id"] == result.run_id
        ]
        assert any(r["retries"] > 0 for r in effect_lines)
        # Backoff is bounded by [retry] max_wait_seconds.
        assert max(sleeps) <= agency.config.retry.max_wait_seconds
        assert run(agency).outcomes == {}


def test_retry_after_is_honoured_and_capped_by_the_bound(
    seeded: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    with agency_for(tmp_path / "a", seeded) as agency:
        emus = agency.emulators
        emus["google"].add_fault("429", method="POST", path=r":batchUpdate$", retry_after=7)
        emus["trello"].add_fault("429", method="PUT", path=r"^/1/cards/", retry_after=11)
        emus["salesforce"].add_fault(
            "429", method="PATCH", path=r"/composite/sobjects$", retry_after=13
        )
        emus["salesforce"].add_fault("429", method="GET", path=r"/query", retry_after=900)
        sleeps: list[float] = []
        result = run(agency, sleeps=sleeps)
        assert result.exit_code == 0
        bound = agency.config.retry.max_wait_seconds
        # Each service's Retry-After is waited out (longer than the 1 s backoff would be), and
        # a Retry-After beyond the bound is cut to it.
        assert sorted(sleeps) == sorted([7.0, 11.0, 13.0, float(bound)])
        assert result.retries == 4


def test_a_fault_outlasting_the_bound_fails_that_effect_only_and_the_next_run_finishes_it(
    seeded: dict[str, Any], clean: dict[str, Any], tmp_path: Path
) -> None:
    with agency_for(tmp_path / "a", seeded) as agency:
        trello, smtp = agency.emulators["trello"], agency.emulators["smtp"]
        design = next(b for b in trello.snapshot()["boards"] if b["name"].startswith("Digital"))
        card = design["cards"][0]["id"]
        trello.add_fault("503", method="PUT", path=rf"^/1/cards/{card}$", times=-1)
        attempts = agency.config.retry.max_attempts
        smtp.fail_next(451, "4.3.0 Try again later", times=attempts)  # the Simpli.fi notice

        first = run(agency)
        failed = {k: o for k, o in first.outcomes.items() if o.status is OutcomeStatus.FAILED}
        assert set(failed) == {
            "a0T500000000001AAA/trello_archive/design",
            "a0T500000000001AAA/simplifi_notice/simplifi",
        }
        assert "503" in failed["a0T500000000001AAA/trello_archive/design"].message
        assert "451" in failed["a0T500000000001AAA/simplifi_notice/simplifi"].message
        assert {o.retries for o in failed.values()} == {attempts - 1}
        assert first.exit_code == 1
        # Everything else went through; the write-backs that report on them wait.
        applied = [k for k, o in first.outcomes.items() if o.status is OutcomeStatus.APPLIED]
        assert len(applied) == len(first.outcomes) - 2
        assert set(first.waiting_on) == {
            "a0T500000000001AAA/salesforce_writeback/approval",
            "a0T500000000001AAA/salesforce_writeback/offboarded",
        }
        lines = [r for r in runlog(agency) if r.get("run_id") == first.run_id]
        failed_lines = [r for r in lines if r.get("outcome") == "failed"]
        assert {r["key"] for r in failed_lines} == set(failed)
        assert all(r["retries"] == attempts - 1 and r["error"] for r in failed_lines)
        assert not smtp.messages or all("Please be advised" not in m.body for m in smtp.messages)

        trello.clear_faults()
        second = run(agency)
        assert second.exit_code == 0
        assert set(second.outcomes) == set(failed) | set(first.waiting_on)
        assert world(agency) == clean["world"], differences(world(agency), clean["world"])
        assert outbox(agency) == clean["outbox"]


# ----- expired credentials -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", r"/query"), ("PATCH", r"/composite/sobjects$")],
    ids=["during-the-poll", "during-the-write-back"],
)
def test_a_salesforce_session_expiring_mid_run_is_renewed_and_the_run_goes_on(
    method: str, path: str, seeded: dict[str, Any], clean: dict[str, Any], tmp_path: Path
) -> None:
    with agency_for(tmp_path / "a", seeded) as agency:
        sf = agency.emulators["salesforce"]
        sf.add_fault("expired", method=method, path=path)
        result = run(agency)
        assert result.exit_code == 0, result.fatal or result.outcomes
        # The call was refused with INVALID_SESSION_ID once, then the sync logged in again.
        refused = [c for c in sf.calls if c.status == 401]
        assert len(refused) == 1
        assert sf.count("POST", r"^/services/Soap/") == 2
        assert world(agency) == clean["world"], differences(world(agency), clean["world"])


def test_a_google_token_expiring_mid_run_is_renewed_and_the_run_goes_on(
    seeded: dict[str, Any], clean: dict[str, Any], tmp_path: Path
) -> None:
    with agency_for(tmp_path / "a", seeded) as agency:
        google = agency.emulators["google"]
        # Every token is revoked just before the third spreadsheet's write.
        google.add_fault("expired", method="POST", path=r"sandbox-offboarding:batchUpdate$")
        result = run(agency)
        assert result.exit_code == 0, result.outcomes
        assert [c.status for c in google.calls if c.status == 401] == [401]
        assert google.tokens_issued == 2
        assert world(agency) == clean["world"], differences(world(agency), clean["world"])
        assert duplicated_rows(agency) == {}
