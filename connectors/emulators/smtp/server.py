"""A local SMTP server (aiosmtpd) that keeps every accepted message as an .eml file.

Why: the email connector must be tested with the real smtplib against a real SMTP dialogue
(replies, 4xx/5xx codes, a connection dropped after DATA, AUTH), and the sandbox needs an outbox a
person can open in any mail client. It runs in-process on 127.0.0.1, on a free port, and starts
and stops in milliseconds.

    smtp = SmtpEmulator(outbox=Path("outbox"))      # outbox=None: memory only
    host, port = smtp.start()
    ...                                             # send with smtplib to host:port
    smtp.messages[0].message["Subject"]             # parsed EmailMessage (policy.default)
    smtp.messages[0].path                           # outbox/0001-<message-id>.eml
    smtp.stop()

Scripted failures apply to the next N messages, counted per MAIL transaction:
`fail_next(451, "try later", times=2, stage="data")` (stage "mail", "rcpt" or "data": the end of
the content), and `drop_next(times=1, after_store=False)` closes the connection at the end of
DATA without a reply (`after_store=True` first stores the message: delivered, yet the client
never hears so). Finer: `script.add(Answer(...))` answers one command at a time, per recipient
and per stage (connect, mail, rcpt, data, after_data; see `connectors.emulators.smtp.script`),
and a scenario can give the same as JSON (`load_script`).

Like most relays it offers PIPELINING (`pipelining=False`: it does not); `reads` records each
read of the client's bytes (pipelined commands arrive together), `connections` counts the
connections made, `disconnect_all()` closes them as an idle timeout does, and `latency` delays
every reply as a network would (off by default; the benchmark turns it on).
`require_auth(username, password)` makes MAIL answer 530 until AUTH LOGIN/PLAIN succeeds.
`tls=(certfile, keyfile)` offers STARTTLS; with `implicit_tls=True` the port speaks TLS at once.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import logging
import os
import re
import socket
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.smtp import AuthResult, LoginPassword

from connectors.emulators.smtp.protocol import RelayController, Wire
from connectors.emulators.smtp.script import Answer, Script
from connectors.emulators.store import READ_ONLY_REFUSAL
from sync.state.private_files import fsync_dir, open_private, private_dir, write_all

Stage = Literal["mail", "rcpt", "data"]


@dataclass(frozen=True)
class Delivered:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    path: Path | None

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def body(self) -> str:
        """The plain-text body with "\n" line ends, as the sender wrote it."""
        part = self.message.get_body(preferencelist=("plain",))
        return str(part.get_content()).replace("\r\n", "\n") if part is not None else ""


@dataclass
class _Failure:
    stage: Stage
    code: int
    text: str
    drop: bool = False
    after_store: bool = False


@dataclass
class _State:
    failures: deque[_Failure] = field(default_factory=deque)
    auth: tuple[str, str] | None = None


class _Handler:
    """aiosmtpd handler hooks: scripted failures, the AUTH gate, and storing messages."""

    def __init__(self, emulator: SmtpEmulator) -> None:
        self.emulator = emulator

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.emulator.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        em = self.emulator
        if em.state.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        if em.read_only:  # a sandbox command that must not send (see connectors.emulators.store)
            return "554 5.7.1 " + READ_ONLY_REFUSAL
        scripted = _scripted(server, em.script.take("mail"))
        if scripted is not None:
            return scripted
        session.failure = em._take_failure()
        failure: _Failure | None = session.failure
        if failure is not None and failure.stage == "mail":
            return f"{failure.code} {failure.text}"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        scripted = _scripted(server, self.emulator.script.take("rcpt", address))
        if scripted is not None:
            return scripted
        failure: _Failure | None = getattr(session, "failure", None)
        if failure is not None and failure.stage == "rcpt":
            return f"{failure.code} {failure.text}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = self.emulator.script.take("after_data")
        if answer is not None and answer.store:
            self.emulator._store(envelope)
        scripted = _scripted(server, answer)
        if scripted is not None:
            return scripted
        failure: _Failure | None = getattr(session, "failure", None)
        session.failure = None
        if failure is not None and failure.stage == "data":
            if failure.drop:
                if failure.after_store:
                    self.emulator._store(envelope)
                server.transport.abort()
                return "421 connection dropped"  # never reaches the client
            return f"{failure.code} {failure.text}"
        delivered = self.emulator._store(envelope)
        return f"250 OK queued as {delivered.path.name if delivered.path else 'memory'}"


def _scripted(server: Any, answer: Answer | None) -> str | None:
    """A scripted answer's reply line, or (a drop) close the connection with no reply."""
    if answer is None:
        return None
    if answer.drop:
        server.transport.abort()
        return "421 connection dropped"  # never reaches the client
    return answer.line


