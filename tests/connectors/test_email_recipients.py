"""Each recipient's answer is its own outcome (#25, item 3).

Trial: a 550 for one of the Simpli.fi notice's two recipients was recorded "applied", with an
empty error, exit 0 and no alert; a 452 for one recipient was "applied" with a note and never
retried. Here: a permanent refusal fails the effect for that address (one alert, naming it), a
temporary one is retried, and an address that accepted the message never gets it again.
"""

from __future__ import annotations

import dataclasses
import io
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from connectors.email.connector import EmailConnector
from connectors.emulators.smtp.script import Answer
from connectors.emulators.smtp.server import SmtpEmulator
from connectors.retry import RetryPolicy
from sync.config.model import Config
from sync.core.domain import OutcomeStatus
from tests.connectors.test_email import digest, request
from tests.support.fixtures.common import RecordingJournal
from tests.support.fixtures.sandbox import Agency
from tests.support.fixtures.smtp import with_smtp
from tests.support.reliability import TODAY, agency_for, cli_on, run, runlog, scenario, takedown

NOTICE = "a0T500000000001AAA/simplifi_notice/simplifi"
WEST, EAST = "west@simpli.fi", "east@simpli.fi"
OPS = "digital-ops-lead@agency.example"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scenario(
        tmp_path_factory.mktemp("recipients"),
        [takedown(1, 0, "Cancellation", Effective_Date__c="{today+3}", Reason__c="budget")],
    )


@pytest.fixture
def agency(seeded: dict[str, Any], tmp_path: Path, sandbox_env: None) -> Any:
    with agency_for(tmp_path / "a", seeded) as agency:
        email = dataclasses.replace(agency.config.email, simplifi_to=(WEST, EAST))
        agency.config = dataclasses.replace(agency.config, email=email)
        yield agency


def _notices(agency: Agency) -> Counter[str]:
    """Copies of the Simpli.fi notice each address received."""
    return Counter(
        rcpt for m in agency.outbox() if "Please be advised" in m.body for rcpt in m.rcpt_tos
    )


def _alerts(agency: Agency) -> list[Any]:
    return [m for m in agency.outbox() if "new problem(s)" in str(m.message["Subject"])]


def _cli_run(agency: Agency) -> int:
    with cli_on(agency) as main, redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        return main(["--as-of", TODAY.isoformat()])


def test_a_permanent_refusal_for_one_of_two_recipients_fails_the_effect_and_alerts_once(
    agency: Agency,
) -> None:
    smtp = agency.emulators["smtp"]
    smtp.script.add(Answer("rcpt", 550, "5.1.1 No such user", rcpt=EAST, times=-1))

    assert _cli_run(agency) == 1
    line = next(r for r in runlog(agency) if r.get("key") == NOTICE)
    assert line["outcome"] == "failed"
    assert f"refused by the server for {EAST} (550 5.1.1 No such user)" in line["error"]
    assert f"delivered to {WEST}" in line["error"]
    assert _notices(agency) == Counter({WEST: 1})
    alerts = _alerts(agency)
    assert len(alerts) == 1
    assert EAST in alerts[0].body

    # The next run tries the refused address again, never the one that accepted; no new alert.
    assert _cli_run(agency) == 1
    assert _notices(agency) == Counter({WEST: 1})
    assert len(_alerts(agency)) == 1

    # The ops lead corrects the address: the run sends to the new one only, and it is done.
    email = dataclasses.replace(agency.config.email, simplifi_to=(WEST, "east-desk@simpli.fi"))
    agency.config = dataclasses.replace(agency.config, email=email)
    assert _cli_run(agency) == 0
    assert _notices(agency) == Counter({WEST: 1, "east-desk@simpli.fi": 1})


def test_a_temporary_refusal_for_one_recipient_is_retried_for_that_recipient_only(
    agency: Agency,
) -> None:
    smtp = agency.emulators["smtp"]
    smtp.script.add(Answer("rcpt", 452, "4.2.2 Mailbox full", rcpt=EAST, times=1))
    sleeps: list[float] = []
    result = run(agency, sleeps=sleeps)
    assert result.outcomes[NOTICE].status is OutcomeStatus.APPLIED
    assert len(sleeps) == 1
    assert _notices(agency) == Counter({WEST: 1, EAST: 1})
    ids = {str(m.message["Message-ID"]) for m in agency.outbox() if "Please be advised" in m.body}
    assert len(ids) == 1, "the retry is the same message"


def test_a_temporary_refusal_outlasting_the_bound_is_finished_by_the_next_run(
    agency: Agency,
) -> None:
    smtp = agency.emulators["smtp"]
    smtp.script.add(Answer("rcpt", 452, "4.2.2 Mailbox full", rcpt=EAST, times=-1))
    first = run(agency)
    assert first.outcomes[NOTICE].status is OutcomeStatus.FAILED
    assert f"refused for now by the server for {EAST} (452 4.2.2 Mailbox full)" in (
        first.outcomes[NOTICE].message
    )
    smtp.script.clear()
    second = run(agency)
    assert second.outcomes[NOTICE].status is OutcomeStatus.APPLIED
    assert _notices(agency) == Counter({WEST: 1, EAST: 1})
    assert run(agency).outcomes == {}


def test_a_scenario_scripts_the_relays_answers(tmp_path: Path, sandbox_env: None) -> None:
    def refuse_west(data: dict[str, Any]) -> None:
        data["smtp"] = {"answers": [{"stage": "rcpt", "code": 550, "text": "5.1.1 No such user",
                                     "rcpt": WEST, "times": -1}]}  # fmt: skip

    seeded = scenario(
        tmp_path / "s",
        [takedown(1, 0, "Cancellation", Effective_Date__c="{today+3}", Reason__c="budget")],
        edit=refuse_west,
    )
    with agency_for(tmp_path / "a", seeded) as agency:
        result = run(agency)
    assert result.outcomes[NOTICE].status is OutcomeStatus.FAILED
    assert f"{WEST} (550 5.1.1 No such user)" in result.outcomes[NOTICE].message


def test_a_digest_entry_some_managers_have_goes_only_to_the_others(
    config: Config, smtp_emulator: SmtpEmulator
) -> None:
    """One message per effect a run still: entries are grouped by who already has them."""
    cfg = with_smtp(config, smtp_emulator, manager_to=("a@agency.example", "b@agency.example"))
    old = digest(request(id="a0B000000000001AAA", name="TR-0001", client_name="Acme Motors"))
    new = digest(request(id="a0B000000000002AAA", name="TR-0002", client_name="Bluebird Dental"))
    journal = RecordingJournal(delivered={old.key: ("a@agency.example",)})
    connector = EmailConnector(cfg, retry=RetryPolicy(sleep=lambda _s: None))
    try:
        outcomes = {o.key: o for o in connector.apply([old, new], journal)}
    finally:
        connector.close()
    assert {o.status for o in outcomes.values()} == {OutcomeStatus.APPLIED}
    sent = {tuple(sorted(m.rcpt_tos)): m.body for m in smtp_emulator.messages}
    assert set(sent) == {("b@agency.example",), ("a@agency.example", "b@agency.example")}
    assert "Acme Motors" in sent[("b@agency.example",)]
    assert "Bluebird Dental" not in sent[("b@agency.example",)]
    assert "Acme Motors" not in sent[("a@agency.example", "b@agency.example")]
    assert outcomes[old.key].delivered_to == ("b@agency.example",)
