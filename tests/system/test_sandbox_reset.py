"""`sandbox reset --sandbox-dir DIR` deletes a sandbox and nothing else (issue #25, item 2).

Before the fix it deleted any folder it was given (a user's files included), and `sandbox
show` seeded a sandbox into whatever folder it was pointed at."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.cli.app import main
from sync.exitcodes import ExitCode


def _users_folder(tmp_path: Path) -> Path:
    home = tmp_path / "projects"
    (home / "state").mkdir(parents=True)
    (home / "report.docx").write_text("a week of work")
    return home


def test_reset_refuses_a_folder_that_is_not_a_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _users_folder(tmp_path)
    assert main(["sandbox", "reset", "--sandbox-dir", str(home)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert f"{home} is not a sandbox" in err
    assert "nothing was deleted" in err
    assert (home / "report.docx").read_text() == "a week of work"


def test_show_and_runs_never_seed_a_sandbox_into_someone_elses_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _users_folder(tmp_path)
    before = sorted(p.name for p in home.iterdir())
    assert main(["sandbox", "show", "--sandbox-dir", str(home)]) == ExitCode.USAGE
    assert main(["--sandbox", "--sandbox-dir", str(home), "--dry-run"]) == ExitCode.USAGE
    assert "the sandbox seeds only a new or empty folder" in capsys.readouterr().err
    assert sorted(p.name for p in home.iterdir()) == before


def test_reset_deletes_a_seeded_sandbox_and_keeps_a_file_put_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = tmp_path / "box"
    assert main(["--sandbox", "--sandbox-dir", str(box), "--dry-run"]) == 0
    assert (box / ".offboarding-sandbox").is_file()
    (box / "my-notes.txt").write_text("keep me")
    assert main(["sandbox", "reset", "--sandbox-dir", str(box)]) == 0
    assert "kept what it did not make: my-notes.txt" in capsys.readouterr().out
    assert [p.name for p in box.iterdir()] == ["my-notes.txt"]
    (box / "my-notes.txt").unlink()
    assert main(["--sandbox", "--sandbox-dir", str(box), "--dry-run"]) == 0  # empty: seeded
    assert main(["sandbox", "reset", "--sandbox-dir", str(box)]) == 0
    assert not box.exists()
