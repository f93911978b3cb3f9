"""The SMTP emulator answers as scripted, per command and per recipient, to the real smtplib."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.emulators.smtp.script import Answer, Script
from connectors.emulators.smtp.server import SmtpEmulator

MSG = b"From: a@x.example\r\nTo: b@x.example\r\nSubject: hi\r\nMessage-ID: <1@x>\r\n\r\nhello\r\n"


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[SmtpEmulator]:
    with SmtpEmulator(tmp_path / "outbox") as emulator:
        yield emulator


def _client(relay: SmtpEmulator) -> smtplib.SMTP:
    return smtplib.SMTP(relay.host, relay.port, timeout=5)


def test_a_refused_greeting(relay: SmtpEmulator) -> None:
    relay.script.add(Answer("connect", 554, "5.7.1 No service for you"))
    with pytest.raises(smtplib.SMTPConnectError) as caught:
        _client(relay)
    assert caught.value.smtp_code == 554
    with _client(relay) as smtp:  # used once, then forgotten
        assert smtp.noop()[0] == 250


def test_each_recipient_gets_its_own_answer(relay: SmtpEmulator) -> None:
    relay.script.add(Answer("rcpt", 550, "5.1.1 No such user", rcpt="NOBODY@x.example", times=-1))
    relay.script.add(Answer("rcpt", 452, "4.2.2 Mailbox full", rcpt="full@x.example"))
    with _client(relay) as smtp:
        refused = smtp.sendmail("a@x.example", ["b@x.example", "nobody@x.example",
                                                "full@x.example"], MSG)  # fmt: skip
        assert refused == {
            "nobody@x.example": (550, b"5.1.1 No such user"),
            "full@x.example": (452, b"4.2.2 Mailbox full"),
        }
        assert smtp.sendmail("a@x.example", ["full@x.example"], MSG) == {}
    assert [m.rcpt_tos for m in relay.messages] == [("b@x.example",), ("full@x.example",)]


@pytest.mark.parametrize(
    ("stage", "error"),
    [
        ("mail", smtplib.SMTPSenderRefused),
        ("data", smtplib.SMTPDataError),
        ("after_data", smtplib.SMTPDataError),
    ],
)
def test_mail_data_and_after_data_answers(
    relay: SmtpEmulator, stage: str, error: type[Exception]
) -> None:
    relay.script.add(Answer(stage, 451, "4.3.0 Try again later"))  # type: ignore[arg-type]
    with _client(relay) as smtp:
        with pytest.raises(error):
            smtp.sendmail("a@x.example", ["b@x.example"], MSG)
        assert smtp.sendmail("a@x.example", ["b@x.example"], MSG) == {}
    assert len(relay.messages) == 1


@pytest.mark.parametrize("store", [False, True])
def test_a_drop_after_data_keeps_the_message_only_when_told(
    relay: SmtpEmulator, store: bool
) -> None:
    relay.script.add(Answer("after_data", drop=True, store=store))
    with _client(relay) as smtp, pytest.raises(smtplib.SMTPServerDisconnected):
        smtp.sendmail("a@x.example", ["b@x.example"], MSG)
    assert len(relay.messages) == int(store)


def test_pipelining_is_offered_unless_switched_off(tmp_path: Path) -> None:
    for offered in (True, False):
        with SmtpEmulator(pipelining=offered) as relay, _client(relay) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("pipelining") is offered


def test_a_scenario_scripts_answers_as_json_and_a_bad_one_is_refused() -> None:
    script = Script()
    script.load([{"stage": "rcpt", "code": 550, "text": "5.1.1 No such user",
                  "rcpt": "b@x.example", "times": -1}])  # fmt: skip
    assert script.take("rcpt", "B@x.example") is not None
    assert script.take("rcpt", "c@x.example") is None
    with pytest.raises(ValueError, match=r"smtp.answers\[0\]: unknown key"):
        script.load([{"stage": "rcpt", "cod": 550}])
    with pytest.raises(ValueError, match="not an SMTP stage"):
        script.load([{"stage": "helo", "code": 550}])
    with pytest.raises(ValueError, match="narrows only a 'rcpt' answer"):
        script.load([{"stage": "mail", "code": 550, "rcpt": "b@x.example"}])
