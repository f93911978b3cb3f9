"""smtplib with RFC 2920 PIPELINING, and told apart: a drop before or after the hand-over.

Why: at a real relay every SMTP command is a round trip (100-300 ms), and smtplib's `sendmail`
waits for each reply: MAIL, one RCPT per recipient, DATA, then the content, so 3 + recipients
round trips a message. A relay that offers PIPELINING in its EHLO answer lets the client send
MAIL, every RCPT and DATA in one write and read the replies after (RFC 2920, section 3.1: DATA
ends the group); the content follows the 354. That is 2 round trips a message whatever the
number of recipients. smtplib never pipelines, so this subclass replaces `sendmail` only:
smtplib still connects, greets, does STARTTLS and AUTH, and flattens the message
(`send_message` calls `sendmail`), and without the extension the same dialogue runs one command
at a time, as smtplib's own does.

What it adds besides the speed: smtplib raises the same `SMTPServerDisconnected` whether the
connection broke before the server saw the message or after the content went out. Here a drop
is `ConnectionDropped`, whose `maybe_delivered` says which: before the content was handed over
the server cannot have kept the message (send it again on a new connection); after, it may have
(the caller must not send it again by itself).

The results and the other exceptions are smtplib's: a dict of refused recipients
`{address: (code, reply)}`, `SMTPSenderRefused`, `SMTPRecipientsRefused`, `SMTPDataError`.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Sequence
from typing import Any

CRLF = "\r\n"
_LEADING_DOT = re.compile(rb"(?m)^\.")


class ConnectionDropped(smtplib.SMTPServerDisconnected):
    """The connection broke during a mail transaction.

    `maybe_delivered` is False when it broke before the content was handed over (nothing can
    have been delivered) and True when it broke after (the server may have kept the message)."""

    def __init__(self, message: str, *, maybe_delivered: bool) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


Reply = tuple[int, bytes]


class _Pipelining(smtplib.SMTP):
    """`sendmail` with PIPELINING when offered; see the module docstring."""

    # Round trips made by mail transactions on this connection (a flight of commands written
    # together and the replies waited for): what a relay's latency multiplies.
    round_trips: int = 0

    def sendmail(
        self,
        from_addr: str,
        to_addrs: str | Sequence[str],
        msg: Any,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
    ) -> dict[str, tuple[int, bytes]]:
        self.ehlo_or_helo_if_needed()
        data = _crlf(msg).encode("ascii") if isinstance(msg, str) else bytes(msg)
        options: list[str] = []
        if self.does_esmtp:
            if self.has_extn("size"):
                options.append(f"size={len(data)}")
            options.extend(mail_options)
        to = [to_addrs] if isinstance(to_addrs, str) else list(to_addrs)
        mail = self._mail_line(from_addr, options)
        rcpts = [self._line("rcpt", "TO:" + smtplib.quoteaddr(a) + _opts(self, rcpt_options))
                 for a in to]  # fmt: skip
        try:
            if self.has_extn("pipelining"):
                replies = self._flight([mail, *rcpts, "DATA" + CRLF], 2 + len(to))
            else:
                replies = self._one_by_one(mail, rcpts)
        except smtplib.SMTPServerDisconnected as exc:
            raise ConnectionDropped(
                f"the connection broke before the message was handed over ({exc})",
                maybe_delivered=False,
            ) from None
        refused = self._check_envelope(from_addr, to, replies)
        try:
            self.send(_stuffed(data))
            self.round_trips += 1
            code, reply = self.getreply()
        except smtplib.SMTPServerDisconnected as exc:
            raise ConnectionDropped(
                f"the connection broke after the message was handed over ({exc})",
                maybe_delivered=True,
            ) from None
        if code != 250:
            self._end_transaction(code)
            raise smtplib.SMTPDataError(code, reply)
        return refused

    # ----- the dialogue -------------------------------------------------------------------
    def _one_by_one(self, mail: str, rcpts: list[str]) -> list[Reply]:
        """No PIPELINING: one command, one reply, stopping where smtplib's `sendmail` stops."""
        replies = self._flight([mail], 1)
        if replies[0][0] != 250:
            return replies
        for line in rcpts:
            replies += self._flight([line], 1)
            if replies[-1][0] == 421:
                return replies
        if all(code not in (250, 251) for code, _ in replies[1:]):
            return replies
        return replies + self._flight(["DATA" + CRLF], 1)

    def _flight(self, lines: list[str], answers: int) -> list[Reply]:
        """Write `lines` in one go, then read `answers` replies."""
        self.send("".join(lines))
        self.round_trips += 1
        return [self.getreply() for _ in range(answers)]

    def _check_envelope(
        self, from_addr: str, to: list[str], replies: list[Reply]
    ) -> dict[str, tuple[int, bytes]]:
        """smtplib's rules on the MAIL, RCPT and DATA replies; returns the refused recipients.
        A 354 to DATA after a refused envelope (RFC 2920 allows a server that) is ended with an
        empty message, so the connection stays in step."""
        mail, rcpt, data = replies[0], replies[1 : 1 + len(to)], replies[1 + len(to) :]
        data_code = data[0][0] if data else 0
        if mail[0] != 250:
            self._abort(data_code, mail[0])
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], from_addr)
        refused = {a: r for a, r in zip(to, rcpt, strict=False) if r[0] not in (250, 251)}
        if any(code == 421 for code, _ in rcpt):
            self.close()
            raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(to):
            self._abort(data_code, 0)
            raise smtplib.SMTPRecipientsRefused(refused)
        if data_code != 354:
            self._end_transaction(data_code)
            raise smtplib.SMTPDataError(data_code, data[0][1] if data else b"")
        return refused

    def _abort(self, data_code: int, code: int) -> None:
        if data_code == 354:
            self.send("." + CRLF)
            self.getreply()
        self._end_transaction(code)

    def _end_transaction(self, code: int) -> None:
        """As smtplib: a 421 means the server is closing; anything else is reset."""
        if code == 421:
            self.close()
        else:
            self._rset()  # type: ignore[attr-defined]

    # ----- command lines ------------------------------------------------------------------
    def _mail_line(self, from_addr: str, options: list[str]) -> str:
        if any(o.lower() == "smtputf8" for o in options) and self.does_esmtp:
            if not self.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server")
            self.command_encoding = "utf-8"
        return self._line("mail", "FROM:" + smtplib.quoteaddr(from_addr) + _opts(self, options))

    @staticmethod
    def _line(cmd: str, args: str) -> str:
        """As smtplib's `putcmd`: a CR or LF in a command is refused, never sent."""
        line = f"{cmd} {args}"
        if "\r" in line or "\n" in line:
            raise ValueError(
                f"command and arguments contain prohibited newline characters: {line!r}"
            )
        return line + CRLF


def _opts(smtp: smtplib.SMTP, options: Sequence[str]) -> str:
    return " " + " ".join(options) if options and smtp.does_esmtp else ""


def _crlf(text: str) -> str:
    """As smtplib does for a str message: every line end a CRLF."""
    return re.sub(r"\r\n|\n|\r", CRLF, text)


def _stuffed(data: bytes) -> bytes:
    """The content as DATA sends it: leading dots doubled, ended by CRLF "." CRLF."""
    q = _LEADING_DOT.sub(b"..", data)
    if not q.endswith(b"\r\n"):
        q += b"\r\n"
    return q + b".\r\n"


class PipeliningSMTP(_Pipelining):
    """`smtplib.SMTP` (plain or STARTTLS) with the pipelined `sendmail`."""


class PipeliningSMTPSSL(_Pipelining, smtplib.SMTP_SSL):
    """`smtplib.SMTP_SSL` (TLS from the first byte) with the pipelined `sendmail`."""
