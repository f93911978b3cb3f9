"""Send the sync's emails (Simpli.fi notice, manager digest, team reminders, ops alerts) by SMTP.

Email cannot be checked afterwards, so exactly-once rests on two things: the journal records
"sending" for every effect in a message, together, immediately before the message is handed to
SMTP (a crash after that leaves a visible "sending", never a silent double), and every message
carries a Message-ID derived from its effect key(s), so a person (or a mail system) can tell a
resend of the same message from a new one.

Only a definite refusal is retried in the run: a 4xx reply means the server did not take the
message. A connection lost while the message was being handed over is not retried, because the
server may have kept it; the effect fails with that said, and the ledger's "sending" record lets a
person decide. A 5xx reply fails with the server's own text.

Messages come from the ops lead's template files (see config/templates/*.txt for the format and
placeholders). Every value is checked before anything is sent, and values are made single-line
before they reach the Subject, so no request field can add a header; that part lives in
`connectors.email.templates`.

Why one module of about 530 lines: one SMTP connection per run (opened lazily, re-opened after a
421, closed at the end) is shared by the notices, the digests grouped per manager, the
reminders, the undo messages and the ops alerts, and each kind is a short method on it; the
templates and their checks, the pure part, are `connectors.email.templates`.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any, NoReturn

from connectors.base import Journal
from connectors.email.templates import (
    PLACEHOLDERS,
    Template,
    block,
    human_date,
    message_id,
    one_line,
)
from connectors.retry import RetryPolicy
from sync.clock import SYSTEM as SYSTEM_CLOCK
from sync.config.model import Config, cleartext_login
from sync.config.secrets import secret_from_env
from sync.core.domain import (
    Check,
    CheckState,
    Effect,
    EffectKind,
    Outcome,
    OutcomeStatus,
    RequestType,
    System,
)
from sync.errors import ConfigError, ConnectorError, FatalError, RetriableError

# Re-exported: tests and older callers import these from here.
__all__ = [
    "PLACEHOLDERS",
    "POLICY",
    "SERVICE",
    "TEAM_NAMES",
    "EmailConnector",
    "Template",
    "human_date",
    "message_id",
    "one_line",
]

log = logging.getLogger("connectors.email")

# What ${reason} reads when the request gives none (the templates document it).
NO_REASON = "(none given)"

SERVICE = "email"
TEAM_NAMES = {"tda_team": "TDA", "seo_team": "SEO"}
# RFC 5322's hard limit: a Subject is folded only when it must be (the 78-column default moves a
# whole subject that just misses the first line onto a continuation line, read back with a space).
POLICY = SMTP.clone(max_line_length=998)


class _UnconfirmedError(ConnectorError):
    """The connection broke while the message was handed over: it may have been delivered."""

    may_have_been_sent = True


class EmailConnector:
    system = System.EMAIL

    def __init__(
        self,
        cfg: Config,
        *,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = SYSTEM_CLOCK.now,
    ) -> None:
        e = cfg.email
        self._cfg = cfg
        self._clock = clock  # the messages' Date header: the run's instant, not the machine's
        self._login: tuple[str, str] | None = None
        if e.username_env:
            self._login = (
                secret_from_env(e.username_env, what="SMTP username", key="email.username_env"),
                secret_from_env(e.password_env, what="SMTP password", key="email.password_env"),
            )
        if cleartext_login(e):  # the config check refuses it; a config built in code too
            raise ConfigError(
                "security = 'none' with a login would send the SMTP password in clear "
                "(set allow_cleartext_login = true to allow it)",
                path=cfg.source,
                key="email.security",
            )
        folder = cfg.resolve(e.templates_dir) if e.templates_dir else None
        self._templates = Template.load_all(
            folder,
            (
                "simplifi_notice",
                "manager_digest",
                "reminder",
                "alert",
                "morning_summary",
                "simplifi_retraction",
                "manager_undo",
            ),
        )
        self._retry = retry or RetryPolicy.from_config(cfg.retry)
        self._smtp: smtplib.SMTP | None = None
        self._connect_error = ""

    # ----- the protocol ----------------------------------------------------------------
    def apply(self, effects: Sequence[Effect], journal: Journal) -> Iterator[Outcome]:
        self._connect_error = ""
        digest: list[Effect] = []
        try:
            for effect in effects:
                if effect.kind is EffectKind.MANAGER_DIGEST:
                    digest.append(effect)
                elif effect.kind in (EffectKind.SIMPLIFI_NOTICE, EffectKind.REMINDER):
                    yield self._single(effect, journal)
                elif effect.kind in (EffectKind.UNDO_RETRACTION, EffectKind.UNDO_NOTICE):
                    yield self._undo_message(effect, journal)
                else:
                    yield Outcome(
                        effect.key, OutcomeStatus.FAILED, f"not an email effect: {effect.kind}"
                    )
            if digest:
                yield from self._digest(digest, journal)
        finally:
            self._disconnect()

    @property
    def retries(self) -> int:
        """Retries made so far by this connector's calls, for the run log."""
        return self._retry.retries

    def close(self) -> None:
        self._disconnect()

    def check(self) -> list[str]:
        """Read-only (`python -m sync check`): connect, greet and log in to the relay; send
        nothing."""
        try:
            self._retry.call(self._ensure_connection, what="connect to the SMTP server")
        except ConnectorError as exc:
            return [f"email ({self._cfg.email.host}:{self._cfg.email.port}): {_text(exc)}"]
        finally:
            self._disconnect()
        return []

    def verify(self, effects: Sequence[Effect]) -> dict[str, Check]:
        """Dry runs and shadow mode: a sent email leaves nothing the sync can read back."""
        why = "an email cannot be checked afterwards (it may have been sent by a person)"
        return {e.key: Check(e.key, CheckState.UNKNOWN, why) for e in effects}

    def send_alert(self, problem_key: str, subject: str, body: str) -> None:
        """Tell the ops lead; the same problem always carries the same Message-ID.

        Raises ConnectorError when the message cannot be sent, so the caller keeps the alert
        pending for the next run.
        """
        to = self._cfg.email.ops_lead_to
        if not to:
            log.warning("alert not sent (email.ops_lead_to is empty): %s", one_line(subject))
            return
        values = {"subject": one_line(subject), "body": body, "problem_key": one_line(problem_key)}
        subj, text = self._templates["alert"].render(values)
        msg = self._message(to, subj, text, message_id(f"alert:{problem_key}", self._from), [])
        try:
            self._retry.call(self._ensure_connection, what="connect to the SMTP server")
            self._retry.call(lambda: self._send(msg, to), what="send an alert")
        finally:
            self._disconnect()
        log.info("alert sent: %s", subj, extra={"problem": problem_key})

    def send_message(
        self, template: str, to: Sequence[str], values: dict[str, str], key: str
    ) -> str:
        """One message from a template outside any effect (the morning summary, say).

        The Message-ID comes from `key`, so a resend of the same message is recognisable.
        Raises ConnectorError when it was not accepted; the error's `may_have_been_sent` says
        the connection broke during the hand-over. Returns the Message-ID.
        """
        if not to:
            _refuse(f"no address to send the {template.replace('_', ' ')} to")
        subject, body = self._templates[template].render(values)
        msg = self._message(to, subject, body, message_id(key, self._from), [])
        msg["X-Offboarding-Sync-Message"] = template  # mail filters (and tests) can tell it apart
        try:
            self._retry.call(self._ensure_connection, what="connect to the SMTP server")
            self._retry.call(lambda: self._send(msg, to), what=f"send the {template}")
        finally:
            self._disconnect()
        log.info("%s sent to %s", template, ", ".join(to))
        return str(msg["Message-ID"])

    # ----- messages --------------------------------------------------------------------
    def _single(self, effect: Effect, journal: Journal) -> Outcome:
        try:
            if effect.kind is EffectKind.SIMPLIFI_NOTICE:
                to = self._recipients("simplifi_to")
                if effect.request.type is not RequestType.CANCELLATION:
                    _refuse("Simpli.fi is told only of cancellations; this request is not one")
                values = self._values(effect)
                subject, body = self._templates["simplifi_notice"].render(values)
            else:
                team = effect.params.get("team", "")
                if team not in TEAM_NAMES:
                    _refuse(f"unknown reminder team '{team}' (expected tda_team or seo_team)")
                to = self._recipients(f"{team}_to")
                values = self._values(effect)
                values.update(self._reminder_values(effect, journal.today))
                subject, body = self._templates["reminder"].render(values)
        except ConnectorError as exc:
            return Outcome(effect.key, OutcomeStatus.FAILED, _text(exc))
        return self._send_one(effect, to, subject, body, journal)

    def _send_one(
        self, effect: Effect, to: Sequence[str], subject: str, body: str, journal: Journal
    ) -> Outcome:
        """One effect, one message: its Message-ID is stable for the effect, so a resend of the
        same effect is recognisably the same message."""
        msg = self._message(to, subject, body, message_id(f"effect:{effect.key}", self._from),
                            [effect.key])  # fmt: skip
        before = self._retry.retries
        status, text = self._deliver(msg, to, [effect], journal)
        retries = self._retry.retries - before
        return Outcome(effect.key, status, text, 1 + retries, retries)

    def _undo_message(self, effect: Effect, journal: Journal) -> Outcome:
        """An undo's message: the retraction to Simpli.fi, or the note to the manager."""
        try:
            if effect.kind is EffectKind.UNDO_RETRACTION:
                to, name = self._recipients("simplifi_to"), "simplifi_retraction"
            else:
                to, name = self._recipients("manager_to"), "manager_undo"
            values = self._values(effect)
            p = effect.params
            try:
                sent_on = human_date(date.fromisoformat(p.get("notice_date", "")))
            except ValueError:
                sent_on = "(date unknown)"
            values.update(
                {
                    "notice_date": sent_on,
                    "status": one_line(effect.request.status),
                    "why": one_line(p.get("why", "")) or "(none given)",
                    "undone": block(p.get("undone", "")),
                }
            )
            subject, body = self._templates[name].render(values)
        except ConnectorError as exc:
            return Outcome(effect.key, OutcomeStatus.FAILED, _text(exc))
        return self._send_one(effect, to, subject, body, journal)

    def _digest(self, effects: list[Effect], journal: Journal) -> Iterator[Outcome]:
        """ONE message for every digest effect of this run; a bad one fails alone."""
        tpl = self._templates["manager_digest"]
        assert tpl.item is not None
        good: list[Effect] = []
        blocks: list[str] = []
        # Soonest effective date first: the order the manager has to act in.
        for effect in sorted(effects, key=_by_date):
            try:
                values = self._values(effect)
                req = effect.request
                values["product_change_notes"] = block(req.product_change_notes)
                values["new_package"] = one_line(req.new_package) or "(none)"
                values["credit_amount"] = (
                    f"{req.credit_amount:.2f}" if req.credit_amount else "(none)"
                )
            except ConnectorError as exc:
                yield Outcome(effect.key, OutcomeStatus.FAILED, _text(exc))
                continue
            good.append(effect)
            blocks.append(tpl.item.substitute(values).rstrip())
        if not good:
            return
        try:
            to = self._recipients("manager_to")
        except ConnectorError as exc:
            for effect in good:
                yield Outcome(effect.key, OutcomeStatus.FAILED, _text(exc))
            return
        subject, body = tpl.render(
            {
                "count": str(len(good)),
                "run_date": human_date(journal.today),
                "requests": "\n\n".join(blocks),
            }
        )
        keys = sorted(e.key for e in good)
        msg = self._message(to, subject, body, message_id("digest:" + "\n".join(keys), self._from),
                            keys)  # fmt: skip
        before = self._retry.retries
        status, text = self._deliver(msg, to, good, journal)
        retries = self._retry.retries - before
        for effect in good:
            yield Outcome(effect.key, status, text, 1 + retries, retries)

    def _values(self, effect: Effect) -> dict[str, str]:
        req = effect.request
        client = one_line(req.client_name)
        reason = one_line(req.reason)
        if not client:
            _refuse(f"{req.name or req.id}: no client name; nothing sent")
        if req.effective_date is None:
            _refuse(f"{req.name or req.id} ({client}): no effective date; nothing sent")
        if req.type is None:
            _refuse(f"{req.name or req.id} ({client}): unknown request type; nothing sent")
        labels = self._cfg.salesforce.type_values
        return {
            "client": client,
            "effective_date": human_date(req.effective_date),
            "effective_date_iso": req.effective_date.isoformat(),
            # Decided once (docs/design/decisions.md): a missing reason never holds a notice back.
            "reason": reason or NO_REASON,
            "request_type": one_line(labels.get(req.type.value, req.type.value)),
            "request_name": one_line(req.name or req.id),
            "account_id": one_line(req.account_id),
            "link": one_line(req.link) or "(no link)",
            "platform": one_line(req.platform.value if req.platform else req.raw_platform),
        }

    def _reminder_values(self, effect: Effect, today: date) -> dict[str, str]:
        eff = effect.request.effective_date
        assert eff is not None
        try:
            due_on = date.fromisoformat(effect.params.get("due_on", ""))
        except ValueError:
            due_on = effect.not_before
        days = (eff - today).days
        if days == 0:
            left = "today"
        elif days == 1:
            left = "tomorrow"
        elif days > 1:
            left = f"in {days} days"
        else:
            left = f"{-days} day(s) ago"
        late = ""
        if today > due_on:
            late = f"Note: this reminder is late; it was due on {human_date(due_on)}.\n"
        team = effect.params.get("team", "")
        return {
            "days_left": str(days),
            "days_left_text": left,
            "late_note": late,
            "due_on": human_date(due_on),
            "offset_days": one_line(effect.params.get("offset_days", "")),
            "team": TEAM_NAMES.get(team, one_line(team)),
        }

    def _recipients(self, field_name: str) -> tuple[str, ...]:
        to: tuple[str, ...] = getattr(self._cfg.email, field_name, ())
        if not to:
            _refuse(f"email.{field_name} names no address; nothing sent")
        return to

    @property
    def _from(self) -> str:
        return self._cfg.email.from_address

    def _message(
        self, to: Sequence[str], subject: str, body: str, msg_id: str, keys: Sequence[str]
    ) -> EmailMessage:
        msg = EmailMessage(policy=POLICY)
        msg["From"] = self._from
        msg["To"] = ", ".join(to)
        msg["Subject"] = one_line(subject)
        msg["Date"] = format_datetime(self._clock(), usegmt=True)
        msg["Message-ID"] = msg_id
        if keys:
            msg["X-Offboarding-Sync-Effects"] = one_line(" ".join(keys))
        msg.set_content(body)
        return msg

    # ----- SMTP ------------------------------------------------------------------------
    def _deliver(
        self, msg: EmailMessage, to: Sequence[str], effects: Sequence[Effect], journal: Journal
    ) -> tuple[OutcomeStatus, str]:
        """Connect, record "sending", hand over; APPLIED only once the server accepted it."""
        if self._connect_error:
            return OutcomeStatus.FAILED, self._connect_error
        try:
            self._retry.call(self._ensure_connection, what="connect to the SMTP server")
        except ConnectorError as exc:
            self._connect_error = f"nothing sent: {_text(exc)}"
            return OutcomeStatus.FAILED, self._connect_error
        mid = str(msg["Message-ID"])
        # All of the message's effects at once: a crash from here on leaves every one of them
        # "sending" for a person (never some of them), and one `resolve` settles them all.
        journal.sending(effects, mid)
        try:
            refused = self._retry.call(lambda: self._send(msg, to), what=f"send {mid}")
        except _UnconfirmedError as exc:
            # Not FAILED: a failed effect is retried, and this message may already be out.
            log.info("%s: %s", mid, exc)
            return OutcomeStatus.UNCONFIRMED, _text(exc)
        except ConnectorError as exc:
            log.info("%s not accepted: %s", mid, exc)
            return OutcomeStatus.FAILED, f"not accepted by the server: {_text(exc)}"
        text = f"sent to {', '.join(to)} (Message-ID {mid})"
        if refused:
            text += "; refused by the server for " + ", ".join(
                f"{addr} ({code} {_decode(reply)})" for addr, (code, reply) in refused.items()
            )
        log.info("%s", text, extra={"message_id": mid, "run_id": journal.run_id})
        return OutcomeStatus.APPLIED, text

    def _send(self, msg: EmailMessage, to: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        if self._smtp is None:  # dropped by a 421 before this retry
            self._ensure_connection()
        assert self._smtp is not None
        try:
            return self._smtp.send_message(msg, from_addr=self._from, to_addrs=list(to))
        except smtplib.SMTPRecipientsRefused as exc:
            replies = {a: (c, _decode(r)) for a, (c, r) in exc.recipients.items()}
            text = "; ".join(f"{a}: {c} {r}" for a, (c, r) in replies.items())
            if replies and all(400 <= c < 500 for c, _ in replies.values()):
                raise RetriableError(SERVICE, f"recipients refused for now: {text}") from None
            raise FatalError(SERVICE, f"recipients refused: {text}") from None
        except smtplib.SMTPResponseException as exc:
            self._raise_reply(exc)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._disconnect()
            raise _UnconfirmedError(
                SERVICE,
                f"the connection was lost while the message was handed over ({exc}); the server "
                "may or may not have delivered it",
            ) from None

    def _ensure_connection(self) -> None:
        """Reuse the open connection if it still answers; otherwise open a new one."""
        if self._smtp is not None:
            try:
                code, _ = self._smtp.noop()
                if code == 250:
                    return
            except (smtplib.SMTPException, OSError):
                pass
            self._disconnect()
        e = self._cfg.email
        try:
            ctx = ssl.create_default_context()
            smtp: smtplib.SMTP
            if e.security == "ssl":
                smtp = smtplib.SMTP_SSL(e.host, e.port, timeout=e.timeout_seconds, context=ctx)
            else:
                smtp = smtplib.SMTP(e.host, e.port, timeout=e.timeout_seconds)
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
            raise FatalError(SERVICE, f"TLS with {e.host}:{e.port} failed: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            self._raise_reply(exc)
        except (smtplib.SMTPException, OSError) as exc:
            raise RetriableError(
                SERVICE, f"cannot reach the SMTP server {e.host}:{e.port}: {exc}"
            ) from None
        self._smtp = smtp

    def _raise_reply(self, exc: smtplib.SMTPResponseException) -> NoReturn:
        code = exc.smtp_code
        text = f"{code} {_decode(exc.smtp_error)}"
        if code == 421:
            self._disconnect()
        if 400 <= code < 500:
            raise RetriableError(SERVICE, text, status=code) from None
        raise FatalError(SERVICE, text, status=code) from None

    def _disconnect(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and not _quietly(smtp.quit):
            _quietly(smtp.close)


def _by_date(effect: Effect) -> tuple[date, str]:
    req = effect.request
    return (req.effective_date or date.max, one_line(req.client_name).casefold())


def _refuse(message: str) -> NoReturn:
    raise FatalError(SERVICE, message)


def _decode(reply: Any) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return str(reply)


def _text(exc: ConnectorError) -> str:
    return str(exc).removeprefix(f"{SERVICE}: ")


def _quietly(fn: Callable[[], object]) -> bool:
    try:
        fn()
    except (smtplib.SMTPException, OSError):
        return False
    return True
