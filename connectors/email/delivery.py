"""One message to its recipients, each recipient's answer its own outcome.

Why: a relay answers every RCPT on its own. It may accept the message for one address and
refuse the next for good (550 no such user) or for now (452 mailbox full); smtplib then sends
the message to the ones it accepted and only reports the others. Recording that as "sent"
loses the refused address silently; retrying the whole message sends it twice to the ones that
have it. So here:

- the message goes only to the recipients that do not have it yet (an earlier run's partial
  delivery is known from the ledger);
- a temporary refusal (4xx) is retried within the run's retry policy, to those recipients
  only, with the same Message-ID;
- a permanent refusal (5xx) is final for that address in this run;
- the outcome is APPLIED only when every recipient has the message; otherwise FAILED, saying
  which address was refused with the relay's own words, and the addresses that accepted are
  in `Delivery.delivered`, so no later run sends to them again.

A connection lost after the content was handed over is UNCONFIRMED (the relay may have it):
never sent again by itself, whoever it was for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

from connectors.email.session import SERVICE, SmtpSession, UnconfirmedError
from connectors.retry import RetryPolicy
from sync.core.domain import OutcomeStatus
from sync.errors import ConnectorError, RetriableError

Refusals = dict[str, tuple[int, str]]


@dataclass
class Delivery:
    """What became of one message: per address, and as one outcome for its effects."""

    status: OutcomeStatus
    text: str
    delivered: list[str] = field(default_factory=list)
    refused: Refusals = field(default_factory=dict)  # for good (5xx)
    deferred: Refusals = field(default_factory=dict)  # for now (4xx), after every retry


def deliver(
    session: SmtpSession,
    retry: RetryPolicy,
    msg: EmailMessage,
    from_addr: str,
    recipients: Sequence[str],
    already: frozenset[str],
) -> Delivery:
    """Hand `msg` over for every recipient not in `already`; see the module docstring."""
    mid = str(msg["Message-ID"])
    owed = [a for a in recipients if a.casefold() not in {d.casefold() for d in already}]
    result = Delivery(OutcomeStatus.APPLIED, "")
    if not owed:
        result.text = f"already delivered to {', '.join(recipients)} (Message-ID {mid})"
        return result
    pending = list(owed)
    last: Refusals = {}

    def attempt() -> None:
        nonlocal pending, last
        answers = session.hand_over(msg, from_addr, pending)
        result.delivered += [a for a in pending if a not in answers]
        result.refused.update({a: r for a, r in answers.items() if r[0] >= 500})
        last = {a: r for a, r in answers.items() if r[0] < 500}
        pending = list(last)
        if pending:
            raise _DeferredError(SERVICE, "recipients refused for now: " + _said(last))

    try:
        retry.call(attempt, what=f"send {mid}")
    except UnconfirmedError as exc:
        result.status, result.text = OutcomeStatus.UNCONFIRMED, _text(exc)
        return result
    except _DeferredError:
        result.deferred = last
    except ConnectorError as exc:
        return _not_accepted(result, exc, mid)
    return _settle(result, already, mid)


class _DeferredError(RetriableError):
    """Some recipients were refused for now: worth another attempt, to them only."""


def _settle(result: Delivery, already: frozenset[str], mid: str) -> Delivery:
    parts = []
    done = sorted(already) + result.delivered
    if done:
        parts.append(f"delivered to {', '.join(done)} (Message-ID {mid})")
    if result.refused:
        parts.append("refused by the server for " + _said(result.refused))
    if result.deferred:
        parts.append("refused for now by the server for " + _said(result.deferred))
    result.text = "; ".join(parts)
    if result.refused or result.deferred:
        result.status = OutcomeStatus.FAILED
    return result


def _not_accepted(result: Delivery, exc: ConnectorError, mid: str) -> Delivery:
    """The relay refused the message as a whole (MAIL, DATA, the content), or could not be
    reached: nobody new has it."""
    text = f"not accepted by the server: {_text(exc)}"
    if result.delivered:
        text += f"; delivered to {', '.join(result.delivered)} (Message-ID {mid})"
    result.status, result.text = OutcomeStatus.FAILED, text
    return result


def _said(refusals: Refusals) -> str:
    return ", ".join(f"{a} ({c} {r})" for a, (c, r) in refusals.items())


def _text(exc: ConnectorError) -> str:
    return str(exc).removeprefix(f"{SERVICE}: ")
