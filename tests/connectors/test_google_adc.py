"""Google credentials without a key file in config: Application Default Credentials.

`google.auth.default()` finds credentials the way Google's libraries do everywhere (workload
identity on GCP, `gcloud auth application-default login`, or $GOOGLE_APPLICATION_CREDENTIALS).
Here ADC is pointed at a generated key file through the environment variable, and the token
grant goes to the emulator's token endpoint, as the real one would."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from connectors.emulators.sheets.keys import ServiceAccountKey
from connectors.emulators.sheets.server import GoogleEmulator
from connectors.retry import RetryPolicy
from connectors.sheets.connector import SheetsConnector
from sync.config.model import Config
from sync.errors import CredentialError


def _adc(config: Config) -> Config:
    sheets = dataclasses.replace(config.sheets, credentials="adc", service_account_file="")
    return dataclasses.replace(config, sheets=sheets)


def test_adc_reads_every_sheet_with_the_key_named_by_the_environment(
    config: Config,
    google_key: ServiceAccountKey,
    google_emulator: GoogleEmulator,
    google_routes: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(google_key.path))
    connector = SheetsConnector(_adc(config), routes=google_routes, retry=RetryPolicy())
    try:
        problems = connector.check()
        # Every spreadsheet opened; the test emulator has no Sync Log tab, nothing else missing.
        assert [p for p in problems if not p.startswith(("note:", "sheets.sync_log"))] == []
    finally:
        connector.close()
    assert connector.client_email == google_key.client_email
    token_grants = [c for c in google_emulator.calls if c.path.endswith("/token")]
    assert token_grants, "the token came from the emulator's token endpoint"


def test_adc_without_any_credentials_is_a_clear_credential_error(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(CredentialError, match=r"sheets\.credentials"):
        SheetsConnector(_adc(config), routes={}, retry=RetryPolicy())
