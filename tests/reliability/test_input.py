"""Bad input, end to end through `python -m sync`: every problem gets a clear message in the run
log, in the summary and on stderr; nothing is lost (a request with a problem stays owed or
waits for a person) and the other requests go through.

One agency holds most of the catalogue at once (`CATALOGUE`); the cases that change a whole tab
or the config run on their own.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors.emulators.scenarios.scenario import account_id, chain, request_id
from connectors.emulators.sheets.server import write_service_account_file
from sync.config.loading import load
from sync.errors import ConfigError
from sync.sandbox.agency import SANDBOX_SECRETS
from sync.state.ledger import Ledger
from tests.support.fixtures.sandbox import Agency
from tests.support.reliability import (
    REPO,
    TODAY,
    agency_for,
    cli_on,
    ledger_states,
    run,
    runlog,
    scenario,
    takedown,
    world,
)

DS, ARI, MONTHLY = "sandbox-ds-tracker", "sandbox-ari-tracker", "sandbox-monthly"
GHOST = account_id(30)  # an account with no row in any tracker


@dataclass
class Cli:
    code: int
    out: str
    err: str


def sync_cli(agency: Agency, *argv: str) -> Cli:
    out, err = io.StringIO(), io.StringIO()
    with cli_on(agency) as main, redirect_stdout(out), redirect_stderr(err):
        code = main(["--as-of", TODAY.isoformat(), *argv])
    return Cli(code, out.getvalue(), err.getvalue())


def flat(text: str) -> str:
    """The summary wraps long lines; compare words, not line breaks."""
    return " ".join(text.split())


# ----- the catalogue -----------------------------------------------------------------------------
def catalogue_requests() -> list[dict[str, Any]]:
    return [
        takedown(1, 1, "Cancellation"),  # nothing wrong: goes through
        takedown(2, 4, "Cancellation", Effective_Date__c=None),
        takedown(3, 5, "Cancellation", Effective_Date__c="next Tuesday"),
        takedown(4, 7, "Cancellation", Effective_Date__c="{today-3}"),
        takedown(5, 8, "Upgrade"),
        takedown(6, 10, "Contract Pause", Platform__c="XYZ"),
        takedown(7, 30, "Cancellation", Account__c=GHOST, Platform__c="DS"),
        takedown(8, 11, "Contract Pause"),  # its row is in the DS tracker twice
        takedown(9, 13, "Contract Pause", Platform__c="DS"),  # in both trackers
        takedown(11, 14, "Contract Change", New_Package_Or_Budget__c="Budget cut"),
        takedown(12, 6, "Cancellation", Effective_Date__c="{today}"),  # two cards match
        takedown(13, 12, "Cancellation", Effective_Date__c="{today}"),  # no card at all
        # A pause, then a cancellation of the same client approved a day later.
        {**takedown(14, 15, "Contract Pause", Effective_Date__c="{today+20}"), "_approvals": False},
        takedown(15, 15, "Cancellation", Effective_Date__c="{today+10}"),
    ]


def catalogue_edit(data: dict[str, Any]) -> None:
    data["salesforce"]["records"]["Account"].append(
        {"Id": GHOST, "Name": "Ghost Dealer", "Platform__c": "DS", "TDA_Status__c": "Active"}
    )
    data["salesforce"]["approvals"][request_id(14)] = chain("jeremy", "dustin", day="{today-2}")
    sheets = data["google"]["spreadsheets"]
    ds = sheets[DS]["sheets"]["Clients"]
    twice = next(r for r in ds if r[1] == account_id(11))
    ds.append(list(twice))
    both = next(r for r in ds if r[1] == account_id(13))
    sheets[ARI]["sheets"]["Clients"].append([account_id(13), both[0], "Active", "$500"])
    monthly = sheets[MONTHLY]["sheets"]["Contract Changes"]
    col = monthly[0].index("Product Change Notes")
    for row in monthly:
        del row[col]
    tda, design = data["trello"]["boards"]
    tda["cards"].append({"name": "Gulf Breeze Boats", "desc": "Spring promo."})
    design["cards"].append({"name": "GULF BREEZE BOATS", "desc": "Logo refresh."})
    for board in (tda, design):
        board["cards"] = [
            c
            for c in board["cards"]
            if "sunset coast campers" not in c["name"].casefold()
            and account_id(12) not in json.dumps(c)
        ]


@pytest.fixture(scope="module")
def catalogue_seed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scenario(tmp_path_factory.mktemp("catalogue"), catalogue_requests(), edit=catalogue_edit)


@pytest.fixture(scope="module")
def catalogue(
    catalogue_seed: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Agency, Cli]]:
    """One run of `python -m sync` over the whole catalogue; the tests read what it left."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in SANDBOX_SECRETS.items():
            mp.setenv(name, value)
        with agency_for(tmp_path_factory.mktemp("catalogue-run"), catalogue_seed) as agency:
            yield agency, sync_cli(agency)


