"""The cassettes themselves: no secret in any of them, none unused, and the machinery behind them
(scrubbing, matching, the playback rule, the network block) doing what it promises."""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from vcr.cassette import Cassette
from vcr.matchers import method
from vcr.request import Request

from sync.config.model import Config
from tests.support.cassette_plugin import (
    BOARD_ID_ENV,
    CASSETTES,
    CONNECTORS,
    REAL_ENV,
    REPO,
    CassetteRun,
    Mode,
    NetworkBlockedError,
    block_network,
    check_cassette,
    known_secrets,
    missing_real_credentials,
)
from tests.support.fixtures.cassettes import (
    EMULATOR,
    REAL_SERVICE,
    SOURCES,
    PrettyJSONSerializer,
    Scrubber,
    ScrubbingPersister,
    logical_request,
    make_vcr,
    scan,
)
from tests.support.fixtures.salesforce import SF_USER
from tests.support.fixtures.trello import TRELLO_KEY

ALL = sorted(CASSETTES.glob("*/*.json"))


def cassette_id(path: Path) -> str:
    return str(path.relative_to(CASSETTES))


# ----- the scan --------------------------------------------------------------------------------
def test_there_are_cassettes_for_every_connector() -> None:
    assert {p.parent.name for p in ALL} == set(CONNECTORS)


@pytest.mark.parametrize("path", ALL, ids=cassette_id)
def test_cassette_says_where_its_answers_came_from(path: Path) -> None:
    """An emulator's answers are not evidence about the service: every cassette says which."""
    assert json.loads(path.read_text(encoding="utf-8")).get("recorded_from") in SOURCES


def test_new_episodes_from_another_source_make_a_mixed_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    empty: dict[str, list[object]] = {"requests": [], "responses": []}
    ScrubbingPersister(Scrubber(), recorded_from=EMULATOR).save_cassette(
        str(path), empty, PrettyJSONSerializer
    )
    assert json.loads(path.read_text())["recorded_from"] == "emulator"
    ScrubbingPersister(Scrubber(), recorded_from=REAL_SERVICE).save_cassette(
        str(path), empty, PrettyJSONSerializer
    )
    assert json.loads(path.read_text())["recorded_from"] == "mixed"
    with pytest.raises(ValueError, match="recorded_from"):
        ScrubbingPersister(Scrubber(), recorded_from="memory")


@pytest.mark.parametrize("path", ALL, ids=cassette_id)
def test_cassette_holds_no_secret(path: Path) -> None:
    assert scan(path.read_text(encoding="utf-8"), known_secrets()) == []


SESSION_ID = "00D5g000004AgcyEAC!AQ4AQBmJ2uXq8Ld7Zr9KcPp.Tw3nV0sYfH1eG6aJ4bM"
PLANTED = {
    "known value": SF_USER["password"],
    "jwt": jwt.encode({"iss": "sync@real.iam.gserviceaccount.com", "exp": 1}, "k" * 32),
    "bearer": "Authorization: Bearer ya29.a0AfB_byC3realLookingAccessToken",
    "session id tag": f"<sessionId>{SESSION_ID}</sessionId>",
    "secret parameter": "https://api.trello.com/1/boards/b?key=0123456789abcdef0123456789abcdef",
    "oauth parameter": 'OAuth oauth_consumer_key="0123456789abcdef", oauth_token="ATTAxyz"',
    "json secret": '{"access_token": "00D5g000004Agcy!AQ4AQreal", "token_type": "Bearer"}',
    "pem block": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END PRIVATE KEY-----",
    "email": "Jeremy.Bliesner@digital-agency.com",
    "instance url": "https://digital-agency.my.salesforce.com/services/data/v59.0/",
}


@pytest.mark.parametrize("rule", PLANTED)
def test_the_scan_fails_on_a_planted_secret(rule: str, tmp_path: Path) -> None:
    """A real cassette, with one secret planted in a response body, no longer passes."""
    source = CASSETTES / "salesforce" / "TestLogin.test_password_login_then_read_only_check.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    planted = tmp_path / "planted.json"
    planted.write_text(PrettyJSONSerializer.serialize(data), encoding="utf-8")
    assert scan(planted.read_text(encoding="utf-8"), known_secrets()) == []
    data["interactions"][1]["response"]["body"]["string"] += PLANTED[rule]
    planted.write_text(PrettyJSONSerializer.serialize(data), encoding="utf-8")
    findings = scan(planted.read_text(encoding="utf-8"), known_secrets())
    assert rule in {found_rule for found_rule, _excerpt in findings}


