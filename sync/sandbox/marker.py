"""What makes a folder a sandbox: a marker file the sandbox writes when it seeds the folder.

Why: `sandbox reset --sandbox-dir DIR` deletes a folder, and DIR is whatever a person typed. A
typo (`--sandbox-dir ~`, a project folder) must not cost them their files. So `reset` deletes
only a folder the sandbox made (it holds the marker), and only the entries the sandbox makes
there; anything else stays, and a folder without the marker is refused. The sandbox also never
seeds itself into an existing folder that holds something else, so `sandbox show` or a run on
the wrong folder cannot leave the marker in it either.

A sandbox seeded before the marker existed is recognised by its contents: every entry is one
the sandbox makes, and one of them only a used sandbox has (its emulated services, its key,
its lock, a ledger or run log in `state/`). Such a folder gets the marker on its next open.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

from sync.errors import ConfigError
from sync.state.private_files import private_dir

MARKER = ".offboarding-sandbox"
# Every entry the sandbox makes at the top of its folder (sync.sandbox.agency's layout).
ENTRIES = frozenset(
    {
        MARKER,
        "emulators",
        "emulators.json",
        "google-service-account.json",
        "state",
        "outbox",
        "sandbox.lock",
        "metrics.prom",
    }
)
# What only a sandbox that was used has: its emulated services, its key, its lock.
_SEEDED = ("emulators", "emulators.json", "google-service-account.json", "sandbox.lock")
# sync.state.private_files.atomic_write's temporaries of those entries: `.NAME.PID.THREAD.tmp`.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.\d+\.\d+\.tmp$")
_TEXT = (
    "This folder is an offboarding-sync sandbox (python -m sync --sandbox).\n"
    "`python -m sync sandbox reset` deletes what the sandbox made here, and only that.\n"
)


def _ours(name: str) -> bool:
    m = _TEMPORARY.match(name)
    return name in ENTRIES or (m is not None and m.group("name") in ENTRIES)


def _entries(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def is_sandbox(directory: Path) -> bool:
    """The folder holds the marker (a file, not a link), or is a sandbox of an earlier version."""
    try:
        st = os.lstat(directory / MARKER)
    except FileNotFoundError:
        pass
    else:
        return stat.S_ISREG(st.st_mode)
    if not directory.is_dir() or directory.is_symlink():
        return False
    names = _entries(directory)
    seeded = any(n in names for n in _SEEDED) or any(
        (directory / "state" / n).is_file() for n in ("ledger.sqlite3", "runs.jsonl")
    )
    return bool(names) and all(_ours(n) for n in names) and seeded


def claim(directory: Path) -> None:
    """Mark a folder the sandbox uses (new, empty, or an earlier version's sandbox) as one.
    Refuses any other folder: it belongs to someone else."""
    if is_sandbox(directory):
        if not (directory / MARKER).exists():
            _write_marker(directory)
        return
    if directory.exists() and (not directory.is_dir() or directory.is_symlink()):
        raise ConfigError(f"{directory} is not a folder; the sandbox needs a folder of its own")
    if directory.exists() and _entries(directory):
        raise ConfigError(
            f"{directory} is not a sandbox (it has no {MARKER} file and holds other files); "
            "the sandbox seeds only a new or empty folder. Give another --sandbox-dir"
        )
    if not directory.exists():  # an existing folder's mode is its owner's choice; ours are 0700
        private_dir(directory)
    _write_marker(directory)


def _write_marker(directory: Path) -> None:
    fd = os.open(directory / MARKER, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, _TEXT.encode())
    finally:
        os.close(fd)


def reset(directory: Path) -> str:
    """Delete what the sandbox made in `directory` (then the folder, if that emptied it); say
    what was done. Refuses a folder that is not a sandbox, deleting nothing."""
    if not os.path.lexists(directory):
        return f"{directory} does not exist; the next --sandbox run seeds it afresh"
    if not is_sandbox(directory):
        raise ConfigError(
            f"{directory} is not a sandbox (no {MARKER} file): nothing was deleted. "
            "`sandbox reset` deletes only a folder the sandbox seeded"
        )
    kept = []
    # The marker goes last: a reset killed half-way can be run again.
    for name in [n for n in _entries(directory) if n != MARKER] + [MARKER]:
        path = directory / name
        if not os.path.lexists(path):
            continue
        if not _ours(name):
            kept.append(name)
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()  # a file, or a link (never followed)
    if kept:
        return (
            f"removed the sandbox in {directory}; kept what it did not make: {', '.join(kept)}. "
            "The next --sandbox run seeds it afresh"
        )
    directory.rmdir()
    return f"removed {directory}; the next --sandbox run seeds it afresh"
