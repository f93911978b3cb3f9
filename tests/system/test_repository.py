"""The repository stands alone, and its documentation holds together.

Nothing sends a reader to files outside the repository; every relative link in the README, the
changelog and `docs/` reaches a file (and a heading, for an anchor); the README stays a short
front page; every file or test the documentation names exists; and code that cites the docs
cites a page (and heading) that is there.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.fixtures.common import REPO

OUTSIDE = re.compile(r"\.\./shared|SPEC\.md|(?<![\w.])/work/")
README_LIMIT = 12 * 1024  # bytes: the README is a front page; the manual is in docs/

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
INLINE_CODE = re.compile(r"`[^`]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
# A path in the repository, as the docs name one in backticks (optionally `::a_test_name`).
REPO_PATH = re.compile(
    r"^((?:sync|connectors|tests|tools|config|deploy|cassettes|docs|\.ci)/[\w./-]*)(::\w+)?$"
)
PATHS_PEOPLE_CREATE = {"config/config.toml"}  # named as what to create, not as what exists
# A page of the docs (or the README) named in code, config or data, with an optional anchor.
DOCS_CITATION = re.compile(r"(?<![\w/.-])(docs/[\w./-]+?\.md|README\.md)(?:#([\w-]+))?")
# The old way code cited the README: by a section's name, which must then be a README heading.
README_SECTION = (
    re.compile(r"README(?:\.md)?\s*\(\s*[\"“]?([A-Z][^)\"”]*?)[\"”]?\s*\)"),
    re.compile(r"\(README(?:\.md)?,\s*([A-Z][^)]*)\)"),
    re.compile(r"README(?:\.md)?,?\s+[\"“']([A-Z][^\"”']*)[\"”']"),
)
RESTRUCTURED = (REPO / "sync" / "core").is_dir()


def tracked(*suffixes: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
    names = [n for n in out.stdout.decode().split("\0") if n]
    return [REPO / n for n in names if n.endswith(suffixes) and (REPO / n).is_file()]


def markdown_files() -> list[Path]:
    pages = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").rglob("*.md"))]
    return [p for p in pages if p.is_file()]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks: a `#` or a `[x](y)` inside a block is not Markdown."""
    lines, fenced = [], False
    for n, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append((n, line))
    return lines


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        if m := HEADING.match(line):
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def prose(text: str) -> str:
    """`text` with its fenced code blocks blanked out, lines kept (for line numbers)."""
    kept = dict(prose_lines(text))
    return "\n".join(kept.get(n, "") for n in range(1, text.count("\n") + 2))


def blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def broken_links(page: Path, root: Path = REPO) -> list[str]:
    """Every relative link on `page` that reaches no file in `root`, or an anchor that is no
    heading. A link's text may run over a line break; a link inside `code` is no link."""
    broken = []
    text = INLINE_CODE.sub(blank, prose(page.read_text(encoding="utf-8")))
    for m in LINK.finditer(text):
        target = m.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not ours to check
            continue
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        where = f"{page.relative_to(root)}:{text.count(chr(10), 0, m.start()) + 1}: {target}"
        if not dest.is_relative_to(root) or not dest.exists():
            broken.append(f"{where} (no such file)")
        elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
            broken.append(f"{where} (no heading #{anchor})")
    return broken


def missing_paths(page: Path, root: Path = REPO) -> list[str]:
    """Repository paths named in backticks on `page` that do not exist, and `file::test` names
    whose test is not in that file (a bare `::test` continues the last file named)."""
    missing: list[str] = []
    last: Path | None = None
    text = prose(page.read_text(encoding="utf-8"))
    for code in INLINE_CODE.finditer(text):
        token = code.group(0).strip("`")
        where = f"{page.relative_to(root)}:{text.count(chr(10), 0, code.start()) + 1}: {token}"
        if token.startswith("::") and last is not None:
            if not re.search(rf"def {re.escape(token[2:])}\(", last.read_text(encoding="utf-8")):
                missing.append(f"{where} (not in {last.name})")
            continue
        m = REPO_PATH.match(token)
        if m is None or m.group(1) in PATHS_PEOPLE_CREATE:
            continue
        path = root / m.group(1).rstrip("/")
        if not path.exists():
            missing.append(f"{where} (no such path)")
            continue
        last = path if path.suffix == ".py" else last
        test = m.group(2)
        if test and not re.search(rf"def {test[2:]}\(", path.read_text(encoding="utf-8")):
            missing.append(f"{where} (no such test)")
    return missing


def cited_pages(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2) or "") for m in DOCS_CITATION.finditer(text)]


def unresolved_citations(files: list[Path]) -> list[str]:
    bad = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            for page, anchor in cited_pages(line):
                dest = REPO / page
                if not dest.is_file() or (anchor and anchor not in anchors(dest)):
                    bad.append(f"{f.relative_to(REPO)}:{n}: {page}{'#' + anchor if anchor else ''}")
    return bad


