"""Retries that cannot help (#25, item 9): a run's retry time per service is bounded, and an
untrusted TLS certificate is never retried, and is said to be one.

Trials: an untrusted certificate was retried as "no answer" for up to 77 s a run; a service that
keeps failing cost the per-call bound again for every call.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.retry import RetryPolicy
from connectors.salesforce.connector import SalesforceConnector
from connectors.trello.connector import TrelloConnector
from sync.config.model import Config
from sync.core.writeback_texts import writeback_texts
from sync.errors import ConnectorError, FatalError, RetriableError
from sync.ops.heartbeat import Heartbeat
from tests.support.fixtures.salesforce import ROUTES_HOST
from tests.support.fixtures.tls import UntrustedServer, untrusted_https
from tests.support.fixtures.trello import TRELLO_KEY, TRELLO_TOKEN

__all__ = ["untrusted_https"]  # the fixture, used by name


def test_a_runs_retry_waits_for_one_service_are_bounded() -> None:
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=5, run_budget_seconds=20, sleep=waits.append)
    calls = 0

    def down() -> None:
        nonlocal calls
        calls += 1
        raise RetriableError("Google Sheets", "503 UNAVAILABLE")

    errors = []
    for _ in range(6):  # six calls in one run, each failing every attempt
        with pytest.raises(RetriableError) as caught:
            policy.call(down, what="read a spreadsheet")
        errors.append(str(caught.value))
    # The second call's third wait (4 s) would pass the budget; what is left goes to short
    # waits, then calls get their first attempt only.
    assert waits == [1, 2, 4, 8, 1, 2, 1, 1]
    assert sum(waits) <= 20
    assert calls == 5 + 3 + 2 + 2 + 1 + 1
    assert "spent" not in errors[0]
    assert all("this run's 20 s of retries for this service are spent" in e for e in errors[1:])


def test_the_budget_comes_from_the_config(config: Config) -> None:
    assert RetryPolicy.from_config(config.retry).run_budget_seconds == (
        config.retry.run_budget_seconds
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def trello_behind_untrusted(
    config: Config, untrusted_https: UntrustedServer, sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TrelloConnector]:  # fmt: skip
    monkeypatch.setenv(config.trello.api_key_env, TRELLO_KEY)
    monkeypatch.setenv(config.trello.token_env, TRELLO_TOKEN)
    connector = TrelloConnector(config, routes={"trello.com": untrusted_https.base_url},
                                retry=RetryPolicy(sleep=sleeps.append))  # fmt: skip
    try:
        yield connector
    finally:
        connector.close()


def test_trello_behind_an_untrusted_certificate_is_tried_once_and_said_so(
    trello_behind_untrusted: TrelloConnector, untrusted_https: UntrustedServer,
    sleeps: list[float],
) -> None:  # fmt: skip
    problems = trello_behind_untrusted.check()
    assert sleeps == []
    assert untrusted_https.connections == len(problems)  # one attempt per board, no retry
    assert all("is not trusted (self-signed certificate); not retried" in p for p in problems)


def test_salesforce_behind_an_untrusted_certificate_is_tried_once_and_said_so(
    config: Config, untrusted_https: UntrustedServer, sf_env: None
) -> None:
    sleeps: list[float] = []
    connector = SalesforceConnector(
        config,
        writeback_texts=writeback_texts(config),
        routes={ROUTES_HOST: untrusted_https.base_url},
        retry=RetryPolicy(sleep=sleeps.append),
    )
    try:
        with pytest.raises(ConnectorError) as caught:
            connector.find("TR-00001")
    finally:
        connector.close()
    assert isinstance(caught.value, FatalError)
    assert "is not trusted (self-signed certificate); not retried" in str(caught.value)
    assert sleeps == []
    assert untrusted_https.connections == 1


def test_a_heartbeat_to_an_untrusted_monitor_is_not_retried(
    untrusted_https: UntrustedServer,
) -> None:
    beat = Heartbeat(untrusted_https.base_url + "/ping/abc", timeout_seconds=5, retries=2)
    assert beat.start() is False
    assert untrusted_https.connections == 1
