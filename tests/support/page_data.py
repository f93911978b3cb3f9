"""Plain state for the page's tests and benchmark: seeded problems, hostile names, size.

Built as the ledger and the run log would hold it (EffectRow, Finding, run-log dicts), so the
page code under test is exactly what `report --html` runs, minus the file reading.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sync.core.domain import EffectState, Finding
from sync.core.records import EffectRow, UndoRecord
from sync.ops.page.model import Schedule, State

NOW = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)  # a Tuesday; 10:30 in New York
TZ = ZoneInfo("America/New_York")
SECRET = "00Dxx0000001gPL!AQ4AQFakeSessionIdThatMustNeverShow"
IMG = "<img src=x onerror=\"document.title='pwned';window.__pwned=1\">"
SCRIPT = "Acme </script><script>window.__pwned=2</script> Ltd"
HOSTILE = (IMG, SCRIPT)


def schedule() -> Schedule:
    return Schedule(
        tz=TZ,
        next_run=NOW + timedelta(minutes=15),
        every=timedelta(minutes=15),
        heartbeat="pings hc-ping.com at the start and end of every run",
    )


def _row(rid: str, kind: str, target: str, state: EffectState, not_before: str,
         error: str = "", attempts: int = 0) -> EffectRow:  # fmt: skip
    return EffectRow(
        key=f"{rid}:{kind}:{target}",
        request_id=rid,
        kind=kind,
        target=target,
        state=state,
        attempts=attempts,
        last_error=error,
        not_before=not_before,
        updated_at=NOW.isoformat(),
        applied_at=NOW.isoformat() if state is EffectState.APPLIED else None,
    )


def _label(name: str, client: str, kind: str, effective: str, status: str = "Approved"
           ) -> dict[str, str]:  # fmt: skip
    return {"label": f"{name} ({client})", "type": kind, "status": status,
            "effective_date": effective, "last_seen": NOW.isoformat()}  # fmt: skip


def seeded() -> State:
    """Each kind of problem once, two hostile clients, a secret in an error, 30 days of runs."""
    a, b, c, d, e, f = (f"a0T00000000000{n}AAA" for n in "ABCDEF")
    labels = {
        a: _label("TR-00001", "Blue Ridge RV Center", "cancellation", "2026-12-11"),
        b: _label("TR-00002", IMG, "cancellation", "2026-12-15"),
        c: _label("TR-00003", SCRIPT, "pause", "2026-12-09"),
        d: _label("TR-00004", "Big Sky RV Sales", "cancellation", "2026-12-18"),
        e: _label("TR-00005", "Lakeside Pontoon Co.", "cancellation", "2026-12-01", "Withdrawn"),
        f: _label("TR-00006", "Northwoods Sled & ATV", "cancellation", ""),
    }
    p = EffectState.PLANNED
    rows = [
        _row(a, "planner_add", "planner", EffectState.APPLIED, "2026-12-01"),
        _row(a, "tracker_remove", "ds_tracker", p, "2026-12-11"),
        _row(a, "reminder", "tda_team:1d", p, "2026-12-10"),
        _row(a, "manager_digest", "tda_manager", EffectState.SENDING, "2026-12-01"),
        _row(b, "manager_digest", "tda_manager", EffectState.SENDING, "2026-12-01"),
        _row(
            b,
            "trello_archive",
            "tda",
            EffectState.NEEDS_PERSON,
            "2026-12-07",
            f"two cards match {IMG} on the board; archive the right one by hand",
        ),
        _row(
            c,
            "tracker_status",
            "ds_tracker",
            EffectState.FAILED,
            "2026-12-05",
            f"Google answered 403 for session {SECRET}",
            4,
        ),
        _row(c, "reminder", "tda_team:1d", EffectState.SKIPPED, "2026-12-08"),
        _row(e, "tracker_remove", "ds_tracker", EffectState.ON_HOLD, "2026-12-01", "withdrawn"),
    ]
    findings = [
        Finding(
            d,
            "approval_chain",
            "status is 'Approved' but the approval chain is not "
            "complete: Finance has not approved, but a credit of 400.00 is issued.",
            True,
            labels[d]["label"],
        ),
        Finding(
            e,
            "withdrawn_after_action",
            "status changed to 'Withdrawn' after the sync acted "
            "on it (3 effects). Nothing was undone.",
            True,
            labels[e]["label"],
        ),
        Finding(
            f,
            "effective_date",
            "the request has no effective date. Nothing was done.",
            True,
            labels[f]["label"],
        ),
    ]
    runs, records = _runs(days=30, per_day=4, busy_every=1)
    records.append(
        {
            "type": "effect",
            "run_id": runs[-1]["run_id"],
            "outcome": "failed",
            "request_id": c,
            "request": "TR-00003",
            "client": SCRIPT,
            "kind": "tracker_status",
            "target": "ds_tracker",
            "error": f"Google answered 403 for session {SECRET}",
        }
    )
    return State(
        rows=rows,
        findings=findings,
        labels=labels,
        message_of={
            f"{a}:manager_digest:tda_manager": "<digest-1@sync>",
            f"{b}:manager_digest:tda_manager": "<digest-1@sync>",
        },
        undos={
            e: [
                UndoRecord(
                    e, 1, "", False, "2026-12-05T12:00:00+00:00", "2026-12-05T12:05:00+00:00"
                )
            ]
        },
        open_alerts={f"finding:{d}:approval_chain": f"{labels[d]['label']}: approval chain"},
        runs=runs,
        run_records=records,
    )


def _runs(
    days: int, per_day: int, busy_every: int
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    runs: list[dict[str, object]] = []
    start = NOW - timedelta(days=days)
    step = timedelta(days=1) / per_day
    for n in range(days * per_day):
        at = start + n * step
        busy = n % busy_every == 0
        runs.append(
            {
                "type": "run",
                "run_id": f"{at:%Y%m%dT%H%M%SZ}-{n:04x}",
                "started_at": at.isoformat(timespec="milliseconds"),
                "finished_at": (at + timedelta(seconds=2.5)).isoformat(timespec="milliseconds"),
                "as_of": at.astimezone(TZ).date().isoformat(),
                "dry_run": False,
                "counts": {
                    "applied": 3 if busy else 0,
                    "failed": 1 if n % 7 == 0 else 0,
                    "waiting": 2,
                    "needs_person": 0,
                    "skipped": 0,
                    "left": 0,
                },
                "retries": 0,
                "exit_code": 1 if n % 7 == 0 else 0,
                "error": "",
                "stopped_early": False,
                "adopted": 0,
            }
        )
    return runs, []


def big(n: int = 1000, days: int = 90) -> State:
    """`n` open requests of a busy agency (ten effects each) and `days` of runs every 15 min."""
    labels: dict[str, dict[str, str]] = {}
    rows: list[EffectRow] = []
    findings: list[Finding] = []
    base = date(2026, 12, 1)
    for i in range(n):
        rid = f"a0T{i:012d}AAA"
        eff = (base + timedelta(days=i % 40)).isoformat()
        labels[rid] = _label(
            f"TR-{i:05d}", f"Client number {i} Motorsports & Marine", "cancellation", eff
        )
        for kind, target in (("planner_add", "planner"), ("tracker_status", "ds_tracker"),
                             ("offboarding_add", "offboarding"), ("simplifi_notice", "simplifi"),
                             ("manager_digest", "tda_manager")):  # fmt: skip
            rows.append(_row(rid, kind, target, EffectState.APPLIED, "2026-11-20"))
        for kind, target in (("tracker_remove", "ds_tracker"), ("trello_archive", "tda"),
                             ("trello_archive", "design"), ("reminder", "tda_team:7d"),
                             ("salesforce_writeback", "offboarded")):  # fmt: skip
            state = (
                EffectState.FAILED
                if i % 50 == 0 and kind == "trello_archive"
                else EffectState.PLANNED
            )
            rows.append(
                _row(
                    rid,
                    kind,
                    target,
                    state,
                    eff,
                    "Trello answered 429" if state is EffectState.FAILED else "",
                    2,
                )
            )
        if i % 100 == 7:
            findings.append(
                Finding(
                    rid,
                    "approval_chain",
                    "the approval chain is not complete.",
                    True,
                    labels[rid]["label"],
                )
            )
    runs, records = _runs(days=days, per_day=96, busy_every=24)
    return State(rows=rows, findings=findings, labels=labels, runs=runs, run_records=records)