# ----- hygiene ---------------------------------------------------------------------------------
def cassette_tests() -> set[tuple[str, str, str]]:
    """(connector, class, test) of every cassette test."""
    out = set()
    for connector in CONNECTORS:
        module = importlib.import_module(f"tests.connectors.test_cassettes_{connector}")
        for cls_name, cls in vars(module).items():
            if cls_name.startswith("Test") and isinstance(cls, type):
                out |= {(connector, cls_name, t) for t in vars(cls) if t.startswith("test_")}
    return out


def test_every_cassette_is_used_by_a_test() -> None:
    """An unused cassette (its test renamed or deleted) fails the run."""
    files = {(p.parent.name, *p.stem.split(".", 1)) for p in CASSETTES.rglob("*.json")}
    unused = sorted(files - cassette_tests())
    assert unused == [], f"cassettes no test uses (delete them): {unused}"
    stray = [p for p in CASSETTES.rglob("*") if p.is_file() and p.suffix != ".json"]
    assert stray == []


def test_every_cassette_test_has_its_cassette() -> None:
    missing = sorted(
        f"{c}/{cls}.{t}.json"
        for c, cls, t in cassette_tests()
        if not (CASSETTES / c / f"{cls}.{t}.json").is_file()
    )
    assert missing == [], "record them: pytest tests/connectors/test_cassettes_<connector>.py"