class _QuietLoginData(logging.Filter):
    """aiosmtpd warns about its own deprecated attribute on every AUTH; that is not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


_QUIET = _QuietLoginData()


class SmtpEmulator:
    """See the module docstring. Thread-safe: the server runs in aiosmtpd's own thread."""

    def __init__(
        self,
        outbox: Path | None = None,
        *,
        tls: tuple[str, str] | None = None,
        implicit_tls: bool = False,
        hostname: str = "127.0.0.1",
        pipelining: bool = True,
        latency: float = 0.0,
        read_only: bool = False,
    ) -> None:
        self.outbox = outbox
        self.read_only = read_only
        self.hostname = hostname
        self.host = "127.0.0.1"
        self.port = 0
        self.messages: list[Delivered] = []
        self.state = _State()
        self.script = Script()
        self.pipelining = pipelining
        self.lock = threading.Lock()
        self._wire = Wire(self.script.take, latency)
        self._tls = tls
        self._implicit_tls = implicit_tls
        self._controller: RelayController | None = None

    # ----- lifecycle -------------------------------------------------------------------
    def start(self, port: int = 0) -> tuple[str, int]:
        """Listen on 127.0.0.1:`port` (0: a free port); returns (host, port)."""
        if self.outbox is not None:
            private_dir(self.outbox)
        self.port = port or _free_port(self.host)
        kwargs: dict[str, Any] = {
            "hostname": self.host,
            "port": self.port,
            "server_hostname": self.hostname,
            "authenticator": self._authenticate,
            # With implicit TLS aiosmtpd cannot see the TLS layer; the link is encrypted anyway.
            "auth_require_tls": self._tls is not None and not self._implicit_tls,
            "ready_timeout": 5.0,
        }
        if self._tls is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*self._tls)
            if self._implicit_tls:
                kwargs["ssl_context"] = ctx
            else:
                kwargs["tls_context"] = ctx
        mail_log = logging.getLogger("mail.log")
        if _QUIET not in mail_log.filters:
            mail_log.addFilter(_QUIET)
        self._controller = RelayController(_Handler(self), wire=self._wire, **kwargs)
        self._controller.start()
        return self.host, self.port

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpEmulator:
        if self._controller is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- test controls ---------------------------------------------------------------
    def fail_next(
        self,
        code: int = 451,
        text: str = "4.3.0 Try again later",
        *,
        times: int = 1,
        stage: Stage = "data",
    ) -> None:
        """Answer the next `times` messages with `code` at `stage`."""
        with self.lock:
            for _ in range(times):
                self.state.failures.append(_Failure(stage, code, text))

    def drop_next(self, *, times: int = 1, after_store: bool = False) -> None:
        """Close the connection at the end of DATA of the next `times` messages, no reply."""
        with self.lock:
            for _ in range(times):
                self.state.failures.append(
                    _Failure("data", 0, "", drop=True, after_store=after_store)
                )

    def load_script(self, answers: list[dict[str, Any]]) -> None:
        """A scenario's `smtp.answers` (see `connectors.emulators.smtp.script`)."""
        self.script.load(answers)

    @property
    def reads(self) -> list[bytes]:
        """Each read of the client's bytes, in order (commands pipelined together arrive in
        one read; a client waiting for each reply sends one command a read)."""
        with self._wire.lock:
            return list(self._wire.reads)

    @property
    def connections(self) -> int:
        """Connections clients opened so far."""
        with self._wire.lock:
            return self._wire.connections

    def disconnect_all(self) -> None:
        """Close every open connection without a word (an idle timeout, a restart)."""
        if self._controller is not None:
            self._controller.disconnect_all()

    def require_auth(self, username: str, password: str) -> None:
        with self.lock:
            self.state.auth = (username, password)

    def clear(self) -> None:
        """Forget delivered messages (not the files) and scripted failures."""
        with self.lock:
            self.messages.clear()
            self.state.failures.clear()
        self.script.clear()

    def by_recipient(self, address: str) -> list[Delivered]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    # ----- internals -------------------------------------------------------------------
    def _take_failure(self) -> _Failure | None:
        with self.lock:
            return self.state.failures.popleft() if self.state.failures else None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        with self.lock:
            expected = self.state.auth
        if expected is None or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        return AuthResult(success=(user, password) == expected, handled=False)

    def _store(self, envelope: Any) -> Delivered:
        data = envelope.original_content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        with self.lock:
            path: Path | None = None
            if self.outbox is not None:
                path = _deliver_file(self.outbox, data)
            delivered = Delivered(
                mail_from=str(envelope.mail_from or ""),
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=data,
                path=path,
            )
            self.messages.append(delivered)
            return delivered


def _deliver_file(outbox: Path, data: bytes) -> Path:
    """Store a message as the next numbered .eml, on disk before the client hears 250.

    Written whole to a hidden temporary file first, then linked under its final name (a link
    fails rather than replace a file, so two sandbox processes never take the same number):
    the outbox never shows a partial message, whenever the process dies."""
    msg_id = _message_id(data)
    tmp = outbox / f".incoming-{os.getpid()}-{threading.get_ident()}.tmp"
    fd = open_private(tmp, os.O_WRONLY | os.O_TRUNC)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    # Number on from what the folder already holds (a sandbox kept between runs).
    number = len(list(outbox.glob("*.eml"))) + 1
    try:
        while True:
            path = outbox / f"{number:04d}-{msg_id}.eml"
            try:
                os.link(tmp, path)
                break
            except FileExistsError:
                number += 1
    finally:
        os.unlink(tmp)
    fsync_dir(outbox)
    return path


def _message_id(data: bytes) -> str:
    """A file-name-safe form of the Message-ID, so an outbox file names its message."""
    m = re.search(rb"(?im)^message-id:\s*<?([^>\r\n]+)>?", data)
    raw = m.group(1).decode("ascii", "replace") if m else "no-message-id"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw)[:80]


def _free_port(host: str) -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
