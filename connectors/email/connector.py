"""Send the sync's emails (Simpli.fi notice, manager digest, team reminders, ops alerts) by SMTP.

Email cannot be checked afterwards, so exactly-once rests on two things: the journal records
"sending" for every effect in a message, together, immediately before the message is handed to
SMTP (a crash after that leaves a visible "sending", never a silent double), and every message
carries a Message-ID derived from its effect key(s), so a person (or a mail system) can tell a
resend of the same message from a new one.

Each recipient's answer is its own outcome (`connectors.email.delivery`): a message goes only to
the recipients that do not have it yet, a 4xx for one of them is retried for that one, a 5xx is
final for that address (the effect fails, naming it), and an address that accepted the message
is recorded with the outcome, so no later run sends it again. A connection lost while the
message was being handed over is not retried, because the server may have kept it; the
ledger's "sending" record lets a person decide.

A run's messages share one SMTP session, pipelined where the relay offers it
(`connectors.email.session`).

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
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import NoReturn

from connectors.base import Journal
from connectors.email.delivery import Delivery, deliver
from connectors.email.session import SmtpSession, UnconfirmedError
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
from sync.config.redaction import redact
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
from sync.errors import ConfigError, ConnectorError, FatalError

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
        self._session = SmtpSession(e, self._login)
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
            self._connect_error = ""  # the session stays open for the run's other messages

    @property
    def retries(self) -> int:
        """Retries made so far by this connector's calls, for the run log."""
        return self._retry.retries

    @property
    def round_trips(self) -> int:
        """SMTP round trips of this run's mail transactions (what a relay's latency costs)."""
        return self._session.round_trips

    @property
    def connections(self) -> int:
        """SMTP connections this run opened."""
        return self._session.connections

    def close(self) -> None:
        """The end of the run: the session is closed (QUIT)."""
        self._session.close()

    def check(self) -> list[str]:
        """Read-only (`python -m sync check`): connect, greet and log in to the relay; send
        nothing."""
        try:
            self._retry.call(self._session.open, what="connect to the SMTP server")
        except ConnectorError as exc:
            return [f"email ({self._cfg.email.host}:{self._cfg.email.port}): {_text(exc)}"]
        finally:
            self._session.close()
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
        self._send_outside_effects(msg, to, "the alert")
        log.info("alert sent: %s", redact(subj), extra={"problem": problem_key})

    def send_message(
        self, template: str, to: Sequence[str], values: dict[str, str], key: str, *, html: str = ""
    ) -> str:
        """One message from a template outside any effect (the morning summary, say).

        With `html` the message is multipart/alternative: the template's text exactly as it
        is without it (the same part, the same bytes), then `html` for clients that show it.
        The Message-ID comes from `key`, so a resend of the same message is recognisable.
        Raises ConnectorError when it was not accepted; the error's `may_have_been_sent` says
        the connection broke during the hand-over. Returns the Message-ID.
        """
        if not to:
            _refuse(f"no address to send the {template.replace('_', ' ')} to")
        subject, body = self._templates[template].render(values)
        msg = self._message(to, subject, body, message_id(key, self._from), [])
        if html:
            msg.add_alternative(html, subtype="html")
        msg["X-Offboarding-Sync-Message"] = template  # mail filters (and tests) can tell it apart
        self._send_outside_effects(msg, to, f"the {template.replace('_', ' ')}")
        log.info("%s sent to %s", template, ", ".join(to))
        return str(msg["Message-ID"])

    def _send_outside_effects(self, msg: EmailMessage, to: Sequence[str], what: str) -> None:
        """A message no effect carries: raise when nobody got it, log who refused it when some
        did (sending again would double it for the others)."""
        self._retry.call(self._session.open, what="connect to the SMTP server")
        d = deliver(self._session, self._retry, msg, self._from, to, frozenset())
        if d.status is OutcomeStatus.UNCONFIRMED:
            raise UnconfirmedError(SERVICE, d.text)
        if not d.delivered:
            raise FatalError(SERVICE, f"{what} was not sent: {d.text}")
        if d.status is not OutcomeStatus.APPLIED:
            log.warning("%s: %s", what, d.text)

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
        d = self._deliver(msg, to, [effect], journal)
        retries = self._retry.retries - before
        return Outcome(effect.key, d.status, d.text, 1 + retries, retries,
                       delivered_to=tuple(d.delivered))  # fmt: skip

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
        """ONE message for every digest effect of this run; a bad one fails alone.

        An entry an earlier run delivered to some of the manager addresses goes, in a message
        of its own, to the others only; so each effect still travels in one message a run."""
        tpl = self._templates["manager_digest"]
        assert tpl.item is not None
        groups: dict[frozenset[str], list[tuple[Effect, str]]] = {}
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
            entry = tpl.item.substitute(values).rstrip()
            groups.setdefault(journal.delivered_to(effect), []).append((effect, entry))
        if not groups:
            return
        try:
            to = self._recipients("manager_to")
        except ConnectorError as exc:
            for group in groups.values():
                for effect, _entry in group:
                    yield Outcome(effect.key, OutcomeStatus.FAILED, _text(exc))
            return
        for group in groups.values():
            good = [effect for effect, _entry in group]
            subject, body = tpl.render(
                {
                    "count": str(len(good)),
                    "run_date": human_date(journal.today),
                    "requests": "\n\n".join(entry for _effect, entry in group),
                }
            )
            keys = sorted(e.key for e in good)
            mid = message_id("digest:" + "\n".join(keys), self._from)
            msg = self._message(to, subject, body, mid, keys)
            before = self._retry.retries
            d = self._deliver(msg, to, good, journal)
            retries = self._retry.retries - before
            for effect in good:
                yield Outcome(effect.key, d.status, d.text, 1 + retries, retries,
                              delivered_to=tuple(d.delivered))  # fmt: skip

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
        # Every message leaves the process: an error quoted in an alert or a summary may carry
        # a credential, so subject and body go through the run's one redactor.
        msg["Subject"] = one_line(redact(subject))
        msg["Date"] = format_datetime(self._clock(), usegmt=True)
        msg["Message-ID"] = msg_id
        if keys:
            msg["X-Offboarding-Sync-Effects"] = one_line(" ".join(keys))
        msg.set_content(redact(body))
        return msg

    # ----- SMTP ------------------------------------------------------------------------
    def _deliver(
        self, msg: EmailMessage, to: Sequence[str], effects: Sequence[Effect], journal: Journal
    ) -> Delivery:
        """Connect, record "sending", hand over to each recipient still owed the message;
        APPLIED only once every one of them has it."""
        mid = str(msg["Message-ID"])
        already = journal.delivered_to(effects[0])
        if {a.casefold() for a in to} <= {a.casefold() for a in already}:
            # An earlier run delivered it to every address: nothing to send.
            return Delivery(OutcomeStatus.APPLIED, f"already delivered to {', '.join(to)} "
                            f"(Message-ID {mid})")  # fmt: skip
        if self._connect_error:
            return Delivery(OutcomeStatus.FAILED, self._connect_error)
        try:
            self._retry.call(self._session.open, what="connect to the SMTP server")
        except ConnectorError as exc:
            self._connect_error = f"nothing sent: {_text(exc)}"
            return Delivery(OutcomeStatus.FAILED, self._connect_error)
        # All of the message's effects at once: a crash from here on leaves every one of them
        # "sending" for a person (never some of them), and one `resolve` settles them all.
        journal.sending(effects, mid)
        d = deliver(self._session, self._retry, msg, self._from, to, already)
        log.info("%s", d.text, extra={"message_id": mid, "run_id": journal.run_id})
        return d


def _by_date(effect: Effect) -> tuple[date, str]:
    req = effect.request
    return (req.effective_date or date.max, one_line(req.client_name).casefold())


def _refuse(message: str) -> NoReturn:
    raise FatalError(SERVICE, message)


def _text(exc: ConnectorError) -> str:
    return str(exc).removeprefix(f"{SERVICE}: ")
