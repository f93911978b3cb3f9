"""The run's one SMTP session: opened on first use, reused for every message, reopened on a drop.

Why one session: at a real relay, opening a connection costs the greeting, EHLO, STARTTLS (a
TLS handshake), EHLO again and AUTH, half a dozen round trips, and checking an open connection
with NOOP before each message costs one more. A run's messages (the effects, the alerts, the
shadow report, the morning summary) share one connection, used without a NOOP: a connection
the relay closed meanwhile (its idle timeout while the run worked on Sheets) shows itself as a
drop before the message was handed over, and is reopened then, without counting as a retry.

Each message goes out with `PipeliningSMTP` (MAIL, every RCPT and DATA in one write where the
relay offers PIPELINING). Every answer becomes the sync's error tree here: a drop before the
hand-over is retriable (nothing can have been delivered), a drop after it is `UnconfirmedError`
(the relay may have kept the message: never sent again by itself), 4xx retriable, 5xx fatal, an
untrusted certificate fatal and said so. Per-recipient answers are returned, not raised: the
connector decides per address.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from typing import Any, NoReturn

from connectors.certificates import untrusted_certificate, wording
from connectors.email.pipelining import ConnectionDropped, PipeliningSMTP, PipeliningSMTPSSL
from sync.config.model import EmailConfig
from sync.errors import ConnectorError, FatalError, RetriableError

log = logging.getLogger("connectors.email")

SERVICE = "email"


class UnconfirmedError(ConnectorError):
    """The connection broke after the message was handed over: it may have been delivered."""

    may_have_been_sent = True


class SmtpSession:
    """See the module docstring. Not thread-safe: one run's connector uses it."""

    def __init__(self, cfg: EmailConfig, login: tuple[str, str] | None) -> None:
        self._cfg = cfg
        self._login = login
        self._smtp: PipeliningSMTP | PipeliningSMTPSSL | None = None
        self._round_trips = 0  # of connections already closed
        self.connections = 0

    @property
    def round_trips(self) -> int:
        """Round trips of mail transactions so far (what a relay's latency multiplies)."""
        return self._round_trips + (self._smtp.round_trips if self._smtp is not None else 0)

    def open(self) -> None:
        """Connect, greet, secure and log in, unless a connection is open already."""
        if self._smtp is None:
            self._smtp = self._connect()

    def hand_over(
        self, msg: EmailMessage, from_addr: str, to: Sequence[str]
    ) -> dict[str, tuple[int, str]]:
        """Send `msg` to `to` once; return the recipients the relay refused, with its answer.

        A connection found closed before the hand-over is reopened and the message sent on
        the new one (once: a second drop is a RetriableError for the caller's policy)."""
        reused = self._smtp is not None
        self.open()
        try:
            return self._send(msg, from_addr, to)
        except _DroppedEarlyError as exc:
            if not reused:
                raise RetriableError(SERVICE, str(exc)) from None
            log.info("the SMTP connection was closed by the server; reconnecting")
            self.open()
            try:
                return self._send(msg, from_addr, to)
            except _DroppedEarlyError as again:
                raise RetriableError(SERVICE, str(again)) from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            self._round_trips += smtp.round_trips
            if not _quietly(smtp.quit):
                _quietly(smtp.close)

    # ----- one attempt -------------------------------------------------------------------
    def _send(
        self, msg: EmailMessage, from_addr: str, to: Sequence[str]
    ) -> dict[str, tuple[int, str]]:
        smtp = self._smtp
        assert smtp is not None
        try:
            refused = smtp.send_message(msg, from_addr=from_addr, to_addrs=list(to))
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
            if any(code == 421 for code, _ in refused.values()):
                self.close()
        except ConnectionDropped as exc:
            self.close()
            if exc.maybe_delivered:
                raise UnconfirmedError(
                    SERVICE,
                    f"the connection was lost while the message was handed over ({exc}); the "
                    "server may or may not have delivered it",
                ) from None
            raise _DroppedEarlyError(
                SERVICE, f"the connection was lost before sending ({exc})"
            ) from None
        except smtplib.SMTPResponseException as exc:
            self._raise_reply(exc)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # Outside a transaction (the RSET after a refusal): nothing was handed over.
            self.close()
            raise _DroppedEarlyError(SERVICE, f"the connection was lost ({exc})") from None
        return {a: (int(c), _decode(r)) for a, (c, r) in refused.items()}

    def _connect(self) -> PipeliningSMTP | PipeliningSMTPSSL:
        e = self._cfg
        try:
            ctx = ssl.create_default_context()
            smtp: PipeliningSMTP | PipeliningSMTPSSL
            if e.security == "ssl":
                smtp = PipeliningSMTPSSL(e.host, e.port, timeout=e.timeout_seconds, context=ctx)
            else:
                smtp = PipeliningSMTP(e.host, e.port, timeout=e.timeout_seconds)
            try:
                smtp.ehlo()
                if e.security == "starttls":
                    smtp.starttls(context=ctx)
                    smtp.ehlo()
                if self._login is not None:
                    smtp.login(*self._login)
            except BaseException:
                _quietly(smtp.close)
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise FatalError(
                SERVICE,
                f"the SMTP server refused the login ({exc.smtp_code} {_decode(exc.smtp_error)}); "
                f"check ${e.username_env} and ${e.password_env}",
                status=exc.smtp_code,
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise FatalError(
                SERVICE, f"{e.host}:{e.port} does not support {e.security}: {exc}"
            ) from None
        except ssl.SSLError as exc:
            why = untrusted_certificate(exc)
            text = (
                wording(f"{e.host}:{e.port}", why)
                if why
                else f"TLS with {e.host}:{e.port} failed: {exc}"
            )
            raise FatalError(SERVICE, text) from None
        except smtplib.SMTPResponseException as exc:
            self._raise_reply(exc)
        except (smtplib.SMTPException, OSError) as exc:
            raise RetriableError(
                SERVICE, f"cannot reach the SMTP server {e.host}:{e.port}: {exc}"
            ) from None
        self.connections += 1
        return smtp

    def _raise_reply(self, exc: smtplib.SMTPResponseException) -> NoReturn:
        code = exc.smtp_code
        text = f"{code} {_decode(exc.smtp_error)}"
        if code == 421:
            self.close()
        if 400 <= code < 500:
            raise RetriableError(SERVICE, text, status=code) from None
        raise FatalError(SERVICE, text, status=code) from None


class _DroppedEarlyError(RetriableError):
    """The connection broke before the message was handed over: nothing was delivered."""


def _decode(reply: Any) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return str(reply)


def _quietly(fn: Callable[[], object]) -> bool:
    try:
        fn()
    except (smtplib.SMTPException, OSError):
        return False
    return True
