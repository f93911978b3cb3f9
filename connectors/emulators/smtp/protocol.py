"""aiosmtpd's SMTP server, made to act like a relay on a network, for the SMTP emulator.

aiosmtpd's handler hooks cover MAIL, RCPT and the end of DATA; a relay also answers the
greeting and the DATA command itself, and it sits behind a network. This subclass adds those
(through aiosmtpd's documented extension point, `Controller.factory`):

- the greeting and the DATA command answer as the emulator's script says (refuse or drop);
- every read of the client's bytes is recorded, so a test sees whether MAIL, RCPT and DATA
  arrived together (pipelined) or one by one;
- `latency` delays each reply until that long after the bytes it answers arrived, without
  holding up the next command: a flight of pipelined commands costs one latency, as on a
  network, not one per command;
- the live connections are known, so the emulator can close them all (a relay's idle timeout).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from connectors.emulators.smtp.script import Answer

MAX_READS = 10_000  # a benchmark's thousands of messages must not grow memory without end


class Wire:
    """What the emulator's connections share with it (thread-safe)."""

    def __init__(self, answer: Callable[[str], Answer | None], latency: float) -> None:
        self.answer = answer
        self.latency = latency
        self.reads: list[bytes] = []
        self.connections = 0
        self.live: set[RelayProtocol] = set()
        self.lock = threading.Lock()

    def record(self, data: bytes) -> None:
        with self.lock:
            if len(self.reads) < MAX_READS:
                self.reads.append(bytes(data))


class RelayProtocol(SMTP):
    """One client connection; see the module docstring."""

    def __init__(self, handler: Any, *, wire: Wire, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._wire = wire
        self._arrived = 0.0
        self._spoke = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._arrived = asyncio.get_event_loop().time()
        self._spoke = False
        with self._wire.lock:
            self._wire.live.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        with self._wire.lock:
            self._wire.live.discard(self)
        super().connection_lost(error)

    def data_received(self, data: bytes) -> None:
        self._arrived = asyncio.get_event_loop().time()
        if not self._spoke:  # a client, not aiosmtpd's own start-up probe (which says nothing)
            self._spoke = True
            with self._wire.lock:
                self._wire.connections += 1
        self._wire.record(data)
        super().data_received(data)

    async def push(self, status: Any) -> None:
        if self._wire.latency > 0:
            loop = asyncio.get_event_loop()
            wait = self._arrived + self._wire.latency - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        await super().push(status)

    async def _handle_client(self) -> None:
        answer = self._wire.answer("connect")
        if answer is not None:
            if not answer.drop:
                await self.push(answer.line)
            if self.transport is not None:
                self.transport.close()
            return
        await super()._handle_client()

    async def smtp_DATA(self, arg: str) -> None:
        # Only a DATA that would be accepted is the script's to answer (aiosmtpd's own
        # refusals, e.g. 503 without a recipient, come first, as at a relay).
        if self.envelope is not None and self.envelope.rcpt_tos and not arg:
            answer = self._wire.answer("data")
            if answer is not None:
                if answer.drop:
                    self.abort()
                    return
                await self.push(answer.line)
                self._set_rset_state()  # type: ignore[no-untyped-call]  # ends the transaction
                return
        await super().smtp_DATA(arg)

    def abort(self) -> None:
        """Close the connection with no reply (a crash or a cut cable at the relay)."""
        if self.transport is not None:
            self.transport.abort()  # type: ignore[attr-defined]


class RelayController(Controller):
    """aiosmtpd's Controller building `RelayProtocol`s."""

    def __init__(self, handler: Any, *, wire: Wire, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.wire = wire

    def factory(self) -> SMTP:
        return RelayProtocol(self.handler, wire=self.wire, **self.SMTP_kwargs)

    def disconnect_all(self) -> None:
        """Close every open connection, as a relay's idle timeout does (no reply)."""
        with self.wire.lock:
            live = list(self.wire.live)

        async def close_all() -> None:
            for protocol in live:
                protocol.abort()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout=5)
