"""No secret in any output, when an upstream error quotes one (#25, item 4).

Trial: a Salesforce error echoing the session id of its Authorization header landed in the run
log, the ledger, the stopped line on stderr, the alert email, the heartbeat body sent to the
outside monitor and the shared Sheets Sync Log row; redaction covered log lines only. Here the
emulators echo the credentials of the requests they refuse (Salesforce the session id, Trello
the key and token of its Authorization header), through an effect's failure and through a
fatal poll, and every output is searched for every secret in every form.
"""

from __future__ import annotations

import dataclasses
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import vcr.serializers.jsonserializer as serializer
from vcr.request import Request

from sync.config.model import HeartbeatConfig, MetricsConfig
from sync.config.redaction import REDACTOR
from sync.config.secrets import remember_secret
from tests.support.fixtures.cassettes import EMULATOR, Scrubber, ScrubbingPersister
from tests.support.fixtures.sandbox import Agency
from tests.support.reliability import (
    SYNC_LOG_TAB,
    TODAY,
    agency_for,
    cli_on,
    core_requests,
    scenario,
)
from tests.system.test_heartbeat import Monitor
from tests.system.test_security import leaks, secrets_of


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scenario(tmp_path_factory.mktemp("echo"), core_requests())


def _cli(agency: Agency, outputs: dict[str, str], name: str, *argv: str) -> int:
    out, err = io.StringIO(), io.StringIO()
    with cli_on(agency) as main, redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    outputs[f"stdout of {name}"] = out.getvalue()
    outputs[f"stderr of {name}"] = err.getvalue()
    return code


def test_an_upstream_error_quoting_a_credential_reaches_no_output(
    seeded: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    monitor = Monitor()
    try:
        with agency_for(tmp_path / "a", seeded) as agency:
            metrics = tmp_path / "metrics.prom"
            agency.config = dataclasses.replace(
                agency.config,
                heartbeat=HeartbeatConfig(url=monitor.url, timeout_seconds=5),
                metrics=MetricsConfig(textfile=str(metrics)),
            )
            sf, trello = agency.emulators["salesforce"], agency.emulators["trello"]
            # 1. effects fail with the credential in their error: the write-backs and archives
            sf.add_fault("echo", method="PATCH", times=-1)
            trello.add_fault("echo", method="PUT", path=r"^/1/cards/", times=-1)
            outputs: dict[str, str] = {}
            as_of = ("--as-of", TODAY.isoformat())
            assert _cli(agency, outputs, "the failing run", *as_of) == 1
            # 2. the poll itself fails: the run stops, with the credential in its reason
            sf.clear_faults()
            sf.add_fault("echo", method="GET", path="/query", times=-1)
            assert _cli(agency, outputs, "the stopped run", *as_of) != 0
            _cli(agency, outputs, "log", "log", "--failed")
            _cli(agency, outputs, "status", "status")

            state = agency.config.state_path
            outputs["run log"] = (state / "runs.jsonl").read_text(encoding="utf-8")
            outputs["ledger"] = (state / "ledger.sqlite3").read_bytes().decode("latin-1")
            outputs["metrics"] = metrics.read_text(encoding="utf-8")
            outputs["heartbeat bodies"] = "\n".join(p.body for p in monitor.pings)
            outputs["emails"] = "\n".join(
                f"{m.message['Subject']}\n{m.body}" for m in agency.outbox()
            )
            rows = agency.emulators["google"].rows("sandbox-planner", SYNC_LOG_TAB)
            outputs["Sync Log"] = "\n".join(" | ".join(r) for r in rows)

            # The echo went through every path: the failures and the stop quote the refusal.
            assert "INVALID_HEADER_TYPE" in outputs["run log"]
            assert "cannot serve" in outputs["emails"]
            assert "cannot serve" in outputs["heartbeat bodies"]
            assert "cannot serve" in outputs["Sync Log"]
            assert "cannot serve" in outputs["stderr of the stopped run"]
            assert "cannot serve" in outputs["ledger"]
            secrets = secrets_of(agency)
            found = {where: leaks(text, secrets) for where, text in outputs.items()}
            assert found == {where: [] for where in outputs}
    finally:
        monitor.close()


def test_a_cassette_hides_a_secret_its_scrubber_did_not_learn(tmp_path: Path) -> None:
    """The cassette persister's last pass is the run's redactor."""
    remember_secret("run-only-s3cret-0042")
    try:
        persister = ScrubbingPersister(Scrubber(), recorded_from=EMULATOR)
        request = Request("GET", "https://api.trello.com/1/x", b"", {})
        response = {
            "status": {"code": 400, "message": "Bad Request"},
            "headers": {},
            "body": {"string": "refused: run-only-s3cret-0042"},
        }
        path = tmp_path / "c.json"
        persister.save_cassette(str(path), {"requests": [request], "responses": [response]},
                                serializer)  # fmt: skip
        text = path.read_text(encoding="utf-8")
        assert "run-only-s3cret-0042" not in text
        assert "refused: ***" in text
    finally:
        REDACTOR.forget_all()
