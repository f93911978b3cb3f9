"""Durable emulator state for the sandbox: written through on every change, never stale.

Why: a sandbox folder outlives any one process. A run killed mid-way must leave on disk every
change the emulators had acknowledged (the ledger says "applied" as soon as a service answered),
and `log`, `status`, `sandbox show`, a dry run or a lock-refused run started beside a run must
never write back the older copy they loaded.

The design, one file per emulator (`DIR/emulators/<service>.json`, with `<service>.lock`):

- **Write-through.** A request that may change data (any method but GET and HEAD) is handled
  while holding the emulator's file lock (`fcntl.flock` on the `.lock` file, exclusive, so
  two processes take turns; the kernel drops it when a holder dies). Before handling, the state
  is reloaded if the file changed on disk since this process last read or wrote it; after
  handling, the emulator's snapshot is saved before the client gets the answer. So no
  acknowledged change exists only in memory, and no process saves over another's change: every
  save is a read-modify-write done under the lock, from the newest state on disk.
- **Atomic.** A save is `private_files.atomic_write`: temporary file, fsync, `os.replace`. A kill
  at any moment leaves the old state or the new one.
- **Reads see the newest state.** Before a read the file's identity (inode, times, size) is
  compared with the last one seen, and the state reloaded if it changed (one `fstat` a
  request); before a write, under the lock, the bytes are compared, so a reused inode with a
  coarse timestamp cannot hide another process's change.
- **Read-only processes never write** (`writable=False`): they reload, but never save. A request
  that would change the data there (a command that should have opened the sandbox writable) is
  rolled back and refused in the service's own error shape (403), with a warning: never answered
  as done and kept only in memory, where it would vanish with the process.
- A save happens only when the snapshot differs from the one last saved or loaded: logins and
  token grants change nothing stored. Sessions, tokens and test controls are not state (each
  emulator lists them in `runtime_state`) and survive a reload. What a read changes (the
  Salesforce org's API usage counter) is saved with the next write, or not at all by a
  read-only process: it is not data the sandbox promises to keep.

The price is a snapshot, a JSON dump and two fsyncs per write request, in proportion to the
emulator's size: a few milliseconds for the bundled agency. Tests and the benchmark run the
emulators in memory (`sync.sandbox.agency.start_emulators`) and pay nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from connectors.emulators.base import Emulator, Request, Response
from sync.state.private_files import atomic_write, open_private

READS = frozenset({"GET", "HEAD"})
READ_ONLY_REFUSAL = (
    "the sandbox is open read-only in this command, so this change was refused and nothing was "
    "kept; only `run`, `serve` and `undo` (without --dry-run) change the sandbox"
)
log = logging.getLogger("connectors.emulators.store")
Signature = tuple[int, int, int, int]


class StateStore:
    """One emulator's state file; see the module docstring."""

    def __init__(self, path: Path, *, writable: bool) -> None:
        self.path = path
        self.lock_path = path.with_suffix(".lock")
        self.writable = writable
        self._seen: Signature | None = None  # the file as this process last read or wrote it
        self._raw = b""  # its bytes then
        self._saved = ""  # the emulator's snapshot then (what a save compares with)
        self._mutex = threading.Lock()  # flock does not order this process's own threads

    # ----- setup ---------------------------------------------------------------------------
    def open(self, emulator: Emulator, seed: Callable[[], dict[str, Any]]) -> None:
        """Load the saved state into `emulator`, or seed it with `seed()` and save that first
        (under the lock, so two processes opening a new sandbox seed it once)."""
        if self._read_into(emulator):
            return
        with self._mutex, self._locked():
            if self._read_into(emulator):
                return
            emulator.seed(seed())
            self._save(emulator, force=True)

    def load(self, emulator: Emulator) -> bool:
        """Load the saved state into `emulator` if it changed on disk; False if there is none."""
        return self._read_into(emulator)

    def update(self, emulator: Emulator, change: Callable[[], None]) -> None:
        """Apply `change` to the newest state and save it (setup work such as trusting a new
        key file; done even by a read-only process, as seeding is)."""
        with self._mutex, self._locked():
            self._read_into(emulator, verify=True)
            with emulator.lock:
                change()
                self._save(emulator)

    def attach(self, emulator: Emulator) -> None:
        """From now on every request to `emulator` goes through this store."""
        emulator.persistence = self

    # ----- per request (called by Emulator._serve_http) ----------------------------------
    def serve(
        self, emulator: Emulator, req: Request, handle: Callable[[Request], Response | None]
    ) -> Response | None:
        if req.method in READS:
            self._read_into(emulator)
            return handle(req)
        if not self.writable:
            return self._refusing_changes(emulator, req, handle)
        with self._mutex, self._locked():
            self._read_into(emulator, verify=True)
            with emulator.lock:
                resp = handle(req)
                self._save(emulator)
            return resp

    def _refusing_changes(
        self, emulator: Emulator, req: Request, handle: Callable[[Request], Response | None]
    ) -> Response | None:
        """A read-only process: logins and token grants go through (they change no data); a
        request that changes data is undone and refused."""
        with self._mutex:
            self._read_into(emulator)
            with emulator.lock:
                before = emulator.snapshot()
                resp = handle(req)
                after = emulator.snapshot()
                if _data(emulator, after) == _data(emulator, before):
                    return resp
                restore(emulator, before)
        log.warning(
            "%s: refused %s %s: %s", emulator.service, req.method, req.path, READ_ONLY_REFUSAL
        )
        return emulator.error(403, READ_ONLY_REFUSAL)

    # ----- internals -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = open_private(self.lock_path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _read_into(self, emulator: Emulator, *, verify: bool = False) -> bool:
        """Reload `emulator` if the file changed since last seen; False if there is no file.

        The file's identity is a fast hint (an inode can be reused and mtime is coarse), so
        before a write (`verify`) the bytes themselves are compared."""
        try:
            fh = self.path.open("rb")
        except FileNotFoundError:
            return False
        with fh:
            st = os.fstat(fh.fileno())
            signature = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
            if signature == self._seen and not verify:
                return True
            raw = fh.read()
        with emulator.lock:
            if raw != self._raw:
                restore(emulator, json.loads(raw))
                self._saved, self._raw = _text(emulator.snapshot()), raw
            self._seen = signature
        return True

    def _save(self, emulator: Emulator, *, force: bool = False) -> None:
        text = _text(emulator.snapshot())
        if text == self._saved and not force:
            return
        raw = text.encode("utf-8")
        atomic_write(self.path, raw)
        st = self.path.stat()  # still under the lock: this is our own file
        self._saved, self._raw = text, raw
        self._seen = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


def restore(emulator: Emulator, data: dict[str, Any]) -> None:
    """Replace `emulator`'s data with `data` (a snapshot), keeping its server, sessions and test
    controls: a fresh emulator of the same kind is seeded, and its data attributes moved over."""
    fresh = type(emulator)()
    fresh.seed(data)
    keep = Emulator.runtime_state | type(emulator).runtime_state
    for name, value in vars(fresh).items():
        if name not in keep:
            setattr(emulator, name, value)


def _data(emulator: Emulator, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot minus what reads change too (Salesforce's API usage counter)."""
    return {k: v for k, v in snapshot.items() if k not in emulator.volatile_state}


def _text(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, indent=1, sort_keys=True) + "\n"