@pytest.mark.parametrize("path", ALL, ids=cassette_id)
def test_cassette_is_pretty_json_with_sorted_keys(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text == PrettyJSONSerializer.serialize(json.loads(text))


def run_for(path: Path, mode: Mode = Mode.REPLAY) -> CassetteRun:
    return CassetteRun("salesforce", path, mode, "none", Scrubber())


def test_a_cassette_test_that_plays_back_nothing_fails() -> None:
    path = CASSETTES / "salesforce" / "TestLogin.test_password_login_then_read_only_check.json"
    run = run_for(path)
    with make_vcr(run.scrubber, "none").use_cassette(str(path)) as cass:
        pass  # the code under test sent nothing
    assert isinstance(cass, Cassette)
    assert len(cass) == 4  # login, 2 describes, 1 query
    with pytest.raises(pytest.fail.Exception, match="this can be a unit test"):
        check_cassette(cass, run)


def test_replay_cannot_reach_the_network(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = block_network(request, monkeypatch)
    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("api.trello.com", 443)
    assert len(attempts) == 2
    attempts.clear()  # the block's own check would (rightly) fail this test otherwise


# ----- recording against the real services ------------------------------------------------------
def test_real_recording_needs_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REAL_ENV["trello"]:
        monkeypatch.delenv(name, raising=False)
    assert missing_real_credentials("trello") == [f"{n} is not set" for n in REAL_ENV["trello"]]
    for name in REAL_ENV["trello"]:
        monkeypatch.setenv(name, TRELLO_KEY)
    assert all("holds a test value" in p for p in missing_real_credentials("trello"))
    for name in REAL_ENV["trello"]:
        monkeypatch.setenv(name, f"real-looking-{name.lower()}")
    assert missing_real_credentials("trello") == []


def test_rewrite_refuses_to_start_and_keeps_the_cassettes() -> None:
    env = {k: v for k, v in os.environ.items() if k not in REAL_ENV["trello"] and k != "CI"}
    before = {p: p.stat().st_mtime_ns for p in CASSETTES.glob("trello/*.json")}
    args = [
        "tests/connectors/test_cassettes_trello.py",
        "--record-mode=rewrite",
        "-p",
        "no:cacheprovider",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert "SANDBOX_TRELLO_API_KEY is not set" in done.stderr
    assert {p: p.stat().st_mtime_ns for p in CASSETTES.glob("trello/*.json")} == before


def test_real_ids_are_recorded_under_the_sandbox_ids(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = "60c0ffee0000000000000abc"
    monkeypatch.setenv(BOARD_ID_ENV["tda"], real)
    run = CassetteRun("trello", CASSETTES / "x.json", Mode.REAL, "once", Scrubber())
    sandbox_id = config.trello.boards["tda"]
    assert run.configure(config).trello.boards["tda"] == real
    assert run.scrubber.scrub(f"/1/boards/{real}/cards") == f"/1/boards/{sandbox_id}/cards"
    assert run.scrubber.put_back(f"/1/boards/{sandbox_id}/cards") == f"/1/boards/{real}/cards"


# ----- scrubbing -------------------------------------------------------------------------------
def test_secrets_are_scrubbed_on_save_and_restored_on_load(tmp_path: Path) -> None:
    scrubber = Scrubber()
    scrubber.know("<PASSWORD>", "hunter2-real", restore=True)
    scrubber.know("<SECURITY_TOKEN>", "XyZsecTok9", restore=True)
    soap = (
        "<n1:username>jane@digital-agency.com</n1:username>"
        "<n1:password>hunter2-realXyZsecTok9</n1:password>"
    )
    req = Request("POST", "https://login.salesforce.com/services/Soap/u/59.0", soap, {})
    query = Request(
        "GET",
        "https://digital-agency.my.salesforce.com/services/data/v59.0/query/?q=SELECT+Id",
        None,
        {"Authorization": f"Bearer {SESSION_ID}"},
    )
    login_answer = (
        "<serverUrl>https://digital-agency.my.salesforce.com/services/Soap/u/59.0</serverUrl>"
        f"<sessionId>{SESSION_ID}</sessionId><userEmail>ops.lead@digital-agency.com</userEmail>"
    )
    responses = [
        {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": body}}
        for body in (login_answer.encode(), b"{}")
    ]
    path = tmp_path / "c.json"
    persister = ScrubbingPersister(scrubber, recorded_from=REAL_SERVICE)
    persister.save_cassette(
        str(path), {"requests": [req, query], "responses": responses}, PrettyJSONSerializer
    )
    text = path.read_text(encoding="utf-8")
    assert scan(text, {"hunter2-real", "XyZsecTok9", SESSION_ID}) == []
    for placeholder in ("<PASSWORD><SECURITY_TOKEN>", "<USERNAME>", "<SESSION_ID>", "<INSTANCE>"):
        assert placeholder in text
    assert "Bearer <SESSION_ID>" in text
    assert "<EMAIL>" in text  # another person's address

    assert json.loads(text)["recorded_from"] == "real service"
    requests, loaded = ScrubbingPersister(scrubber, recorded_from=EMULATOR).load_cassette(
        str(path), PrettyJSONSerializer
    )
    assert b"<n1:password>hunter2-realXyZsecTok9</n1:password>" in requests[0].body
    assert requests[1].uri.startswith("https://agency.my.salesforce.com/services/data/")
    assert (
        b"<sessionId>00DAg0000000REPLAY!replayed-session-id</sessionId>"
        in (loaded[0]["body"]["string"])
    )


# ----- matching --------------------------------------------------------------------------------
def matches(scrubber: Scrubber, live: Request, recorded: Request) -> bool:
    try:
        method(live, recorded)
        scrubber.match_uri(live, recorded)
        scrubber.match_body(live, recorded)
    except AssertionError:
        return False
    return True


def routed(method_name: str, host: str, path: str, body: str | None = None) -> Request:
    """A request as vcrpy sees it when it went to an emulator on some port."""
    return logical_request(
        Request(method_name, f"http://127.0.0.1:53117{path}", body, {"X-Forwarded-Host": host})
    )


def assertion(issued_at: int) -> str:
    claims = {"iss": "sa@p.iam.gserviceaccount.com", "iat": issued_at, "exp": issued_at + 3600}
    token = jwt.encode(claims, "k" * 32)
    return "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + token


SOAP = (
    "<env:Body>\n  <n1:login>\n    <n1:username>u@x.example</n1:username>\n"
    "  </n1:login>\n</env:Body>"
)
BATCH = {
    "requests": [
        {"addSheet": {"properties": {"sheetId": 1234567, "title": "Removed clients"}}},
        {"appendCells": {"sheetId": 1234567, "rows": [{"values": []}]}},
        {"updateCells": {"start": {"sheetId": 0}, "rows": [{"values": [{"v": "Cancelled"}]}]}},
    ]
}


def batch(**change: object) -> str:
    data = json.loads(json.dumps(BATCH))
    if "new_id" in change:
        data["requests"][0]["addSheet"]["properties"]["sheetId"] = change["new_id"]
        data["requests"][1]["appendCells"]["sheetId"] = change.get("append_to", change["new_id"])
    if "cell" in change:
        data["requests"][2]["updateCells"]["rows"][0]["values"][0]["v"] = change["cell"]
    return json.dumps(data)


BATCH_TEXT = batch()
HARMLESS = {
    "emulator port and query order": (
        routed("GET", "api.trello.com", "/1/boards/b/cards/open?fields=id&customFieldItems=true"),
        Request(
            "GET",
            "https://api.trello.com/1/boards/b/cards/open?customFieldItems=true&fields=id",
            None,
            {},
        ),
    ),
    "a JWT assertion's timestamps": (
        routed("POST", "oauth2.googleapis.com", "/token", assertion(1_790_000_000)),
        Request("POST", "https://oauth2.googleapis.com/token", assertion(1_790_003_600), {}),
    ),
    "SOAP login whitespace and login host": (
        Request("POST", "https://test.salesforce.com/services/Soap/u/59.0", SOAP, {}),
        Request(
            "POST", "https://login.salesforce.com/services/Soap/u/59.0", " ".join(SOAP.split()), {}
        ),
    ),
    "a new tab's random sheetId": (
        Request(
            "POST",
            "https://sheets.googleapis.com/v4/spreadsheets/s:batchUpdate",
            batch(new_id=99),
            {},
        ),
        Request(
            "POST", "https://sheets.googleapis.com/v4/spreadsheets/s:batchUpdate", BATCH_TEXT, {}
        ),
    ),
    "JSON key order and layout": (
        Request(
            "PATCH",
            "https://agency.my.salesforce.com/services/data/v59.0/composite/sobjects",
            '{"b": 1, "a": [1, 2]}',
            {},
        ),
        Request(
            "PATCH",
            "https://agency.my.salesforce.com/services/data/v59.0/composite/sobjects",
            '{\n "a": [1, 2],\n "b": 1\n}',
            {},
        ),
    ),
}
COMPOSITE = "https://agency.my.salesforce.com/services/data/v59.0/composite/sobjects"
PATCH_BODY = '{"allOrNone": false, "records": [{"id": "a0A1", "Sync_Status__c": "Synced"}]}'
REAL = {
    "method": (
        Request("PUT", COMPOSITE, PATCH_BODY, {}),
        Request("PATCH", COMPOSITE, PATCH_BODY, {}),
    ),
    "path": (
        Request("GET", "https://api.trello.com/1/boards/b/cards/closed", None, {}),
        Request("GET", "https://api.trello.com/1/boards/b/cards/open", None, {}),
    ),
    "a query value": (
        Request("GET", "https://api.trello.com/1/cards/c/actions?filter=all", None, {}),
        Request("GET", "https://api.trello.com/1/cards/c/actions?filter=commentCard", None, {}),
    ),
    "a Sheets batchUpdate cell": (
        Request(
            "POST",
            "https://sheets.googleapis.com/v4/spreadsheets/s:batchUpdate",
            batch(cell="Paused"),
            {},
        ),
        Request(
            "POST", "https://sheets.googleapis.com/v4/spreadsheets/s:batchUpdate", BATCH_TEXT, {}
        ),
    ),
    "a row copied to another tab": (
        Request(
            "POST",
            "https://sheets.googleapis.com/v4/spreadsheets/s:batchUpdate",
            batch(new_id=99, append_to=0),
            {},
        ),
        Request(
            "POST", "https://sheets.googleapis.com/v4/spreadsheets/s:batchUpdate", BATCH_TEXT, {}
        ),
    ),
    "a Salesforce composite PATCH body": (
        Request("PATCH", COMPOSITE, PATCH_BODY.replace("Synced", "Failed"), {}),
        Request("PATCH", COMPOSITE, PATCH_BODY, {}),
    ),
    "the emulated host": (
        routed("GET", "sheets.googleapis.com", "/1/boards/b/cards/open"),
        Request("GET", "https://api.trello.com/1/boards/b/cards/open", None, {}),
    ),
}


@pytest.mark.parametrize("case", HARMLESS)
def test_matching_survives_a_harmless_difference(case: str) -> None:
    live, recorded = HARMLESS[case]
    assert matches(Scrubber(), live, recorded)


@pytest.mark.parametrize("case", REAL)
def test_matching_catches_a_real_difference(case: str) -> None:
    live, recorded = REAL[case]
    assert not matches(Scrubber(), live, recorded)
