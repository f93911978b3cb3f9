"""Security, end to end: hostile values from Salesforce stay inert data everywhere they land, and
no credential, token or password reaches the run log, stdout or stderr.

- Sheets: every value is written as text; `=HYPERLINK(...)`, `+...`, `-...`, `@...` never become
  formulas.
- Email: a CR/LF in a client name or reason cannot add a header or a recipient.
- SOQL: a value put into a query (here `--only`, which joins the poll's id list) is escaped.
- Nothing from Salesforce is evaluated: `${...}`, `{...}` and `%(...)s` come out as typed.
- Secrets: every fake secret of the run (passwords, API key and token, the Google private key,
  the session and access tokens the emulators issued) is searched for in every output, in plain,
  URL-encoded and JSON-escaped form, with debug logging on and faults forcing error messages.
  The scanner is shown to catch a planted secret, so the test can fail.
"""

from __future__ import annotations

import io
import json
import logging
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from connectors.emulators.base import Request as EmuRequest
from connectors.emulators.scenarios.scenario import request_id
from sync.cli import app as cli
from sync.config.secrets import secret_from_env
from sync.errors import UnknownRequestError
from sync.sandbox.agency import KEY_FILE, SANDBOX_SECRETS
from tests.support.fixtures.sandbox import Agency
from tests.support.reliability import TODAY, agency_for, cli_on, run, runlog, scenario, takedown

HOSTILE_CLIENT = '=HYPERLINK("https://evil.example/x","click") ${reason} {id} %(x)s'
HOSTILE_REASON = "+1 555 0100; -2+3; @SUM(A1:A9); =1+1\r\nBcc: attacker@evil.example"
NEWLINE_CLIENT = "Evil Dealer\r\nBcc: attacker@evil.example\r\nSubject: pwned"
PLANNER, PLANNER_TAB = "sandbox-planner", "Cancellations & Pauses"
OFFBOARDING, OFFBOARDING_TAB = "sandbox-offboarding", "Offboarding"


def _hostile(data: dict[str, Any]) -> None:
    accounts = data["salesforce"]["records"]["Account"]
    accounts[1]["Name"] = HOSTILE_CLIENT
    accounts[2]["Name"] = NEWLINE_CLIENT


@pytest.fixture(scope="module")
def hostile_seed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scenario(
        tmp_path_factory.mktemp("hostile"),
        [
            takedown(1, 1, "Cancellation", Reason__c=HOSTILE_REASON, Effective_Date__c="{today}"),
            takedown(
                2, 2, "Cancellation", Reason__c="-DROP TABLE\n@here", Effective_Date__c="{today}"
            ),
        ],
        edit=_hostile,
    )


@pytest.fixture
def hostile(hostile_seed: dict[str, Any], tmp_path: Path, sandbox_env: None) -> Any:
    with agency_for(tmp_path / "a", hostile_seed) as agency:
        result = run(agency)
        assert result.fatal == ""
        yield agency


# ----- injection ---------------------------------------------------------------------------------
def test_formula_looking_values_land_in_the_sheets_as_text(hostile: Agency) -> None:
    google = hostile.emulators["google"]
    rows = google.rows(PLANNER, PLANNER_TAB)
    header = rows[0]
    row = next(i for i, r in enumerate(rows) if r and r[0] == request_id(1)) + 1
    client_cell = google.cell(PLANNER, PLANNER_TAB, f"{'ABCDEFG'[header.index('Client')]}{row}")
    reason_cell = google.cell(PLANNER, PLANNER_TAB, f"{'ABCDEFG'[header.index('Reason')]}{row}")
    assert client_cell == HOSTILE_CLIENT  # a plain string, never {"formula": ...}
    assert isinstance(reason_cell, str)
    assert reason_cell.startswith("+1 555 0100; -2+3; @SUM(A1:A9); =1+1")
    # And nowhere in any spreadsheet did a value from Salesforce become a formula.
    formulas = [
        (sid, tab, cell)
        for sid, book in google.snapshot()["spreadsheets"].items()
        for tab, content in book["sheets"].items()
        for row_ in (content["rows"] if isinstance(content, dict) else content)
        for cell in row_
        if isinstance(cell, dict)
    ]
    assert formulas == []
    off = google.rows(OFFBOARDING, OFFBOARDING_TAB)
    assert any(r[0] == request_id(2) and r[off[0].index("Reason")].startswith("-DROP") for r in off)


