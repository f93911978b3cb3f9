"""Files only their owner can read, whatever the umask, and whole-file writes a crash cannot tear.

Why: the state directory holds client names, reasons and effect history (the ledger, the run
log), and the sandbox folder holds a private key and the emulated org. Created with the process's
umask (often 022), they would be world-readable; so directories are made 0700 and files 0600
explicitly (`chmod` after creation, because `mkdir`/`open` modes are masked by the umask).
An existing file or directory the sync opens to write is set to that mode too, so an install
made before this rule is tightened on its next run.

`atomic_write` replaces a file in one step: the new content goes to a temporary file in the same
directory, is flushed to disk (`fsync`), and is renamed over the old one (`os.replace`, atomic on
POSIX); the directory is then flushed so the rename itself survives a power cut. A process killed
at any moment leaves the old content or the new, never a mix; at worst a stray `.*.tmp` file,
which readers ignore.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) if needed; the directory itself ends up 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, DIR_MODE)
    return path


def open_private(path: Path, flags: int) -> int:
    """`os.open` a file in a private directory; the file is 0600 whether new or old."""
    private_dir(path.parent)
    fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def ensure_private_file(path: Path) -> None:
    """Create an empty 0600 file (or tighten an existing one) before a library opens it."""
    os.close(open_private(path, os.O_RDONLY))


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step (old or new content after any crash), mode 0600."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_all(fd: int, data: bytes) -> None:
    """`os.write` until every byte is out (one call may write less)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (a rename or a new file) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tighten(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) != mode:
        # A directory someone else owns (a shared parent) is not ours to change.
        with contextlib.suppress(PermissionError):
            path.chmod(mode)
