"""One SMTP session a run, pipelined where the relay offers it (#26, item 4).

Round trips are what a relay's latency multiplies, so they are what is pinned: the emulator
records each read of the client's bytes (a pipelined envelope arrives in one), and how many
connections were opened. Timing is the benchmark's business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.email.connector import EmailConnector
from connectors.emulators.smtp.script import Answer
from connectors.emulators.smtp.server import SmtpEmulator
from connectors.retry import RetryPolicy
from sync.config.model import Config
from sync.core.domain import Effect, OutcomeStatus
from tests.connectors.test_email import notice, reminder, request
from tests.support.fixtures.common import RecordingJournal
from tests.support.fixtures.smtp import with_smtp

TWO = ("west@simpli.fi", "east@simpli.fi")


def _notices(n: int) -> list[Effect]:
    return [notice(request(id=f"a0B00000000000{i:02d}AAA", name=f"TR-{i:04d}")) for i in range(n)]


@pytest.fixture
def relay(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SmtpEmulator]:
    pipelining = getattr(request, "param", True)
    emulator = SmtpEmulator(tmp_path / "outbox", pipelining=pipelining)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def connector(config: Config, relay: SmtpEmulator) -> Iterator[EmailConnector]:
    cfg = with_smtp(config, relay)
    cfg = dataclasses.replace(cfg, email=dataclasses.replace(cfg.email, simplifi_to=TWO))
    c = EmailConnector(cfg, retry=RetryPolicy(max_attempts=3, sleep=lambda _s: None))
    try:
        yield c
    finally:
        c.close()


def _envelopes_in_one_read(relay: SmtpEmulator) -> int:
    """Reads that carried a whole envelope: MAIL, both RCPTs and DATA together."""
    return sum(
        1
        for chunk in relay.reads
        if chunk.upper().startswith(b"MAIL FROM:")
        and chunk.upper().count(b"RCPT TO:") == 2
        and chunk.upper().endswith(b"DATA\r\n")
    )


def test_the_envelope_is_pipelined_when_the_relay_offers_it(
    connector: EmailConnector, relay: SmtpEmulator
) -> None:
    outcomes = list(connector.apply(_notices(3), RecordingJournal()))
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert len(relay.messages) == 3
    assert _envelopes_in_one_read(relay) == 3
    assert connector.round_trips == 2 * 3  # envelope + content, per message


@pytest.mark.parametrize("relay", [False], indirect=True)
def test_without_pipelining_the_same_dialogue_runs_one_command_at_a_time(
    connector: EmailConnector, relay: SmtpEmulator
) -> None:
    outcomes = list(connector.apply(_notices(2), RecordingJournal()))
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert _envelopes_in_one_read(relay) == 0
    assert connector.round_trips == 2 * (3 + 2)  # MAIL, 2 RCPT, DATA, content


def test_one_connection_serves_the_effects_and_the_alerts_of_a_run(
    connector: EmailConnector, relay: SmtpEmulator
) -> None:
    journal = RecordingJournal()
    list(connector.apply(_notices(2), journal))
    list(connector.apply([reminder(request(), "tda_team", 7)], journal))
    connector.send_alert("p1", "a problem", "details")
    values = {"subject": "s", "body": "b", "problem_key": "k"}
    connector.send_message("alert", ["ops@agency.example"], values, "k1")
    assert len(relay.messages) == 5
    assert relay.connections == 1
    assert not any(chunk.upper().startswith(b"NOOP") for chunk in relay.reads)


def test_a_connection_the_relay_closed_between_messages_is_reopened_and_nothing_is_lost(
    connector: EmailConnector, relay: SmtpEmulator
) -> None:
    journal = RecordingJournal()
    [first] = connector.apply(_notices(1), journal)
    relay.disconnect_all()  # the relay's idle timeout while the run worked on Sheets
    [second] = connector.apply(_notices(2)[1:], journal)
    assert (first.status, second.status) == (OutcomeStatus.APPLIED, OutcomeStatus.APPLIED)
    assert len(relay.messages) == 2
    assert relay.connections == 2
    assert second.retries == 0  # a reconnect, not a retry of a refused message


@pytest.mark.parametrize("stage", ["mail", "rcpt", "data"])
def test_a_drop_before_the_content_is_sent_again_on_a_new_connection(
    connector: EmailConnector, relay: SmtpEmulator, stage: str
) -> None:
    relay.script.add(Answer(stage, drop=True))  # type: ignore[arg-type]
    [outcome] = connector.apply(_notices(1), RecordingJournal())
    assert outcome.status is OutcomeStatus.APPLIED, outcome.message
    assert len(relay.messages) == 1
    assert relay.connections == 2


def test_a_drop_after_the_content_is_unconfirmed_and_not_sent_again(
    connector: EmailConnector, relay: SmtpEmulator
) -> None:
    relay.script.add(Answer("after_data", drop=True, store=True))
    [outcome] = connector.apply(_notices(1), RecordingJournal())
    assert outcome.status is OutcomeStatus.UNCONFIRMED
    assert len(relay.messages) == 1


def test_a_refused_greeting_is_retried_and_worded(
    connector: EmailConnector, relay: SmtpEmulator
) -> None:
    relay.script.add(Answer("connect", 421, "4.3.2 Service not available", times=1))
    [outcome] = connector.apply(_notices(1), RecordingJournal())
    assert outcome.status is OutcomeStatus.APPLIED
    assert outcome.retries == 1


def test_a_refused_data_command_fails_with_the_relays_words(
    connector: EmailConnector, relay: SmtpEmulator
) -> None:
    relay.script.add(Answer("data", 554, "5.3.4 Message too big for system", times=-1))
    [outcome] = connector.apply(_notices(1), RecordingJournal())
    assert outcome.status is OutcomeStatus.FAILED
    assert "554 5.3.4 Message too big for system" in outcome.message
    assert relay.messages == []
