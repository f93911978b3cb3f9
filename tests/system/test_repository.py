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