def key(n: int, kind: str, target: str) -> str:
    return f"{request_id(n)}/{kind}/{target}"


# (case, where the run log says it, a phrase of the message, is it on stderr)
FINDINGS = [
    ("missing effective date", 2, "effective_date", "the request has no effective date"),
    ("unparseable effective date", 3, "effective_date", "effective date 'next Tuesday' is not"),
    ("unknown request type", 5, "unknown_type", "unknown request type 'Upgrade'"),
    ("unknown platform", 6, "unknown_platform", "unknown platform 'XYZ' (expected DS or ARI)"),
]
EFFECTS = [
    ("client not in the tracker", key(7, "tracker_status", "ds_tracker"), "needs_person",
     f"no row with Salesforce Account ID '{GHOST}' (Ghost Dealer)"),
    ("the same client twice in a tracker", key(8, "tracker_status", "ds_tracker"), "needs_person",
     f"'{account_id(11)}' is in rows"),
    ("header missing", key(11, "monthly_record", "monthly"), "failed",
     "no column headed 'Product Change Notes'"),
    ("two Trello cards match", key(12, "trello_archive", "tda"), "needs_person",
     "2 cards on board 'tda' are titled 'Gulf Breeze Boats'"),
    ("no card matches", key(13, "trello_archive", "tda"), "skipped",
     "no card for Sunset Coast Campers on board tda"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "n", "code", "phrase"), FINDINGS, ids=[f[0] for f in FINDINGS])
def test_a_request_that_cannot_be_acted_on_is_reported_everywhere_and_nothing_done(
    catalogue: tuple[Agency, Cli], case: str, n: int, code: str, phrase: str
) -> None:
    agency, done = catalogue
    rid = request_id(n)
    line = next(r for r in runlog(agency) if r["type"] == "finding" and r["request_id"] == rid)
    assert (line["code"], phrase in line["message"]) == (code, True), line
    assert "Nothing was done" in line["message"]
    # Said once: in the summary's "Needs a person" part, which goes to stderr.
    assert re.search(rf"Needs a person: .*TR-{n:05d} .*{re.escape(phrase)}", flat(done.err))
    assert phrase not in flat(done.out)
    assert not any(r.get("request_id") == rid for r in runlog(agency) if r["type"] == "effect")
    assert rid in ledger_open_ids(agency)  # nothing lost: polled again until a person fixes it


@pytest.mark.parametrize(
    ("case", "effect_key", "outcome", "phrase"), EFFECTS, ids=[e[0] for e in EFFECTS]
)
def test_an_effect_that_cannot_be_done_is_reported_everywhere_and_the_rest_goes_on(
    catalogue: tuple[Agency, Cli], case: str, effect_key: str, outcome: str, phrase: str
) -> None:
    agency, done = catalogue
    line = next(r for r in runlog(agency) if r.get("key") == effect_key)
    assert line["outcome"] == outcome, line
    assert phrase in line["error"]
    if outcome == "skipped":  # a skip is fine: no card means nothing to archive
        assert phrase in flat(done.out)
        assert phrase not in flat(done.err)
    else:  # a problem: said once, on stderr
        assert phrase in flat(done.err)
        assert phrase not in flat(done.out)
        assert ledger_states(agency)[effect_key] in ("needs_person", "failed")


