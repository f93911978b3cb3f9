"""Google's token endpoint failing: bounded, never retried inside google-auth, worded as what it is.

Trial: a permanent HTTP 500 from the token endpoint cost ~182 s a run (90+ token requests:
google-auth's own three attempts under each of the sync's five, for every spreadsheet), and
the run log said Google had refused the service account.
"""

from __future__ import annotations

import pytest

from connectors.emulators.sheets.server import GoogleEmulator
from connectors.http import build_session
from connectors.retry import RetryPolicy
from connectors.sheets.connector import SheetsConnector
from connectors.sheets.token import TokenEndpointError, TokenRequest, describe
from sync.config.model import Config
from sync.core.domain import Effect, EffectKind, OutcomeStatus
from tests.support.fixtures.common import RecordingJournal
from tests.support.fixtures.google import make_effect, make_request

KINDS = {
    "planner": EffectKind.PLANNER_ADD,
    "offboarding": EffectKind.OFFBOARDING_ADD,
    "ds_tracker": EffectKind.TRACKER_STATUS,
    "monthly": EffectKind.MONTHLY_RECORD,
}


def _effects(n: int) -> list[Effect]:
    """Effects on four spreadsheets: one call each, were auth to work."""
    return [make_effect(k, t, make_request(i)) for i, (t, k) in enumerate(KINDS.items(), 1)][:n]


def test_google_auth_does_not_retry_a_500_by_itself(
    google_emulator: GoogleEmulator, google_routes: dict[str, str]
) -> None:
    google_emulator.add_fault("500", method="POST", path="^/token$", times=-1)
    request = TokenRequest(session=build_session(google_routes))
    with pytest.raises(TokenEndpointError) as caught:
        request("https://oauth2.googleapis.com/token", method="POST", body=b"grant_type=x")
    assert caught.value.status == 500
    assert caught.value.google_fault
    assert google_emulator.count("POST", "^/token$") == 1


def test_a_permanent_500_is_bounded_and_worded_as_googles_fault(
    sheets_config: Config, google_emulator: GoogleEmulator, google_routes: dict[str, str]
) -> None:
    google_emulator.add_fault("500", method="POST", path="^/token$", times=-1)
    waits: list[float] = []
    connector = SheetsConnector(sheets_config, routes=google_routes,
                                retry=RetryPolicy(sleep=waits.append))  # fmt: skip
    try:
        outcomes = list(connector.apply(_effects(4), RecordingJournal()))
    finally:
        connector.close()
    assert {o.status for o in outcomes} == {OutcomeStatus.FAILED}
    # One call's retries (5 attempts), then the endpoint is known to be down for this run.
    assert google_emulator.count("POST", "^/token$") == 5
    assert sum(waits) <= 15
    for o in outcomes:
        assert "Google's token endpoint (oauth2.googleapis.com) answered HTTP 500" in o.message
        assert "not a refused service account" in o.message
        assert "refused the service account" not in o.message.replace("not a refused", "")


def test_a_refused_key_is_worded_as_a_refusal_and_not_retried(
    sheets_config: Config, google_emulator: GoogleEmulator, google_routes: dict[str, str]
) -> None:
    with google_emulator.lock:
        google_emulator.accounts.clear()  # the key was deleted at Google
    waits: list[float] = []
    connector = SheetsConnector(
        sheets_config, routes=google_routes, retry=RetryPolicy(sleep=waits.append)
    )
    try:
        outcomes = list(connector.apply(_effects(1), RecordingJournal()))
    finally:
        connector.close()
    assert waits == []
    assert google_emulator.count("POST", "^/token$") == 1
    assert "Google refused the service account" in outcomes[0].message


def test_the_wording_of_each_answer() -> None:
    down = TokenEndpointError(503, "", "Service unavailable")
    refused = TokenEndpointError(400, "invalid_grant", "Invalid JWT Signature.")
    assert describe(down, "sa@p.iam").startswith(
        "Google's token endpoint (oauth2.googleapis.com) answered HTTP 503 (Service unavailable)"
    )
    assert describe(refused, "sa@p.iam").startswith(
        "Google refused the service account sa@p.iam (invalid_grant: Invalid JWT Signature.)"
    )
