"""The sync's own machine failing: a full disk, a read-only or locked state folder, a damaged
ledger, an unreadable file. Named as what it is, with what to do, in one line.

Why: such a failure is not a bug and not a service's fault, yet it surfaced as "internal
error: OperationalError: database or disk is full" (or worse, as whatever the next statement
said once SQLite had rolled back by itself), and the alert told the ops lead to report a bug.
The person who can fix it is whoever runs the machine; they need the path, the cause and the
remedy. `classify` turns the OS's and SQLite's errors into an `LocalEnvironmentError` (exit code 5,
`sync.exitcodes.EXIT_ENVIRONMENT`); anything it does not recognise stays what it was.
"""

from __future__ import annotations

import errno
import getpass
import os
import sqlite3
from pathlib import Path

from sync.errors import LocalEnvironmentError

_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS,)
_DENIED = (errno.EACCES, errno.EPERM)


def classify(
    exc: BaseException, *, ledger: Path | None, what: str = ""
) -> LocalEnvironmentError | None:
    """The fault `exc` is, if it is one of the machine's; None for anything else (a bug, a
    service's error). `ledger` names the ledger file (for SQLite's errors, which carry no
    path); `what` names another file an OSError concerns (a scenario, a config)."""
    if isinstance(exc, LocalEnvironmentError):
        return exc
    path = ledger or Path("ledger.sqlite3 (in the state folder)")
    if isinstance(exc, sqlite3.Error):
        return _sqlite(exc, path)
    if isinstance(exc, OSError) and exc.errno is not None:
        return _os(exc, Path(exc.filename) if exc.filename else path.parent, what)
    return None


def _sqlite(exc: sqlite3.Error, ledger: Path) -> LocalEnvironmentError | None:
    text = str(exc).lower()
    if "disk is full" in text:
        return _full(ledger.parent)
    if "readonly database" in text or "read-only" in text:
        return _read_only(ledger.parent)
    if "database is locked" in text or "database table is locked" in text:
        pid = lock_holder(ledger)
        who = f"by pid {pid}" if pid else "by another process"
        return LocalEnvironmentError(
            f"ledger locked {who}",
            ledger,
            "another program holds the ledger (a sqlite3 shell, a backup, a second copy of the "
            "sync outside its lock); close it, then run again. Nothing more was done",
        )
    if "not a database" in text or "malformed" in text or "disk i/o error" in text:
        return LocalEnvironmentError(
            "ledger damaged",
            ledger,
            f"SQLite says '{exc}'. Restore the ledger from a backup (then the next run stops "
            "if it is older than Salesforce's history, and says what to do), or move it aside "
            "and start a new one with `python -m sync adopt`",
        )
    if "unable to open database" in text:
        return _unusable(ledger.parent)
    return None


def _os(exc: OSError, path: Path, what: str) -> LocalEnvironmentError | None:
    if exc.errno in _FULL:
        return _full(path)
    if exc.errno in _READ_ONLY:
        return _read_only(path)
    if not exc.filename:
        # A socket's EPERM (a firewall) or a library's error without a file is not the
        # state folder's: only a file's own error is named as one.
        return None
    if exc.errno in _DENIED:
        return _unusable(path, what)
    if exc.errno == errno.ELOOP:
        return LocalEnvironmentError(
            "a link where the sync keeps its own file",
            path,
            "the state folder's files are never followed through links; remove the link "
            "(and find out who planted it), then run again",
        )
    if what and exc.errno in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR):
        return LocalEnvironmentError(
            f"cannot read the {what}", path, f"{exc.strerror}; give a file"
        )
    return None


def _full(path: Path) -> LocalEnvironmentError:
    return LocalEnvironmentError(
        "disk full",
        path,
        "free space on that disk, then run again; what was done before is recorded, what was "
        "not is still owed",
    )


def _read_only(path: Path) -> LocalEnvironmentError:
    return LocalEnvironmentError(
        "state folder read-only",
        path,
        "the sync records every step there before it acts; mount it read-write or point "
        "`state_dir` at a writable folder, then run again. Nothing more was done",
    )


def _unusable(path: Path, what: str = "") -> LocalEnvironmentError:
    if what:
        return LocalEnvironmentError(
            f"cannot read the {what}", path, f"let user {_user()} read it, or give another file"
        )
    return LocalEnvironmentError(
        "state folder not writable",
        path,
        f"let user {_user()} read and write it (or point `state_dir` elsewhere), then run "
        "again. Nothing more was done",
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def lock_holder(path: Path) -> int | None:
    """The pid holding a POSIX lock on `path` (Linux: /proc/locks), if it can be told."""
    try:
        st = path.stat()
        text = Path("/proc/locks").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    me = os.getpid()
    for line in text.splitlines():
        parts = line.split()
        # "1: POSIX  ADVISORY  WRITE 4242 08:01:1234567 0 EOF" (a "->" marks a waiter)
        if "->" in parts or len(parts) < 6:
            continue
        try:
            pid = int(parts[4])
            inode = int(parts[5].rsplit(":", 1)[1])
        except (ValueError, IndexError):
            continue
        if inode == st.st_ino and pid != me:
            return pid
    return None
