"""The services' published limits, end to end: the emulators enforce them in the services' own
shapes (driven by the real py-trello and gspread), and the connectors' pacer keeps under them.

Time: the Sheets tests run on a simulated clock (the emulator's windows and the connector's
injected sleep share it); the Trello test runs Trello's 10 s window at a tenth (time scale
0.1) and asserts only counts (no 429, no window over the limit), never how long it took.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import requests
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from trello import ResourceUnavailable, TrelloClient

from connectors import pacing
from connectors.emulators.quota import SHEETS_WINDOWS, TRELLO_WINDOWS, QuotaGate
from connectors.emulators.sheets.server import GoogleEmulator
from connectors.emulators.trello.server import TrelloEmulator
from connectors.http import build_session
from connectors.retry import RetryPolicy
from connectors.sheets.connector import SheetsConnector
from connectors.trello.connector import TrelloConnector
from sync.config.model import Config
from sync.core.domain import EffectKind, OutcomeStatus
from tests.connectors.test_trello import archive, request
from tests.support.fixtures.common import RecordingJournal
from tests.support.fixtures.google import make_effect, make_request
from tests.support.fixtures.trello import TRELLO_KEY, TRELLO_TOKEN, trello_seed

WRITES_PER_USER = "WriteRequestsPerMinutePerUser"
PLANNER = "sandbox-planner"


class SimClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _fresh_pacers() -> Iterator[None]:
    pacing.forget_shared()
    yield
    pacing.forget_shared()


def paced(cfg: Config, scale: float = 1.0) -> Config:
    p = dataclasses.replace(
        cfg.pacing,
        enabled=True,
        trello_window_seconds=cfg.pacing.trello_window_seconds * scale,
        sheets_window_seconds=cfg.pacing.sheets_window_seconds * scale,
        margin_seconds=0.05,  # the send-to-arrival jitter on a loaded machine, unscaled
    )
    return dataclasses.replace(cfg, pacing=p)


# ----- the emulators refuse as the services do ----------------------------------------------
def test_trello_refuses_the_101st_request_in_10_seconds_with_trellos_body(
    trello_emulator: TrelloEmulator,
) -> None:
    clock = SimClock()
    trello_emulator.enforce(QuotaGate(TRELLO_WINDOWS, clock=clock))
    session = build_session({"trello.com": trello_emulator.base_url})
    client = TrelloClient(TRELLO_KEY, http_service=session)
    session.headers["Authorization"] = (
        f'OAuth oauth_consumer_key="{TRELLO_KEY}", oauth_token="{TRELLO_TOKEN}"'
    )
    answers: list[requests.Response] = []
    session.hooks["response"].append(lambda r, *a, **k: answers.append(r))
    for _ in range(100):
        client.fetch_json("/members/me/boards")
    with pytest.raises(ResourceUnavailable) as refused:
        client.fetch_json("/members/me/boards")
    assert refused.value._status == 429
    response = answers[-1]
    assert response.json() == {
        "error": "API_TOKEN_LIMIT_EXCEEDED",
        "message": "Rate limit exceeded",
    }
    assert "Retry-After" not in response.headers
    clock.now = 10.0  # the window has moved past the first hundred
    assert client.fetch_json("/members/me/boards") is not None


def test_sheets_429_is_resource_exhausted_without_retry_after_until_the_minute_rolls_over(
    google_emulator: GoogleEmulator, gspread_http: HTTPClient
) -> None:
    clock = SimClock(now=30.0)
    google_emulator.enforce(QuotaGate(SHEETS_WINDOWS, clock=clock))
    for _ in range(60):
        gspread_http.fetch_sheet_metadata(PLANNER)
    with pytest.raises(APIError) as refused:
        gspread_http.fetch_sheet_metadata(PLANNER)
    response = refused.value.response
    assert response.status_code == 429
    assert "Retry-After" not in response.headers
    error = response.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert "Read requests per minute per user" in error["message"]
    [info] = [d for d in error["details"] if d["@type"].endswith("ErrorInfo")]
    assert info["reason"] == "RATE_LIMIT_EXCEEDED"
    assert info["metadata"]["quota_limit"] == "ReadRequestsPerMinutePerUser"
    clock.now = 59.0  # a backoff within the same minute is refused again
    with pytest.raises(APIError):
        gspread_http.fetch_sheet_metadata(PLANNER)
    clock.now = 60.0
    assert gspread_http.fetch_sheet_metadata(PLANNER)["spreadsheetId"] == PLANNER


# ----- the connectors keep under them --------------------------------------------------------
def test_a_sheets_429_without_retry_after_waits_for_the_window_not_a_second(
    sheets_config: Config, google_emulator: GoogleEmulator, journal: RecordingJournal
) -> None:
    """Another tool spent this minute's writes: the connector's write is refused; it must wait
    for the minute to roll over (a 1, 2, 4, 8 s backoff would stay inside it and fail)."""
    clock = SimClock(now=30.0)
    gate = QuotaGate(SHEETS_WINDOWS, clock=clock)
    google_emulator.enforce(gate)
    connector = SheetsConnector(
        paced(sheets_config),
        routes={"googleapis.com": google_emulator.base_url},
        retry=RetryPolicy(sleep=clock.sleep),
    )
    try:
        for _ in range(60):  # the other tool, with the same service account
            assert gate.admit({WRITES_PER_USER: connector.client_email}) is None
        effect = make_effect(EffectKind.PLANNER_ADD, "planner", make_request(1))
        [outcome] = list(connector.apply([effect], journal))
    finally:
        connector.close()
    assert outcome.status is OutcomeStatus.APPLIED, outcome.message
    assert gate.refused == {WRITES_PER_USER: 1}  # refused once, then through
    assert clock.slept[0] >= 30.0  # the rest of the minute at least, not a second
    assert google_emulator.count("POST", "/values:batchUpdate|:batchUpdate") >= 2


def trello_cards(n: int) -> list[dict[str, str]]:
    return [
        {"id": f"card{i}", "name": f"Client {i}", "account": f"001{i:012d}AAA"} for i in range(n)
    ]


def run_archives(
    config: Config, emulator: TrelloEmulator, n: int, retry: RetryPolicy
) -> list[OutcomeStatus]:
    emulator.seed(trello_seed(config, {"tda": trello_cards(n)}))
    connector = TrelloConnector(config, routes={"trello.com": emulator.base_url}, retry=retry)
    effects = [
        archive(
            request(id=f"a0B{i:012d}AAA", account_id=f"001{i:012d}AAA", client_name=f"Client {i}")
        )
        for i in range(n)
    ]
    try:
        return [o.status for o in connector.apply(effects, RecordingJournal())]
    finally:
        connector.close()


def test_the_trello_pacer_keeps_a_backlog_under_100_per_token_window_with_no_429(
    config: Config, trello_emulator: TrelloEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.trello.api_key_env, TRELLO_KEY)
    monkeypatch.setenv(config.trello.token_env, TRELLO_TOKEN)
    gate = QuotaGate(TRELLO_WINDOWS, time_scale=0.1)
    trello_emulator.enforce(gate)
    # 140 writes and the reads; the pacer waits (really: a tenth of Trello's 10 s) as it must.
    statuses = run_archives(paced(config, scale=0.1), trello_emulator, 70, RetryPolicy())
    assert statuses == [OutcomeStatus.APPLIED] * 70
    assert gate.refused == {}
    assert gate.peak["API_TOKEN_LIMIT_EXCEEDED"] <= 100
    assert trello_emulator.count("PUT") == 70


def test_without_the_pacer_the_same_backlog_meets_429s(
    config: Config, trello_emulator: TrelloEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the emulator does refuse a backlog sent as fast as it goes."""
    monkeypatch.setenv(config.trello.api_key_env, TRELLO_KEY)
    monkeypatch.setenv(config.trello.token_env, TRELLO_TOKEN)
    gate = QuotaGate(TRELLO_WINDOWS, time_scale=10.0)  # 100 s windows: no refill mid-test
    trello_emulator.enforce(gate)
    unpaced = dataclasses.replace(config, pacing=dataclasses.replace(config.pacing, enabled=False))
    statuses = run_archives(unpaced, trello_emulator, 70, RetryPolicy(max_attempts=1))
    assert OutcomeStatus.FAILED in statuses
    assert gate.refused.get("API_TOKEN_LIMIT_EXCEEDED", 0) > 0
