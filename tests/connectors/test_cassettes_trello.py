"""Trello's main flows, pinned as recorded HTTP: board read, archive, comment.

Replayed from cassettes/trello/ (no emulator, no network); recorded from the Trello emulator when
a cassette is missing, or from a real board with `--record-mode=rewrite`. The Targeted Digital
Advertising board holds an open card "Acme Motors" (account id in the custom field) and an
archived card "Bluebird Dental" without the sync's comment; nothing for Cedar Roofing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from vcr.cassette import Cassette

from connectors.emulators.trello.server import TrelloEmulator
from connectors.trello.connector import TrelloConnector
from sync.config.model import Config
from sync.core.domain import Effect, EffectKind, Outcome, OutcomeStatus
from tests.support.cassette_plugin import CassetteRun, Mode
from tests.support.fixtures.common import RecordingJournal
from tests.support.fixtures.google import DS_CLIENTS, make_effect, make_request
from tests.support.fixtures.trello import trello_seed

pytestmark = pytest.mark.cassette

RECORDED_AT = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
ACME, BLUEBIRD, CEDAR = DS_CLIENTS
ACME_CARD = "6a0000000000000000000a01"
BLUEBIRD_CARD = "6a0000000000000000000b02"


@dataclass
class TrelloWorld:
    connector: TrelloConnector
    board: str  # the TDA board's id (a real board's while recording against Trello)
    emulator: TrelloEmulator | None  # only while recording from the emulator

    def archive(self, effect: Effect, journal: RecordingJournal) -> Outcome:
        (outcome,) = self.connector.apply([effect], journal)
        return outcome


@pytest.fixture
def trello(cassette_run: CassetteRun, cassette: Cassette, config: Config) -> Iterator[TrelloWorld]:
    emulator = None
    if cassette_run.mode is Mode.EMULATORS:
        emulator = TrelloEmulator(clock=lambda: RECORDED_AT)
        cards: dict[str, list[dict[str, Any]]] = {
            "tda": [
                {"id": ACME_CARD, "name": ACME[1], "account": ACME[0], "desc": "DS client"},
                {
                    "id": BLUEBIRD_CARD,
                    "name": BLUEBIRD[1],
                    "account": BLUEBIRD[0],
                    "closed": True,
                    "dateLastActivity": "2026-11-25T10:00:00.000Z",
                },
            ]
        }
        emulator.seed(trello_seed(config, cards))
        emulator.start()
    routes = {"trello.com": emulator.base_url} if emulator else None
    cfg = cassette_run.configure(config)
    connector = TrelloConnector(cfg, routes=cassette_run.routes(routes), retry=cassette_run.retry())
    try:
        yield TrelloWorld(connector, cfg.trello.boards["tda"], emulator)
    finally:
        connector.close()
        if emulator is not None:
            emulator.stop()


def effect_for(n: int, client: tuple[str, str]) -> Effect:
    req = make_request(n, account_id=client[0], client=client[1])
    return make_effect(EffectKind.TRELLO_ARCHIVE, "tda", req)


def calls(cassette: Cassette) -> list[tuple[str, str]]:
    """(method, path) of each recorded request, without the /1 prefix."""
    return [(r.method, urlsplit(r.uri).path.removeprefix("/1")) for r in cassette.requests]


def card_id(cassette: Cassette, name: str) -> str:
    """The id of the card titled `name`, from the board reads this cassette holds."""
    for req, resp in zip(cassette.requests, cassette.responses, strict=True):
        body = json.loads(resp["body"]["string"]) if req.method == "GET" else None
        if "/cards/" in req.path and req.path.startswith("/1/boards/"):
            lists = [body]
        elif req.path == "/1/batch":  # the board reads, one {"200": answer} per route
            lists = [item.get("200") for item in body or []]
        else:
            continue
        for cards in lists:
            for card in cards if isinstance(cards, list) else []:
                if isinstance(card, dict) and card.get("name") == name and "idList" in card:
                    return str(card["id"])
    raise AssertionError(f"no card {name!r} was read")


@pytest.mark.replay_via_routes
class TestBoardRead:
    def test_board_is_read_once_and_a_client_without_a_card_is_skipped(
        self, trello: TrelloWorld, cassette: Cassette, journal: RecordingJournal
    ) -> None:
        outcome = trello.archive(effect_for(3, CEDAR), journal)
        assert outcome.status is OutcomeStatus.SKIPPED, outcome.message
        board = trello.board
        assert calls(cassette) == [
            ("GET", "/batch"),  # the board's custom fields and open cards, in one call
            ("GET", f"/boards/{board}/cards/closed"),
        ]


class TestArchive:
    def test_card_with_the_account_id_is_archived_then_commented(
        self, trello: TrelloWorld, cassette: Cassette, journal: RecordingJournal
    ) -> None:
        effect = effect_for(1, ACME)
        outcome = trello.archive(effect, journal)
        assert outcome.status is OutcomeStatus.APPLIED, outcome.message
        writes = [r for r in cassette.requests if r.method != "GET"]
        card = card_id(cassette, ACME[1])
        assert [(r.method, urlsplit(r.uri).path) for r in writes] == [
            ("PUT", f"/1/cards/{card}"),
            ("POST", f"/1/cards/{card}/actions/comments"),
        ]
        assert json.loads(writes[0].body) == {"closed": True}
        comment = json.loads(writes[1].body)["text"]
        assert comment.startswith(f"Archived by the offboarding sync: {ACME[1]} cancelled")
        assert comment.endswith(f"sync-ref: {effect.request_id}")


class TestComment:
    def test_missing_comment_is_added_to_a_card_already_archived(
        self, trello: TrelloWorld, cassette: Cassette, journal: RecordingJournal
    ) -> None:
        effect = effect_for(2, BLUEBIRD)
        outcome = trello.archive(effect, journal)
        assert outcome.status is OutcomeStatus.ALREADY_DONE, outcome.message
        assert "added the missing comment to 1 card(s)" in outcome.message
        card = card_id(cassette, BLUEBIRD[1])
        assert calls(cassette)[-2:] == [
            ("GET", f"/cards/{card}/actions"),
            ("POST", f"/cards/{card}/actions/comments"),
        ]
