"""Trello's archives run beside the emails (issue 26, item 3), against the bundled agency.

What overlaps is shown with events, not timing: Trello's first archive is held at the
emulator until the first email arrived, which can only happen if the emails are sent while
Trello's writes are under way (one after the other, the archive would wait for nothing and the
email would come after it). The run log still reads system by system, in the apply order.
"""

from __future__ import annotations

import threading
import time

from connectors.emulators.base import Request as EmuRequest
from sync.core.domain import System
from sync.state.runlog import RunLog
from tests.support.fixtures.sandbox import SEEDED_ON, Agency

ORDER = [System.SHEETS, System.TRELLO, System.EMAIL, System.SALESFORCE]
SYSTEM_OF = {
    "planner_add": System.SHEETS,
    "tracker_status": System.SHEETS,
    "tracker_remove": System.SHEETS,
    "offboarding_add": System.SHEETS,
    "monthly_record": System.SHEETS,
    "ninjacat_flag": System.SHEETS,
    "trello_archive": System.TRELLO,
    "simplifi_notice": System.EMAIL,
    "manager_digest": System.EMAIL,
    "reminder": System.EMAIL,
    "salesforce_writeback": System.SALESFORCE,
}


def hold_the_first_archive_until_an_email_arrived(agency: Agency) -> list[bool]:
    """What the held archive saw: True if an email had arrived before it was let through."""
    seen: list[bool] = []
    emailed = threading.Event()
    smtp = agency.emulators["smtp"]
    before = len(smtp.messages)

    def hold(_req: EmuRequest) -> None:
        for _ in range(200):  # a bound, not a measurement: fails the test instead of hanging
            if len(smtp.messages) > before:
                emailed.set()
                break
            # A plain sleep, not a timed Event.wait: under libfaketime (CI's calendar-moved
            # lane) a timed wait on the faked monotonic clock blocks for the whole shift.
            time.sleep(0.05)
        seen.append(emailed.is_set())

    agency.emulators["trello"].on_request(hold, method="PUT", path=r"^/1/cards/", times=1)
    return seen


def test_emails_go_out_while_trellos_archives_are_under_way(agency: Agency) -> None:
    seen = hold_the_first_archive_until_an_email_arrived(agency)
    result = agency.run(SEEDED_ON)
    assert result.fatal == ""
    assert seen == [True]
    archived = [k for k, o in result.outcomes.items() if "trello_archive" in k]
    assert archived
    assert all(str(result.outcomes[k].status) in ("applied", "skipped") for k in archived)


def test_the_run_log_still_reads_system_by_system_in_the_apply_order(agency: Agency) -> None:
    hold_the_first_archive_until_an_email_arrived(agency)
    result = agency.run(SEEDED_ON)
    lines = [
        r
        for r in RunLog.in_state_dir(agency.config.state_path).read()
        # What the connectors did (the planner's skips and holds come first, attempts 0).
        if r.get("type") == "effect" and r.get("run_id") == result.run_id and r["attempts"]
    ]
    systems = [SYSTEM_OF[line["kind"]] for line in lines if line["kind"] in SYSTEM_OF]
    assert System.TRELLO in systems
    assert System.EMAIL in systems
    ranks = [ORDER.index(s) for s in systems]
    assert ranks == sorted(ranks), systems


def test_a_stop_while_trello_runs_beside_the_emails_records_what_it_did_and_owes_the_rest(
    agency: Agency,
) -> None:
    seen: list[str] = []
    stopped = agency.run(
        SEEDED_ON,
        on_effect=lambda e, _o: seen.append(e.key),
        stop=lambda: any("simplifi_notice" in k for k in seen),  # after the first notice
    )
    assert stopped.stopped
    assert stopped.exit_code == 3
    assert stopped.left  # owed, not failed
    assert all(str(o.status) != "failed" for o in stopped.outcomes.values())
    after = agency.run(SEEDED_ON)
    assert after.exit_code == 0, after.outcomes
    assert {e.key for e in stopped.left} <= set(after.outcomes) | set(after.waiting_on)
    assert agency.run(SEEDED_ON).outcomes == {}
