"""The connectors the conformance suite runs over: one registration each, against its emulator.

A registration builds a `World`: the connector routed to its emulator (real client library,
real wire format), one effect that changes the target, and the few service-specific handles the
test bodies need (what the target shows, how many write requests the service received, how to
make the service answer a transient error or refuse for good, in its own words). The test
bodies (`test_conformance.py`) know nothing of any one service. A new connector gets the whole
suite by adding one function here with `@register`.

The journal is the engine's own (`sync.engine.journal.RunJournal` over a real ledger on disk),
and the batch runs inside a ledger transaction for the systems the engine batches, as a run
does: a before-image must reach the disk before the write all the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import pytest

from connectors.base import Connector
from connectors.emulators.salesforce.server import SalesforceEmulator
from connectors.emulators.sheets.server import GoogleEmulator
from connectors.emulators.smtp.server import SmtpEmulator
from connectors.emulators.trello.server import TrelloEmulator
from sync.config.model import Config
from sync.core.domain import Effect, EffectKind
from tests.support.fixtures.google import make_effect, make_request
from tests.support.fixtures.salesforce import add_takedown
from tests.support.fixtures.trello import trello_seed

TODAY = date(2026, 11, 25)


@dataclass
class World:
    connector: Connector
    effect: Effect
    state: Callable[[], object]  # what the target shows that the effect changes
    writes: Callable[[], int]  # write requests the service received (logins not counted)
    transient: Callable[[], None]  # the service answers the next write a retriable error
    refuse: Callable[[], None]  # the service refuses the effect for good, in its own words
    # The target can be checked by key at write time (email cannot: the ledger guards it).
    checkable: bool = True
    # The write itself is idempotent (a PATCH of values): the connector may send it again.
    idempotent_write: bool = False
    # Run `fn` just before the service handles the next write (None: no before-image kept).
    on_write: Callable[[Callable[[], None]], None] | None = None
    # What the service's refusal (`refuse`) says, as the outcome must pass it on.
    refusal_words: str = ""


Builder = Callable[[pytest.FixtureRequest], Iterator[World]]
CASES: dict[str, Builder] = {}


def register(name: str) -> Callable[[Builder], Builder]:
    """Add a connector to the suite: every test body runs over it."""

    def add(builder: Builder) -> Builder:
        CASES[name] = builder
        return builder

    return add


@register("salesforce")
def salesforce(request: pytest.FixtureRequest) -> Iterator[World]:
    emulator: SalesforceEmulator = request.getfixturevalue("sf_emulator")
    config: Config = request.getfixturevalue("config")
    request.getfixturevalue("sf_env")
    connector = request.getfixturevalue("sf_connector")
    rid = add_takedown(emulator, client="Conformance Motors")
    (req,) = connector.find(rid)
    f, account = config.salesforce.fields, config.salesforce.account
    effect = Effect(
        req.id,
        EffectKind.SALESFORCE_WRITEBACK,
        "approval",
        TODAY,
        req,
        {
            "sync_status": "Synced",
            "sync_message": "Done on approval: conformance.",
            "account_status": account.cancellation,
        },
    )

    def state() -> object:
        record, acc = emulator.record(rid) or {}, emulator.record(req.account_id) or {}
        return record.get(f.sync_status), record.get(f.sync_message), acc.get(account.status_field)

    yield World(
        connector,
        effect,
        state,
        writes=lambda: emulator.count("PATCH"),
        transient=lambda: emulator.add_fault("503", method="PATCH"),
        refuse=lambda: emulator.fail_update(
            req.account_id, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Account is under review"
        ),
        idempotent_write=True,
        refusal_words="FIELD_CUSTOM_VALIDATION_EXCEPTION: Account is under review",
    )


@register("sheets")
def sheets(request: pytest.FixtureRequest) -> Iterator[World]:
    emulator: GoogleEmulator = request.getfixturevalue("google_emulator")
    config: Config = request.getfixturevalue("sheets_config")
    connector = request.getfixturevalue("sheets_connector")
    effect = make_effect(EffectKind.TRACKER_STATUS, "ds_tracker", make_request())
    batch = r":batchUpdate$"

    def refuse() -> None:
        with emulator.lock:  # the spreadsheet is gone (404 NOT_FOUND, Google's own body)
            emulator.spreadsheets.pop(config.sheets.ds_tracker.spreadsheet_id)

    yield World(
        connector,
        effect,
        state=emulator.snapshot,
        writes=lambda: emulator.count("POST", batch),
        transient=lambda: emulator.add_fault("503", method="POST", path=batch),
        refuse=refuse,
        on_write=lambda fn: emulator.on_request(lambda _r: fn(), method="POST", path=batch),
        refusal_words="not found",
    )


@register("trello")
def trello(request: pytest.FixtureRequest) -> Iterator[World]:
    emulator: TrelloEmulator = request.getfixturevalue("trello_emulator")
    config: Config = request.getfixturevalue("config")
    connector = request.getfixturevalue("trello_connector")
    req = make_request()
    cards = {"tda": [{"id": "c1", "name": req.client_name, "account": req.account_id}]}
    emulator.seed(trello_seed(config, cards))
    effect = Effect(req.id, EffectKind.TRELLO_ARCHIVE, "tda", TODAY, req)

    def refuse() -> None:  # the token is no longer valid: 401 "invalid token", as Trello says
        seed = trello_seed(config, cards)
        seed["credentials"] = [{**c, "token": "revoked"} for c in seed["credentials"]]
        emulator.seed(seed)

    yield World(
        connector,
        effect,
        state=lambda: emulator.snapshot()["boards"],
        writes=emulator.writes,
        transient=lambda: emulator.add_fault("503", method="PUT"),
        refuse=refuse,
        on_write=lambda fn: emulator.on_request(lambda _r: fn(), method="PUT"),
        refusal_words="invalid token",
    )


@register("email")
def email(request: pytest.FixtureRequest) -> Iterator[World]:
    emulator: SmtpEmulator = request.getfixturevalue("smtp_emulator")
    connector = request.getfixturevalue("email_connector")
    req = make_request()
    effect = Effect(req.id, EffectKind.SIMPLIFI_NOTICE, "simplifi", TODAY, req)

    yield World(
        connector,
        effect,
        state=lambda: [str(m.message["Message-ID"]) for m in emulator.messages],
        writes=lambda: len(emulator.messages),
        transient=lambda: emulator.fail_next(451, "4.3.0 Mailbox busy, try later"),
        refuse=lambda: emulator.fail_next(554, "5.7.1 Message rejected as spam"),
        checkable=False,
        refusal_words="554 5.7.1 Message rejected as spam",
    )


def build(name: str, request: pytest.FixtureRequest) -> Iterator[World]:
    yield from CASES[name](request)
