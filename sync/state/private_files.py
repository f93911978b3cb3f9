"""Files only their owner can read, whatever the umask, and whole-file writes a crash cannot tear.

Why: the state directory holds client names, reasons and effect history (the ledger, the run
log), and the sandbox folder holds a private key and the emulated org. Created with the process's
umask (often 022), they would be world-readable; so directories are made 0700 and files 0600
explicitly (`chmod` after creation, because `mkdir`/`open` modes are masked by the umask).
An existing file or directory the sync opens to write is set to that mode too, so an install
made before this rule is tightened on its next run. Every missing parent is made 0700 as well
(`mkdir -p` would give them the umask's mode: 0777 under umask 000).

The state folder cannot be turned against the sync: its files are opened with `O_NOFOLLOW`, so
a link planted where the run log, the lock or the ledger lives is refused, never followed (the
sync would otherwise append to, overwrite or chmod whatever it points at), and so is a file
another user owns there (a LocalEnvironmentError, named with the fix: exit code 5).

`atomic_write` replaces a file in one step: the new content goes to a temporary file in the same
directory, is flushed to disk (`fsync`), and is renamed over the old one (`os.replace`, atomic on
POSIX); the directory is then flushed so the rename itself survives a power cut. A process killed
at any moment leaves the old content or the new, never a mix; at worst a stray `.*.tmp` file,
which readers ignore.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from pathlib import Path

from sync.errors import LocalEnvironmentError

DIR_MODE = 0o700
FILE_MODE = 0o600


_LINK_FIX = (
    "the sync never follows links in its state folder (it would write through them); remove "
    "the link and find out who planted it"
)


def private_dir(path: Path) -> Path:
    """Create `path` and each missing parent 0700 (whatever the umask); the directory itself
    ends up 0700. Parents that exist are left as their owner made them."""
    missing: list[Path] = []
    p = path
    while not p.exists() and not p.is_symlink() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            d.mkdir(mode=DIR_MODE)
            os.chmod(d, DIR_MODE)  # the umask masked mkdir's mode
    _tighten(path, DIR_MODE)
    return path


def open_private(path: Path, flags: int) -> int:
    """`os.open` a file in a private directory; the file is 0600 whether new or old. A link
    there is refused, not followed, and so is a file that is not ours."""
    private_dir(path.parent)
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LocalEnvironmentError("a link in the state folder", path, _LINK_FIX) from None
        raise
    try:
        st = os.fstat(fd)
        # root (a person running `resolve` by hand) may use the service user's files.
        foreign = st.st_uid != os.geteuid() and os.geteuid() != 0
        if not stat.S_ISREG(st.st_mode) or foreign:
            what = "not a regular file" if not stat.S_ISREG(st.st_mode) else "owned by another user"
            raise LocalEnvironmentError(
                f"a file {what} (uid {st.st_uid}) in the state folder",
                path,
                "the sync keeps only its own files there; remove it, or run the sync as its owner",
            )
        if stat.S_IMODE(st.st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def refuse_link(path: Path) -> None:
    """For a file a library opens by name (SQLite's journal): a link there is refused."""
    if path.is_symlink():
        raise LocalEnvironmentError("a link in the state folder", path, _LINK_FIX)


def write_private_file(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (0600 from the first byte; an existing file is
    replaced in one step). The folder it goes in is the user's choice and keeps its mode;
    a missing one is made 0700."""
    if not path.parent.exists():
        private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
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


def ensure_private_file(path: Path) -> None:
    """Create an empty 0600 file (or tighten an existing one) before a library opens it."""
    os.close(open_private(path, os.O_RDONLY))


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step (old or new content after any crash), mode 0600."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW
    fd = os.open(tmp, flags, FILE_MODE)
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
