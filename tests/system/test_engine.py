"""The engine with in-memory connectors: crash after every effect in turn, rerun, and check every
effect happened exactly once; the dry run writes nothing; the watermark and run log behave.

These fakes stand in for the *connector interface* (not for any client library); the real
connectors are tested against the emulators in their own files.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from connectors.base import FetchResult, Journal
from sync.config.model import Config
from sync.core.domain import (
    UNCHECKABLE,
    Effect,
    EffectKind,
    EffectState,
    Outcome,
    OutcomeStatus,
    Platform,
    RequestType,
    System,
    TakedownRequest,
)
from sync.engine.request import RunRequest
from sync.engine.run import run_once
from sync.state.ledger import Ledger
from sync.state.runlog import RunLog
from tests.support.fixtures.common import sandbox_config

TODAY = date(2026, 12, 20)  # after every effective date below: everything is due


def make_request(n: int, rtype: RequestType, **kw: object) -> TakedownRequest:
    base: dict[str, object] = {
        "id": f"a0R00000000000{n}",
        "name": f"TR-000{n}",
        "account_id": f"00100000000000{n}",
        "client_name": f"Client {n}",
        "type": rtype,
        "raw_type": str(rtype),
        "status": "Approved",
        "approved": True,
        "effective_date": date(2026, 12, 15),
        "raw_effective_date": "2026-12-15",
        "reason": "budget",
        "platform": Platform.DS,
        "raw_platform": "DS",
        "approved_at": datetime(2026, 12, 14, 9, n, tzinfo=UTC),
        "modified_at": datetime(2026, 12, 14, 9, n, tzinfo=UTC),
    }
    base.update(kw)
    return TakedownRequest(**base)  # type: ignore[arg-type]


REQUESTS = [
    make_request(1, RequestType.CANCELLATION, leaving_platform=True),
    make_request(2, RequestType.PAUSE),
    make_request(3, RequestType.CHANGE),
]


class Crash(BaseException):
    """Stands for the process being killed: nothing in the engine catches it."""


@dataclass
class World:
    """What the outside systems hold: how many times each effect really happened."""

    done: Counter[str] = field(default_factory=Counter)
    writes: int = 0
    crash_after: int | None = None

    def write(self, key: str) -> None:
        self.done[key] += 1
        self.writes += 1
        if self.crash_after is not None and self.writes == self.crash_after:
            raise Crash(f"killed after write {self.writes}")


@dataclass
class FakeConnector:
    """Checks the target by key before writing, as every real connector does; email cannot be
    checked, so it declares 'sending' first."""

    system: System
    world: World
    retries: int = 0

    def apply(self, effects: Sequence[Effect], journal: Journal) -> Iterator[Outcome]:
        for e in effects:
            if e.kind in UNCHECKABLE:
                journal.sending([e], "")
                self.world.write(e.key)
                yield Outcome(e.key, OutcomeStatus.APPLIED)
            elif self.world.done[e.key]:
                yield Outcome(e.key, OutcomeStatus.ALREADY_DONE)
            else:
                self.world.write(e.key)
                yield Outcome(e.key, OutcomeStatus.APPLIED)

    def close(self) -> None:
        return


@dataclass
class FakeSource:
    requests: list[TakedownRequest]
    high_water: datetime | None = datetime(2026, 12, 14, 9, 30, tzinfo=UTC)
    calls: list[dict[str, object]] = field(default_factory=list)
    retries: int = 0
    api_calls: int = 0
    usage: tuple[int, int] | None = None
    org_id: str = ""

    def fetch(
        self,
        *,
        since: datetime | None,
        open_ids: Sequence[str],
        run_started: datetime,
        full: bool,
    ) -> FetchResult:
        self.calls.append({"since": since, "open_ids": list(open_ids), "full": full})
        return FetchResult(requests=list(self.requests), high_water=self.high_water)

    def find(self, id_or_name: str) -> list[TakedownRequest]:
        return [r for r in self.requests if id_or_name in (r.id, r.name)]


def connectors(world: World) -> dict[System, FakeConnector]:
    return {s: FakeConnector(s, world) for s in System}


def run(cfg: Config, world: World, source: FakeSource | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return run_once(
        cfg,
        RunRequest(today=TODAY, **kw),
        source=source or FakeSource(REQUESTS),
        connectors=connectors(world),
    )  # type: ignore[arg-type]


def total_writes(cfg: Config) -> int:
    world = World()
    run(cfg, world)
    return world.writes


def test_a_clean_run_applies_everything_once_and_a_second_run_nothing(config: Config) -> None:
    world = World()
    first = run(config, world)
    assert first.exit_code == 0
    assert first.counts["applied"] == len(world.done) > 0
    assert set(world.done.values()) == {1}
    second = run(config, world)
    assert second.outcomes == {}
    assert second.plan.due == []
    assert set(world.done.values()) == {1}


@pytest.mark.slow  # a crash after every effect
def test_crash_after_each_effect_then_rerun_applies_each_exactly_once(tmp_path: Path) -> None:
    n = total_writes(sandbox_config(tmp_path / "count"))
    assert n >= 15  # a cancellation, a pause and a change cause at least this many effects
    expected_keys: set[str] | None = None
    for k in range(1, n + 1):
        cfg = sandbox_config(tmp_path / f"crash{k}")
        world = World(crash_after=k)
        with pytest.raises(Crash):
            run(cfg, world)
        world.crash_after = None
        rerun = run(cfg, world)
        # Nothing was done twice, in any system.
        assert max(world.done.values()) == 1, (k, world.done)
        ledger = Ledger(cfg.state_path / "ledger.sqlite3")
        states = ledger.states()
        unconfirmed = [key for key, s in states.items() if s is EffectState.SENDING]
        # An email whose send was the k-th write is reported, not resent: exactly once.
        if unconfirmed:
            assert len(unconfirmed) == 1
            assert world.done[unconfirmed[0]] == 1
            assert [f.code for f in rerun.plan.needs_person] == ["unconfirmed_send"]
            assert ledger.resolve_sending(unconfirmed[0], sent=True) == unconfirmed
        ledger.close()
        final = run(cfg, world)
        assert final.exit_code == 0
        # A write-back held back by the unconfirmed email went out in `final`; now all is done.
        assert run(cfg, world).plan.due == []
        if expected_keys is None:
            expected_keys = set(world.done)
        # Nothing is missing either: the same effects as an uninterrupted run.
        assert set(world.done) == expected_keys
        assert set(world.done.values()) == {1}


def test_one_failing_system_does_not_stop_the_others(config: Config) -> None:
    world = World()

    class Broken(FakeConnector):
        def apply(self, effects: Sequence[Effect], journal: Journal) -> Iterator[Outcome]:
            raise RuntimeError("boom")

    conns = connectors(world)
    conns[System.TRELLO] = Broken(System.TRELLO, world)
    result = run_once(
        config, RunRequest(today=TODAY), source=FakeSource(REQUESTS), connectors=conns
    )  # type: ignore[arg-type]
    failed = [k for k, o in result.outcomes.items() if o.status is OutcomeStatus.FAILED]
    assert failed
    assert all("/trello_archive/" in k for k in failed)
    assert "internal error in the trello connector: RuntimeError: boom" in (
        result.outcomes[failed[0]].message
    )
    assert any("/simplifi_notice/" in k for k in world.done)
    assert result.exit_code == 1
    # The write-back that reports on the archive waits; the others went through.
    assert any("offboarded" in k for k in result.waiting_on)
    # The next run retries only what failed.
    retry = run(config, world)
    assert {e.kind for e in retry.plan.due} <= {
        EffectKind.TRELLO_ARCHIVE,
        EffectKind.SALESFORCE_WRITEBACK,
    }
    assert retry.exit_code == 0


def test_dry_run_writes_nothing(config: Config) -> None:
    world = World()
    result = run(config, world, dry_run=True)
    assert result.plan.due
    assert world.writes == 0
    assert not config.state_path.exists()
    # And after a real run, a dry run leaves the state directory byte-for-byte unchanged.
    run(config, world)
    before = {p.name: p.read_bytes() for p in config.state_path.iterdir()}
    run(config, world, dry_run=True)
    after = {p.name: p.read_bytes() for p in config.state_path.iterdir()}
    assert before == after


def test_run_log_has_one_line_per_effect_and_one_per_run(config: Config) -> None:
    world = World()
    result = run(config, world)
    lines = list(RunLog.in_state_dir(config.state_path).read())
    effects = [x for x in lines if x["type"] == "effect"]
    runs = [x for x in lines if x["type"] == "run"]
    assert len(runs) == 1
    assert runs[0]["run_id"] == result.run_id
    assert runs[0]["counts"]["applied"] == len(world.done)
    assert {"run_id", "key", "kind", "request_id", "target", "outcome", "error", "attempts"} <= set(
        effects[0]
    )
    assert {e["key"] for e in effects if e["outcome"] == "applied"} == set(world.done)
    json.dumps(lines)  # plain JSON all the way


def test_watermark_moves_only_after_a_complete_run(config: Config) -> None:
    world = World()

    class Failing(FakeConnector):
        def apply(self, effects: Sequence[Effect], journal: Journal) -> Iterator[Outcome]:
            for e in effects:
                yield Outcome(e.key, OutcomeStatus.FAILED, "sheet unavailable")

    conns = connectors(world)
    conns[System.SHEETS] = Failing(System.SHEETS, world)
    source = FakeSource(REQUESTS)
    run_once(config, RunRequest(today=TODAY), source=source, connectors=conns)  # type: ignore[arg-type]
    ledger = Ledger(config.state_path / "ledger.sqlite3")
    assert ledger.get_datetime("watermark") is None
    # Failed effects keep their requests on the poll list.
    assert set(ledger.open_request_ids()) >= {r.id for r in REQUESTS}
    ledger.close()
    run(config, world, source=source)
    ledger = Ledger(config.state_path / "ledger.sqlite3")
    assert ledger.get_datetime("watermark") == source.high_water
    ledger.close()
    run(config, world, source=source)
    assert source.calls[-1]["since"] == source.high_water


def test_only_acts_on_one_request_and_keeps_the_watermark(config: Config) -> None:
    world = World()
    result = run(config, world, only="TR-0002")
    assert {e.request_id for e in result.plan.due} == {REQUESTS[1].id}
    ledger = Ledger(config.state_path / "ledger.sqlite3")
    assert ledger.get_datetime("watermark") is None
    ledger.close()


def test_withdrawn_after_action_is_reported_not_undone(config: Config) -> None:
    world = World()
    run(config, world)
    withdrawn = [
        make_request(
            1, RequestType.CANCELLATION, leaving_platform=True, status="Withdrawn", approved=False
        ),
        *REQUESTS[1:],
    ]
    result = run(config, world, source=FakeSource(withdrawn))
    assert [f.code for f in result.plan.needs_person] == ["withdrawn_after_action"]
    assert set(world.done.values()) == {1}


def test_unconfirmed_send_stays_sending_and_is_never_resent(config: Config) -> None:
    world = World()

    class Dropping(FakeConnector):
        def apply(self, effects: Sequence[Effect], journal: Journal) -> Iterator[Outcome]:
            for e in effects:
                journal.sending([e], "")
                self.world.write(e.key)
                status = (
                    OutcomeStatus.UNCONFIRMED
                    if e.kind is EffectKind.SIMPLIFI_NOTICE
                    else OutcomeStatus.APPLIED
                )
                yield Outcome(e.key, status, "connection lost while handing over")

    conns = connectors(world)
    conns[System.EMAIL] = Dropping(System.EMAIL, world)
    first = run_once(config, RunRequest(today=TODAY), source=FakeSource(REQUESTS), connectors=conns)  # type: ignore[arg-type]
    assert first.exit_code == 1
    notice = next(k for k in first.outcomes if "/simplifi_notice/" in k)
    second = run_once(
        config, RunRequest(today=TODAY), source=FakeSource(REQUESTS), connectors=conns
    )  # type: ignore[arg-type]
    assert notice not in {e.key for e in second.plan.due}
    assert [f.code for f in second.plan.needs_person] == ["unconfirmed_send"]
    assert world.done[notice] == 1
