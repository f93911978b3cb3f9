"""The connector contract (`connectors.base`), one set of test bodies over every connector.

Each body runs once per registration in `tests/contract/cases.py` (Salesforce, Sheets, Trello,
email), against that service's emulator through the real client library, with the engine's own
journal over a real ledger on disk. What every connector must do:

- applying the same effect twice is one change (checked at write time, or refused by the ledger
  for what cannot be checked);
- `verify()`, all a dry run asks of a connector, writes nothing and tells the truth;
- a before-image is on disk before the write it describes;
- a transient error is retried (and counted), a refusal is not, and says the service's words;
- the counters the engine reads are the protocol's, not fished out with getattr.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pytest

from connectors.base import Connector, Verifier
from sync.core.domain import CheckState, Outcome, OutcomeStatus
from sync.engine.journal import RunJournal
from sync.errors import FatalError
from sync.state.ledger import Ledger
from tests.contract.cases import CASES, TODAY, World, build

RUN = "conformance-run"


@pytest.fixture(params=sorted(CASES))
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    yield from build(request.param, request)


@pytest.fixture
def ledger(tmp_path: Path, world: World) -> Iterator[Ledger]:
    ledger = Ledger(tmp_path / "conformance" / "ledger.sqlite3")
    ledger.record_planned([world.effect], RUN)
    try:
        yield ledger
    finally:
        ledger.close()


def apply(world: World, ledger: Ledger) -> list[Outcome]:
    """As the engine applies one system's batch: in one ledger transaction for what can be
    checked at write time, each message committed on its own for what cannot (email)."""
    batch: AbstractContextManager[None] = ledger.transaction() if world.checkable else nullcontext()
    with batch:
        outcomes = list(world.connector.apply([world.effect], RunJournal(RUN, TODAY, ledger)))
        for outcome in outcomes:
            ledger.record_outcome(outcome, RUN)
    assert [o.key for o in outcomes] == [world.effect.key]  # one outcome per effect
    return outcomes


def test_the_same_effect_applied_twice_is_one_change(world: World, ledger: Ledger) -> None:
    before = world.state()
    [first] = apply(world, ledger)
    assert first.status is OutcomeStatus.APPLIED, first.message
    after = world.state()
    assert after != before  # the effect changed the target
    writes = world.writes()
    if world.checkable:
        [second] = apply(world, ledger)
        assert second.status in (OutcomeStatus.ALREADY_DONE, OutcomeStatus.APPLIED)
        if not world.idempotent_write:
            assert second.status is OutcomeStatus.ALREADY_DONE, second.message
            assert world.writes() == writes  # found done by key: nothing written again
    else:
        # Nothing to check afterwards: the ledger refuses a second send before it goes out.
        with pytest.raises(RuntimeError, match="refusing to send it again"):
            apply(world, ledger)
        assert world.writes() == writes
    assert world.state() == after


def test_verify_writes_nothing_and_tells_the_truth(world: World, ledger: Ledger) -> None:
    """`verify()` is what a dry run (and shadow mode) asks of a connector."""
    assert isinstance(world.connector, Verifier)
    key = world.effect.key
    state, writes = world.state(), world.writes()
    checks = world.connector.verify([world.effect])
    assert set(checks) == {key}
    assert checks[key].state is (CheckState.NOT_DONE if world.checkable else CheckState.UNKNOWN)
    assert (world.state(), world.writes()) == (state, writes)

    apply(world, ledger)
    state, writes = world.state(), world.writes()
    checks = world.connector.verify([world.effect])
    assert checks[key].state is (CheckState.DONE if world.checkable else CheckState.UNKNOWN)
    assert (world.state(), world.writes()) == (state, writes)


def test_a_before_image_is_on_disk_before_the_write(world: World, ledger: Ledger) -> None:
    if world.on_write is None:
        # This connector replaces nothing it could put back (a message, a write-back whose
        # fields the engine snapshots from the poll): it records no image.
        apply(world, ledger)
        assert ledger.before_images(world.effect.request_id) == {}
        return
    on_disk: list[set[str]] = []

    def look() -> None:  # another connection, as after a kill: only what is committed
        with sqlite3.connect(ledger.path) as db:
            on_disk.append({str(k) for (k,) in db.execute("SELECT key FROM before_images")})

    world.on_write(look)
    [outcome] = apply(world, ledger)
    assert outcome.status is OutcomeStatus.APPLIED, outcome.message
    assert on_disk, "the write hook never ran"
    assert world.effect.key in on_disk[0]


def test_a_transient_error_is_retried_and_counted(world: World, ledger: Ledger) -> None:
    assert world.connector.retries == 0
    world.transient()
    [outcome] = apply(world, ledger)
    assert outcome.status is OutcomeStatus.APPLIED, outcome.message
    assert world.connector.retries >= 1


def test_a_refusal_is_not_retried_and_says_the_services_words(world: World, ledger: Ledger) -> None:
    world.refuse()
    try:
        [outcome] = apply(world, ledger)
    except FatalError as exc:  # a refusal of the whole batch (bad credentials)
        message = str(exc)
    else:
        assert outcome.status in (OutcomeStatus.FAILED, OutcomeStatus.NEEDS_PERSON)
        message = outcome.message
    assert world.refusal_words in message
    assert world.connector.retries == 0


def test_the_counters_the_engine_reads_are_the_protocols(world: World) -> None:
    connector: Connector = world.connector
    assert connector.system is world.effect.system
    for name in ("system", "retries", "apply", "close"):
        assert hasattr(type(connector), name), f"{type(connector).__name__} lacks {name}"
    assert isinstance(type(connector).retries, property)  # read, not set by the engine
    assert connector.retries == 0  # built afresh per run: counts from zero
