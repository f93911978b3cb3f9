"""The repository stands alone: nothing in it sends a reader to files outside it."""

from __future__ import annotations

import re
import subprocess

from tests.support.fixtures.common import REPO

OUTSIDE = re.compile(r"\.\./shared|SPEC\.md")


def test_no_file_cites_the_shared_folder_or_the_spec() -> None:
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    texts = [f for f in tracked if f.endswith((".py", ".md", ".toml", ".txt", ".cfg", ".ini"))]
    assert len(texts) > 20  # really looked at the repository's files
    this = "tests/system/test_repository.py"  # names the patterns it looks for
    cited = [
        f"{name}:{n}: {line.strip()}"
        for name in texts
        if name != this
        for n, line in enumerate((REPO / name).read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert cited == []


# A command a person is told to type, in another form than `python -m sync ...` (issue 23: one
# form; `python -m sync` works from a checkout and from the installed package alike).
OTHER_FORM = re.compile(
    r"`(?:offboarding-)?sync (?:run|resolve|undo|init|adopt|log|status|check|serve|sandbox)\b"
)


def test_product_text_names_one_command_form() -> None:
    shipped = [
        p
        for folder in ("sync", "connectors", "config")
        for p in sorted((REPO / folder).rglob("*"))
        if p.is_file() and p.suffix in (".py", ".txt", ".toml") and "__pycache__" not in p.parts
    ]
    assert len(shipped) > 50
    other = [
        f"{p.relative_to(REPO)}:{n}: {line.strip()}"
        for p in shipped
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if OTHER_FORM.search(line)
    ]
    assert other == []
    # The scan can fail: the form it refuses is found in a line that has it.
    assert OTHER_FORM.search("run `sync resolve KEY --sent`")
    assert OTHER_FORM.search("run `offboarding-sync status`")
    assert not OTHER_FORM.search("run `python -m sync resolve KEY --sent`")
