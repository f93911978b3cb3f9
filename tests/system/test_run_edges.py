"""The smaller defects of issue #25 (item 10): a torn last line in the run log, a SIGTERM
after the last effect, a `date_format` with a stray `%`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.config.loading import load
from sync.core.domain import Effect, Outcome
from sync.errors import ConfigError
from sync.exitcodes import ExitCode
from sync.state.runlog import RunLog
from tests.support.fixtures.common import REPO
from tests.support.fixtures.sandbox import SEEDED_ON, Agency


def test_a_torn_last_line_never_swallows_the_next_runs_first_line(agency: Agency) -> None:
    log = RunLog.in_state_dir(agency.config.state_path)
    log.path.parent.mkdir(parents=True, exist_ok=True)
    log.path.write_text('{"type": "run", "run_id": "killed-mid-li', encoding="utf-8")
    result = agency.run(SEEDED_ON)
    lines = [r for r in log.read() if r.get("run_id") == result.run_id]
    effects = [r for r in lines if r["type"] == "effect"]
    assert len(effects) == len(result.outcomes) + len(result.plan.skips) > 0
    assert [r["type"] for r in lines][-1] == "run"
    # The torn line stays on a line of its own, and readers pass it over.
    raw = log.path.read_text(encoding="utf-8").splitlines()
    assert raw[0] == '{"type": "run", "run_id": "killed-mid-li'
    assert json.loads(raw[1])["run_id"] == result.run_id


def test_a_sigterm_after_the_last_effect_is_a_finished_run(agency: Agency) -> None:
    due = len(agency.run(SEEDED_ON, dry_run=True).plan.due)
    seen: list[str] = []

    def on_effect(effect: Effect, _outcome: Outcome) -> None:
        seen.append(effect.key)

    result = agency.run(SEEDED_ON, on_effect=on_effect, stop=lambda: len(seen) >= due)
    assert len(seen) == due > 0  # the stop was asked for after the very last one
    assert result.left == []
    assert not result.stopped
    assert result.exit_code != ExitCode.FATAL
    (line,) = RunLog.in_state_dir(agency.config.state_path).runs()
    assert line["stopped_early"] is False
    assert line["counts"]["left"] == 0


def test_a_sigterm_with_effects_left_is_still_stopped_early(agency: Agency) -> None:
    seen: list[str] = []
    result = agency.run(
        SEEDED_ON, on_effect=lambda e, _o: seen.append(e.key), stop=lambda: len(seen) >= 2
    )
    assert result.stopped
    assert result.left
    assert result.exit_code == ExitCode.FATAL


def _config_with_date_format(tmp_path: Path, fmt: str) -> Path:
    text = (REPO / "config" / "example.toml").read_text(encoding="utf-8")
    old = 'date_format = "%Y-%m-%d"'
    assert old in text
    path = tmp_path / "config.toml"
    state = f"state_dir = {json.dumps(str(tmp_path / 'state'))}\n"
    path.write_text(state + text.replace(old, f"date_format = {json.dumps(fmt)}"), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("fmt", "said"),
    [
        ("%Y-%m-%", "a '%' at the end (position 7)"),
        ("%Y-%m-%q", "'%q' (position 7) is no date directive"),
        ("%d % %m", "'% ' (position 4) is no date directive"),
        ("%Y-%m", "names no day of the month"),
    ],
)
def test_a_date_format_with_a_stray_percent_is_refused_at_load(
    tmp_path: Path, fmt: str, said: str
) -> None:
    with pytest.raises(ConfigError, match=r"key 'sheets\.date_format'") as caught:
        load(_config_with_date_format(tmp_path, fmt))
    assert said in str(caught.value)


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%m/%d/%Y", "%-m/%-d/%Y", "%d %B %Y", "%d 100%%"])
def test_real_date_formats_load(tmp_path: Path, fmt: str) -> None:
    assert load(_config_with_date_format(tmp_path, fmt)).sheets.date_format == fmt
