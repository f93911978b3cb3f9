"""One clock: the day and the instants a run sees come from `sync.clock`, whatever day the
suite runs on; the real clock is read only in the places `sync/clock.py` lists."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sync.clock import SYSTEM, Clock, ManualClock
from sync.sandbox.agency import open_sandbox
from tests.support.fixtures.common import REPO

REAL_CLOCK = re.compile(
    r"date\.today\(\)|datetime\.now\(|datetime\.utcnow\(|datetime\.today\(\)|time\.time\(\)"
)
# The places sync/clock.py names as reading the real clock on purpose, and nothing else.
ALLOWED = {"sync/clock.py", "connectors/emulators/service_clock.py"}


def test_the_product_reads_the_real_clock_only_where_sync_clock_says() -> None:
    found = []
    for package in ("sync", "connectors"):
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if REAL_CLOCK.search(line) and rel not in ALLOWED:
                    found.append(f"{rel}:{n}: {line.strip()}")
    assert found == []


def test_no_test_reads_the_real_date() -> None:
    """Tests take "today" and "now" from a clock they control (or `wall_now()` where a peer
    such as OpenSSL checks the real time); measuring a duration with time.time() is fine."""
    dated = re.compile(r"date\.today\(\)|datetime\.now\(|datetime\.utcnow\(|datetime\.today\(\)")
    found = [
        f"{path.name}:{n}"
        for path in sorted((REPO / "tests").rglob("*.py"))
        if path.name != "test_clock.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if dated.search(line)
    ]
    assert found == []


def test_the_scanner_finds_a_planted_reading(tmp_path: Path) -> None:
    """The check above can fail: each form it looks for is found."""
    for planted in ("date.today()", "datetime.now(UTC)", "datetime.utcnow()", "time.time()"):
        assert REAL_CLOCK.search(f"x = {planted}")


def test_today_is_the_agency_day_not_the_machine_day() -> None:
    # 03:00 UTC on Dec 1 is still Nov 30 in Chicago.
    clock = Clock(instant=lambda: datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    assert clock.today("America/Chicago") == date(2026, 11, 30)
    assert clock.today("UTC") == date(2026, 12, 1)


def test_as_of_pins_the_day_and_keeps_the_instants() -> None:
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    clock = Clock(instant=lambda: at).as_of(date(2028, 2, 29))
    assert clock.today("America/Chicago") == date(2028, 2, 29)
    assert clock.now() == at
    assert clock.as_of(None) is clock


def test_the_system_clock_answers_aware_utc() -> None:
    now = SYSTEM.now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_a_manual_clock_moves_when_slept_on_and_never_waits() -> None:
    manual = ManualClock(datetime(2027, 3, 14, 6, 59, tzinfo=UTC))
    clock = manual.clock()
    clock.sleep(3600.0)
    assert manual.slept == [3600.0]
    assert clock.now() == datetime(2027, 3, 14, 7, 59, tzinfo=UTC)


def test_a_manual_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2026, 1, 1))


def test_a_ticking_clock_never_gives_the_same_instant_twice() -> None:
    manual = ManualClock(datetime(2026, 1, 1, tzinfo=UTC), tick=timedelta(milliseconds=1))
    assert manual() < manual()


@pytest.mark.parametrize("day", [date(2028, 2, 29), date(2027, 3, 14), date(2026, 11, 1)])
def test_a_sandbox_created_as_of_a_day_is_seeded_as_of_that_day(tmp_path: Path, day: date) -> None:
    """The bundled scenario's `{today+N}` dates resolve against the clock's day (a leap day
    and both US DST changes among them), not against the machine's."""
    clock = ManualClock(datetime(2031, 6, 1, 12, tzinfo=UTC)).clock(day)
    with open_sandbox(tmp_path / "box", clock=clock) as box:
        sf = box.emulators["salesforce"]
        field = box.config.salesforce.fields.effective_date
        effective = sorted(
            date.fromisoformat(str(rec[field]))
            for rec in sf.records[box.config.salesforce.object].values()
            if rec.get(field)
        )
    # The bundled agency's requests are effective from {today-2} to {today+10}.
    assert effective[0] == day - timedelta(days=2)
    assert effective[-1] == day + timedelta(days=10)