def ledger_open_ids(agency: Agency) -> set[str]:
    ledger = Ledger(agency.config.state_path / "ledger.sqlite3")
    try:
        return set(ledger.open_request_ids())
    finally:
        ledger.close()


def test_the_catalogue_run_exit_code_and_the_requests_that_went_through(
    catalogue: tuple[Agency, Cli],
) -> None:
    agency, done = catalogue
    assert done.code == 1
    assert "Traceback" not in done.err
    states = ledger_states(agency)
    good = {k: v for k, v in states.items() if k.startswith(request_id(1))}
    assert {v for k, v in good.items() if "salesforce_writeback/approval" in k} == {"applied"}
    # Past effective date: every step, removal included, ran at once, and the summary notes it.
    past = {k: v for k, v in states.items() if k.startswith(request_id(4))}
    assert past[key(4, "tracker_remove", "ds_tracker")] == "applied"
    assert "had already passed when the request was first seen" in flat(done.err)
    note = next(
        r for r in runlog(agency) if r["type"] == "finding" and r["request_id"] == request_id(4)
    )
    assert note["code"] == "effective_date_past"
    assert "had already passed" in done.err


def test_a_client_in_both_trackers_is_changed_only_in_its_platforms_tracker(
    catalogue: tuple[Agency, Cli],
) -> None:
    agency, _done = catalogue
    google = agency.emulators["google"]
    ds = [r for r in google.rows(DS, "Clients") if r[1] == account_id(13)]
    ari = [r for r in google.rows(ARI, "Clients") if r[0] == account_id(13)]
    assert [r[4] for r in ds] == ["Paused"]
    assert [r[2] for r in ari] == ["Active"]  # the platform (DS) decided; ARI left alone


def test_a_pause_then_a_cancellation_of_the_same_client_both_apply_in_order(
    catalogue: tuple[Agency, Cli],
) -> None:
    agency, done = catalogue
    google = agency.emulators["google"]
    row = next(r for r in google.rows(ARI, "Clients") if r[0] == account_id(15))
    header = google.rows(ARI, "Clients")[0]
    values = dict(zip(header, row, strict=False))
    assert values["Status"] == "Cancelled"
    assert values["Cancel Date"] == "2026-12-05"
    assert values["Pause Date"] == "2026-12-15"
    planner = [r[0] for r in google.rows("sandbox-planner", "Cancellations & Pauses")]
    assert planner.count(request_id(14)) == planner.count(request_id(15)) == 1
    account = agency.emulators["salesforce"].record(account_id(15))
    assert account["TDA_Status__c"] == "Cancelled"
    # The pause's reminders would announce a pause that never comes: dropped, and said so.
    phrase = "a cancellation of the same client (TR-00015 (Red Rock Off-Road), effective"
    note = next(r for r in runlog(agency) if r.get("code") == "pause_superseded")
    assert note["request_id"] == request_id(14)
    assert phrase in note["message"]
    assert f"Notes: TR-00014 (Red Rock Off-Road): {phrase}" in flat(done.err)
    assert phrase not in flat(done.out)
    states = ledger_states(agency)
    reminders = {k: v for k, v in states.items() if k.startswith(f"{request_id(14)}/reminder/")}
    assert reminders
    assert set(reminders.values()) == {"skipped"}