def test_no_file_cites_the_shared_folder_or_the_spec() -> None:
    texts = tracked(".py", ".md", ".toml", ".txt", ".cfg", ".ini")
    assert len(texts) > 20  # really looked at the repository's files
    this = Path(__file__).resolve()  # names the patterns it looks for
    cited = [
        f"{f.relative_to(REPO)}:{n}: {line.strip()}"
        for f in texts
        if f.resolve() != this
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert cited == []


def test_the_readme_is_a_front_page_under_12_kb() -> None:
    size = len((REPO / "README.md").read_bytes())
    assert size < README_LIMIT, f"README.md is {size} bytes; move detail to docs/"


def test_every_relative_link_in_the_readme_changelog_and_docs_resolves() -> None:
    pages = markdown_files()
    assert {"README.md", "CHANGELOG.md", "docs/README.md"} <= {
        str(p.relative_to(REPO)) for p in pages
    }
    assert sum(len(LINK.findall(p.read_text(encoding="utf-8"))) for p in pages) > 30
    assert [b for p in pages for b in broken_links(p)] == []


def test_every_page_in_docs_is_reachable_from_the_readme_or_the_docs_index() -> None:
    linked = set()
    for page in (REPO / "README.md", REPO / "docs" / "README.md"):
        for _, line in prose_lines(page.read_text(encoding="utf-8")):
            for target in LINK.findall(line):
                linked.add((page.parent / target.partition("#")[0]).resolve())
    pages = {p.resolve() for p in (REPO / "docs").rglob("*.md")} - {REPO / "docs" / "README.md"}
    assert sorted(str(p.relative_to(REPO)) for p in pages - linked) == []


@pytest.mark.skipif(not RESTRUCTURED, reason="the docs name the layout of issue 23's packages")
def test_every_path_and_test_the_docs_name_exists() -> None:
    assert [m for p in markdown_files() for m in missing_paths(p)] == []


def test_the_checkers_catch_a_broken_link_a_missing_anchor_a_path_and_a_test(
    tmp_path: Path,
) -> None:
    (tmp_path / "README.md").write_text("# Title\n\n## Undo: win-backs\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_here() -> None: ...\n")
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    page.write_text(
        "[ok](../README.md#undo-win-backs) [gone](gone.md) [bad](../README.md#no-such) [two\n"
        "lines](gone-too.md) `[in code](not-a-link.md)`\n"
        "```\n[in a code block](not-checked.md) `tests/not_checked.py`\n```\n"
        "`tests/test_x.py::test_here` `::test_gone` `tests/gone.py` `config/config.toml`\n",
        encoding="utf-8",
    )
    assert broken_links(page, tmp_path) == [
        "docs/page.md:1: gone.md (no such file)",
        "docs/page.md:1: ../README.md#no-such (no heading #no-such)",
        "docs/page.md:1: gone-too.md (no such file)",
    ]
    assert missing_paths(page, tmp_path) == [
        "docs/page.md:6: ::test_gone (not in test_x.py)",
        "docs/page.md:6: tests/gone.py (no such path)",
    ]
    assert cited_pages("see docs/design/decisions.md#one, README.md and mydocs/x.md") == [
        ("docs/design/decisions.md", "one"),
        ("README.md", ""),
    ]
    stale = [
        s for p in README_SECTION for s in p.findall('README.md ("Run log") (README, Decisions)')
    ]
    assert stale == ["Run log", "Decisions"]


def test_every_docs_page_cited_in_code_config_or_data_exists() -> None:
    files = tracked(".py", ".toml", ".json", ".txt", ".yaml", ".yml", "Dockerfile", ".ci/run")
    this = Path(__file__).resolve()  # plants citations of its own
    files = [f for f in files if "cassettes" not in f.parts and f.resolve() != this]
    assert len(files) > 50
    assert unresolved_citations(files) == []


@pytest.mark.skipif(not RESTRUCTURED, reason="the citations are rewritten after issue 23's move")
def test_no_code_cites_a_readme_section_that_left_the_readme() -> None:
    headings = {
        m.group(2).strip().lower()
        for p in [REPO / "README.md"]
        for _, line in prose_lines(p.read_text(encoding="utf-8"))
        if (m := HEADING.match(line))
    }
    files = tracked(".py", ".toml", ".json", ".txt")
    this = Path(__file__).resolve()
    stale = [
        f"{f.relative_to(REPO)}:{n}: README section {section!r}"
        for f in files
        if f.resolve() != this and "cassettes" not in f.parts
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
        for pattern in README_SECTION
        for section in pattern.findall(line)
        if section.strip().lower() not in headings
    ]
    assert stale == []


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