def test_a_newline_in_a_value_cannot_add_an_email_header_or_recipient(hostile: Agency) -> None:
    messages = hostile.outbox()
    assert messages
    allowed = set(hostile.config.email.simplifi_to) | set(hostile.config.email.manager_to)
    allowed |= set(hostile.config.email.tda_team_to) | set(hostile.config.email.seo_team_to)
    for m in messages:
        assert set(m.rcpt_tos) <= allowed
        msg = m.message
        assert msg["Bcc"] is None
        assert len(msg.get_all("Subject") or []) == 1
        assert "attacker@evil.example" not in str(msg["To"])
        assert "\n" not in str(msg["Subject"])
        assert "\r" not in str(msg["Subject"])
        raw_headers = m.data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        assert not re.search(r"(?im)^(bcc|cc):", raw_headers)
    notice = next(m for m in messages if "Evil Dealer" in str(m.message["Subject"]))
    assert "pwned" in str(notice.message["Subject"])  # folded into the one Subject, as text


def test_nothing_from_salesforce_is_evaluated(hostile: Agency) -> None:
    notice = next(m for m in hostile.outbox() if "HYPERLINK" in m.body)
    # ${reason}, {id} and %(x)s came from Salesforce: they are printed, not filled in.
    assert HOSTILE_CLIENT in notice.body
    comments = [
        c
        for board in hostile.emulators["trello"].snapshot()["boards"]
        for card in board["cards"]
        for c in card["comments"]
    ]
    assert any(HOSTILE_CLIENT in c["text"] for c in comments)
    google = hostile.emulators["google"]
    assert any(HOSTILE_CLIENT in row for row in google.rows(PLANNER, PLANNER_TAB))
    request = hostile.emulators["salesforce"].record(request_id(1))
    assert "HYPERLINK" not in str(request["Sync_Message__c"])  # no value of ours echoed back