# ----- cases that change a whole tab or the request after the fact ------------------------------
def test_a_renamed_header_fails_that_tabs_effects_only(tmp_path: Path, sandbox_env: None) -> None:
    def rename(data: dict[str, Any]) -> None:
        data["google"]["spreadsheets"][DS]["sheets"]["Clients"][0][4] = "State"

    seeded = scenario(
        tmp_path / "s",
        [takedown(1, 1, "Contract Pause"), takedown(2, 0, "Contract Pause")],
        edit=rename,
    )
    with agency_for(tmp_path / "a", seeded) as agency:
        done = sync_cli(agency)
        k = key(1, "tracker_status", "ds_tracker")
        message = "no column headed 'Status' (columns are found by their header in row 1; was it"
        line = next(r for r in runlog(agency) if r.get("key") == k)
        assert (line["outcome"], message in line["error"]) == ("failed", True)
        assert message in flat(done.err)
        assert message not in flat(done.out)
        assert done.code == 1
        # The ARI client's pause, on another spreadsheet, went through.
        assert ledger_states(agency)[key(2, "tracker_status", "ari_tracker")] == "applied"
        # A person fixes the header; the next run finishes the job.
        agency.emulators["google"].set_cell(DS, "Clients", "E1", "Status")
        assert sync_cli(agency).code == 0
        assert ledger_states(agency)[k] == "applied"


def test_a_request_withdrawn_after_the_sync_acted_is_reported_not_undone(
    tmp_path: Path, sandbox_env: None
) -> None:
    seeded = scenario(tmp_path / "s", [takedown(1, 1, "Cancellation")])
    with agency_for(tmp_path / "a", seeded) as agency:
        assert sync_cli(agency).code == 0
        before = world(agency)
        sf = agency.emulators["salesforce"]
        with sf.lock:
            sf.records["Takedown_Request__c"][request_id(1)]["Status__c"] = "Withdrawn"
        done = sync_cli(agency)
        # Exit codes speak of effects; a request waiting for a person is reported instead (a
        # standing problem must not fail every cron run).
        assert done.code == 0
        phrase = "status changed to 'Withdrawn' after the sync acted on it"
        assert phrase in flat(done.err)
        assert "Nothing is undone automatically" in flat(done.err)
        line = next(r for r in runlog(agency) if r.get("code") == "withdrawn_after_action")
        assert phrase in line["message"]
        after = world(agency)
        assert after["google"] == before["google"]  # nothing reverted, nothing added
        assert after["trello"] == before["trello"]
        # What was still owed (the removal and archives on the effective date) is on hold.
        states = ledger_states(agency)
        assert states[key(1, "tracker_remove", "ds_tracker")] == "on_hold"
        assert later_run_does_nothing(agency)


def later_run_does_nothing(agency: Agency) -> bool:
    writes = agency.http_writes()
    result = run(agency, TODAY.replace(year=2099))
    return result.outcomes == {} and agency.http_writes() == writes


