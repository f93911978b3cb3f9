"""`sandbox reset` deletes a sandbox, and only what the sandbox made in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.errors import ConfigError
from sync.sandbox.marker import MARKER, claim, is_sandbox, reset


def _sandbox(directory: Path) -> Path:
    claim(directory)
    (directory / "emulators").mkdir()
    (directory / "emulators" / "salesforce.json").write_text("{}")
    (directory / "state").mkdir()
    (directory / "google-service-account.json").write_text("{}")
    return directory


def test_a_folder_without_the_marker_is_refused_and_left_whole(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.docx").write_text("years of work")
    (home / "state").mkdir()
    with pytest.raises(ConfigError, match="is not a sandbox"):
        reset(home)
    assert (home / "thesis.docx").read_text() == "years of work"
    assert (home / "state").is_dir()


def test_reset_removes_the_sandbox_and_its_folder(tmp_path: Path) -> None:
    box = _sandbox(tmp_path / "box")
    assert "removed" in reset(box)
    assert not box.exists()


def test_reset_keeps_what_the_sandbox_did_not_make(tmp_path: Path) -> None:
    box = _sandbox(tmp_path / "box")
    (box / "notes.txt").write_text("mine")
    said = reset(box)
    assert "kept what it did not make: notes.txt" in said
    assert sorted(p.name for p in box.iterdir()) == ["notes.txt"]


def test_a_link_in_the_sandbox_is_removed_never_followed(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep").write_text("x")
    box = _sandbox(tmp_path / "box")
    (box / "outbox").symlink_to(precious)
    reset(box)
    assert (precious / "keep").read_text() == "x"


def test_a_marker_that_is_a_link_does_not_make_a_sandbox(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "file").write_text("x")
    (tmp_path / "m").write_text("")
    (home / MARKER).symlink_to(tmp_path / "m")
    assert not is_sandbox(home)
    with pytest.raises(ConfigError):
        reset(home)


def test_an_earlier_versions_sandbox_is_known_by_its_contents(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "emulators.json").write_text("{}")
    (old / "state").mkdir()
    (old / ".google-service-account.json.12.34.tmp").write_text("")
    assert is_sandbox(old)
    claim(old)
    assert (old / MARKER).is_file()


def test_the_sandbox_never_seeds_itself_into_someone_elses_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "file").write_text("x")
    with pytest.raises(ConfigError, match="seeds only a new or empty folder"):
        claim(home)
    assert not (home / MARKER).exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    claim(empty)
    assert is_sandbox(empty)


def test_reset_of_a_missing_folder_says_so(tmp_path: Path) -> None:
    assert "does not exist" in reset(tmp_path / "nothing")