def test_a_value_put_into_soql_is_escaped(
    hostile_seed: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    with agency_for(tmp_path / "a", hostile_seed) as agency:
        sent: list[str] = []

        def record(req: EmuRequest) -> None:
            sent.extend(req.query.get("q", []))

        agency.emulators["salesforce"].on_request(record, method="GET", path="/query", times=-1)
        attack = "x') OR Name != ('"
        # Salesforce parsed the query (a MALFORMED_QUERY would be a FatalError) and it matched
        # nothing: `--only` names no request, a usage error, and nothing was acted on.
        with pytest.raises(UnknownRequestError):
            run(agency, only=attack)
        assert agency.http_writes() == 0
        where = "WHERE Name = 'x\\') OR Name != (\\'' ORDER BY"
        assert any(where in q for q in sent), sent


# ----- secrets -----------------------------------------------------------------------------------
def secrets_of(agency: Agency) -> dict[str, str]:
    """Every secret the run used or was given, by name."""
    found = {k: v for k, v in SANDBOX_SECRETS.items() if v}
    key = json.loads((agency.directory / KEY_FILE).read_text(encoding="utf-8"))
    found["google private_key_id"] = key["private_key_id"]
    body = [ln for ln in key["private_key"].splitlines() if ln and not ln.startswith("-----")]
    for i, line in enumerate(body):
        found[f"google private key line {i}"] = line
    for name in ("salesforce", "google"):
        for i, token in enumerate(agency.emulators[name].tokens):
            found[f"{name} token {i}"] = token
    return found


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """Names of the secrets that appear in `text`, as typed, URL-encoded or JSON-escaped."""
    out = []
    for name, value in secrets.items():
        forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
        if any(f and f in text for f in forms):
            out.append(name)
    return out


def test_the_scanner_catches_a_planted_secret(
    hostile_seed: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    with agency_for(tmp_path / "a", hostile_seed) as agency:
        run(agency)
        secrets = secrets_of(agency)
        assert len(secrets) > 10
        clean_log = (agency.config.state_path / "runs.jsonl").read_text(encoding="utf-8")
        assert leaks(clean_log, secrets) == []
        token = next(v for k, v in secrets.items() if k.startswith("salesforce token"))
        planted = clean_log + json.dumps({"error": f"GET /x?sid={quote(token)}"})
        assert leaks(planted, secrets) == ["salesforce token 0"]
        assert leaks("key=sandbox-trello-key&token=sandbox-trello-token", secrets) == [
            "SANDBOX_TRELLO_API_KEY",
            "SANDBOX_TRELLO_TOKEN",
        ]


def test_no_secret_in_the_run_log_stdout_or_stderr(
    hostile_seed: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    with agency_for(tmp_path / "a", hostile_seed) as agency:
        emus = agency.emulators
        # Faults force error messages (with URLs) through every connector's error paths.
        emus["trello"].add_fault("500", method="GET", path=r"/cards/open|/batch$", times=1)
        emus["trello"].add_fault("503", method="PUT", path=r"^/1/cards/", times=-1)
        emus["google"].add_fault("429", method="POST", path=r":batchUpdate$", times=1)
        emus["google"].add_fault("expired", method="POST", path=r":batchUpdate$", times=1)
        emus["salesforce"].add_fault("expired", method="PATCH", times=1)
        emus["salesforce"].add_fault("500", method="PATCH", times=1)
        emus["smtp"].fail_next(451, times=1)
        outputs: dict[str, str] = {}
        as_of = ["--as-of", TODAY.isoformat()]
        for argv in ([*as_of, "-vv"], [*as_of, "-vv", "--dry-run"], ["log"], ["status"],
                     ["log", "last"]):  # fmt: skip
            out, err = io.StringIO(), io.StringIO()
            with cli_on(agency) as main, redirect_stdout(out), redirect_stderr(err):
                main(argv)
            outputs[f"stdout of {argv}"] = out.getvalue()
            outputs[f"stderr of {argv}"] = err.getvalue()
        outputs["run log"] = (agency.config.state_path / "runs.jsonl").read_text(encoding="utf-8")
        # The run really went through the error paths and debug logging.
        assert "503" in outputs["run log"]
        assert "DEBUG" in outputs[f"stderr of {[*as_of, '-vv']}"]
        assert any(r.get("retries") for r in runlog(agency) if r["type"] == "run")
        secrets = secrets_of(agency)
        found = {where: leaks(text, secrets) for where, text in outputs.items()}
        assert found == {where: [] for where in outputs}


def test_a_library_logging_a_secret_is_redacted_on_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second line of defence: whatever a library logs, a secret the sync read, or a
    credential in a URL, is hidden before it reaches stderr."""
    monkeypatch.setenv("RELIABILITY_TEST_SECRET", "s3cr3t-value-42")
    secret = secret_from_env("RELIABILITY_TEST_SECRET", what="test secret", key="test.key")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    err = io.StringIO()
    try:
        with redirect_stderr(err):
            cli.setup_logging(2)
            logging.getLogger("some.library").debug(
                "signing with %s for GET /x?key=k1&token=%s", secret, "t0k3n"
            )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    text = err.getvalue()
    assert "signing with *** for GET /x?key=***&token=***" in text
    assert leaks(text, {"secret": secret, "token": "t0k3n", "key": "key=k1"}) == []


def _stderr_of_the_cli(agency: Agency, then: Any) -> str:
    """stderr of `python -m sync -vv` (in-process) and of what `then()` logs after it, through
    the CLI's own log handler."""
    err = io.StringIO()
    with cli_on(agency) as main, redirect_stdout(io.StringIO()), redirect_stderr(err):
        main(["-vv", "--as-of", TODAY.isoformat()])
        then()
    return err.getvalue()


def test_a_traceback_holding_a_secret_is_redacted(
    hostile_seed: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    """`exc_info` and `stack_info` are formatted after the message: they are cleaned too."""
    with agency_for(tmp_path / "a", hostile_seed) as agency:
        password = SANDBOX_SECRETS["SANDBOX_SF_PASSWORD"]

        def log_a_traceback() -> None:
            try:
                raise RuntimeError(f"login refused for password={password} token=abc123")
            except RuntimeError:
                logging.getLogger("some.library").exception("login failed")
            logging.getLogger("some.library").warning(
                "retrying with %s", "the same login", stack_info=True
            )

        text = _stderr_of_the_cli(agency, log_a_traceback)
        assert "Traceback (most recent call last)" in text  # the traceback was logged
        assert "RuntimeError: login refused for password=*** token=***" in text
        assert "Stack (most recent call last)" in text
        assert leaks(text, secrets_of(agency)) == []
        assert leaks(text, {"token in the traceback": "abc123"}) == []


def test_tokens_issued_during_the_run_are_redacted(
    hostile_seed: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    """The Salesforce session id from the login and the Google access token the run was issued
    are secrets too, though no config names them: a library logging one shows `***`."""
    with agency_for(tmp_path / "a", hostile_seed) as agency:
        issued: dict[str, str] = {}

        def log_the_tokens() -> None:
            sf_token = next(iter(agency.emulators["salesforce"].tokens))
            google_token = next(iter(agency.emulators["google"].tokens))
            issued.update({"salesforce session id": sf_token, "google token": google_token})
            lib = logging.getLogger("some.library")
            lib.debug("Authorization: Bearer %s", sf_token)
            lib.debug("refreshed the access token: %s", google_token)
            try:
                raise ValueError(f"bad answer for session {sf_token}")
            except ValueError:
                lib.exception("call failed")

        text = _stderr_of_the_cli(agency, log_the_tokens)
        assert "DEBUG some.library: Authorization: Bearer ***" in text
        assert "DEBUG some.library: refreshed the access token: ***" in text
        assert "ValueError: bad answer for session ***" in text
        assert leaks(text, issued) == []
        assert leaks(text, secrets_of(agency)) == []