# ----- the CLI's own input: config and credentials -----------------------------------------------
def cli_subprocess(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _config(tmp_path: Path, change: Callable[[str], str]) -> Path:
    """The sandbox config as a config outside the sandbox: approvers by user id."""
    text = (REPO / "config" / "sandbox.toml").read_text(encoding="utf-8")
    text = (
        text.replace('match_by = "name"\n', "")
        .replace('["Jeremy Bliesner"]', '["005000000000JBL"]')
        .replace('["Dustin Hunter"]', '["005000000000DHU"]')
        .replace('["Finance Team"]', '["005000000000FIN"]')
    )
    changed = change(text)
    assert changed != text
    path = tmp_path / "config.toml"
    path.write_text(
        changed.replace(
            'templates_dir = "templates"', f'templates_dir = "{REPO}/config/templates"'
        ),
        encoding="utf-8",
    )
    return path


def _one_clear_line(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, done.stderr
    for phrase in phrases:
        assert phrase in lines[0], (phrase, lines[0])


MALFORMED = [
    ("not TOML", lambda t: t.replace("[salesforce]\n", "[salesforce\n", 1), ("config.toml",)),
    ("wrong type", lambda t: t.replace("max_attempts = 5", 'max_attempts = "five"'),
     ("config.toml", "max_attempts")),
    ("unknown key", lambda t: t.replace("[trello]\n", "[trello]\nbord = 1\n", 1),
     ("config.toml", "bord")),
    ("missing key", lambda t: t.replace('spreadsheet_id = "sandbox-planner"\n', ""),
     ("config.toml", "sheets.planner.spreadsheet_id")),
    ("bad address", lambda t: t.replace('"west@simpli.fi"', '"west at simpli.fi"'),
     ("config.toml", "email.simplifi_to")),
]  # fmt: skip


@pytest.mark.parametrize(("case", "change", "phrases"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_config_exits_2_with_one_line_naming_file_and_key(
    tmp_path: Path, case: str, change: Callable[[str], str], phrases: tuple[str, ...]
) -> None:
    path = _config(tmp_path, change)
    _one_clear_line(cli_subprocess("--config", str(path), "--dry-run"), str(path), *phrases)


def test_a_missing_credential_file_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "key.json"
    path = _config(
        tmp_path,
        lambda t: re.sub(
            r'service_account_file = "[^"]*"', f'service_account_file = "{missing}"', t
        ),
    )
    done = cli_subprocess("--config", str(path), "--dry-run", env=SANDBOX_ENV)
    _one_clear_line(done, str(missing), "sheets.service_account_file")


def test_an_unreadable_credential_file_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    # A directory where the key file should be cannot be read by anyone, root included (a
    # mode-0 file can: the tests often run as root).
    key_file = tmp_path / "key.json"
    key_file.mkdir()
    path = _config(
        tmp_path,
        lambda t: re.sub(
            r'service_account_file = "[^"]*"', f'service_account_file = "{key_file}"', t
        ),
    )
    done = cli_subprocess("--config", str(path), "--dry-run", env=SANDBOX_ENV)
    _one_clear_line(done, str(key_file), "sheets.service_account_file")
    assert "cannot read" in done.stderr  # the unreadable branch, not "not a key file"


def test_a_missing_secret_variable_exits_2_naming_the_variable_and_key(tmp_path: Path) -> None:
    key_file = tmp_path / "key.json"
    write_service_account_file(key_file)

    def change(text: str) -> str:
        text = text.replace('"SANDBOX_TRELLO_TOKEN"', '"NO_SUCH_TOKEN_VAR"')
        return re.sub(
            r'service_account_file = "[^"]*"', f'service_account_file = "{key_file}"', text
        )

    done = cli_subprocess("--config", str(_config(tmp_path, change)), "--dry-run", env=SANDBOX_ENV)
    _one_clear_line(done, "NO_SUCH_TOKEN_VAR", "trello.token_env")


SANDBOX_ENV = {
    "SANDBOX_SF_USERNAME": "u",
    "SANDBOX_SF_PASSWORD": "p",
    "SANDBOX_SF_SECURITY_TOKEN": "t",
    "SANDBOX_TRELLO_API_KEY": "k",
    "SANDBOX_TRELLO_TOKEN": "t",
}


def test_a_config_naming_approvers_outside_the_sandbox_is_refused(tmp_path: Path) -> None:
    """Issue 15 defect 9: names only in the sandbox; a real org's config gives user ids."""
    text = (REPO / "config" / "sandbox.toml").read_text(encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"match_by = \"name\" is for the sandbox only") as err:
        load(path)
    assert err.value.key == "salesforce.approval.match_by"
    assert load(path, sandbox=True).salesforce.approval.match_by == "name"
    # Without the switch, a name where an id belongs is refused too, naming the key.
    path.write_text(text.replace('match_by = "name"\n', ""), encoding="utf-8")
    with pytest.raises(ConfigError, match="'Jeremy Bliesner' is not a Salesforce user id") as err:
        load(path)
    assert err.value.key == "salesforce.approval.first"


def test_the_example_config_names_no_approver_and_gives_user_ids(tmp_path: Path) -> None:
    """Issue 15 defect 9: the production example matches by id, with placeholder ids."""
    raw = tomllib.loads((REPO / "config" / "example.toml").read_text(encoding="utf-8"))
    chain = raw["salesforce"]["approval"]
    assert chain.get("match_by", "id") == "id"
    for role in ("first", "second", "finance"):
        assert all(len(v) in (15, 18) and v.isalnum() for v in chain[role]), chain[role]
