"""`--sandbox`: the whole product end to end on an emulated agency, with no account anywhere.

The emulators start in-process on free loopback ports; the real client libraries reach them
through the one injection point (routes on the requests session). The sandbox folder keeps
everything between runs, so a second run shows idempotency:

    DIR/emulators.json             the org, spreadsheets and boards, as the emulators hold them
    DIR/google-service-account.json  a key generated for this sandbox (fake, never committed)
    DIR/state/                     the sync's state directory (ledger, run log, lock)
    DIR/outbox/*.eml               every message the sync sent
    DIR/metrics.prom               the Prometheus textfile, when the config asks for one

On first use DIR is seeded from the bundled scenario (or `--scenario FILE`), with dates relative
to that day.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from sync import defaults
from sync.config import Config, load

SNAPSHOT = "emulators.json"
KEY_FILE = "google-service-account.json"

# Fake credentials, the same in every sandbox; the emulators accept only these.
SANDBOX_SECRETS = {
    "SANDBOX_SF_USERNAME": "sync@agency.sandbox",
    "SANDBOX_SF_PASSWORD": "sandbox-password",
    "SANDBOX_SF_SECURITY_TOKEN": "sandbox-security-token",
    "SANDBOX_TRELLO_API_KEY": "sandbox-trello-key",
    "SANDBOX_TRELLO_TOKEN": "sandbox-trello-token",
}


@dataclass
class Sandbox:
    config: Config
    routes: dict[str, str]
    emulators: dict[str, Any]
    directory: Path


def _credentials() -> tuple[dict[str, Any], dict[str, Any]]:
    sf_user = {
        "username": SANDBOX_SECRETS["SANDBOX_SF_USERNAME"],
        "password": SANDBOX_SECRETS["SANDBOX_SF_PASSWORD"],
        "security_token": SANDBOX_SECRETS["SANDBOX_SF_SECURITY_TOKEN"],
        "user_id": "005000000000SYN",
        "name": "Offboarding Sync",
    }
    trello = {
        "key": SANDBOX_SECRETS["SANDBOX_TRELLO_API_KEY"],
        "token": SANDBOX_SECRETS["SANDBOX_TRELLO_TOKEN"],
        "member": {
            "id": "5f0000000000000000000b07",
            "username": "offboardingsync",
            "fullName": "Offboarding Sync",
        },
    }
    return sf_user, trello


def seed_data(scenario: Path | None, today: date) -> dict[str, Any]:
    from connectors.emulators.scenario import load_scenario

    bundled = resources.files("connectors.emulators").joinpath("scenarios").joinpath("agency.json")
    with resources.as_file(bundled) as path:  # package data, wherever the package is installed
        data = load_scenario(scenario or path, today)
    sf_user, trello_cred = _credentials()
    data["salesforce"].setdefault("users", []).append(sf_user)
    data["trello"]["credentials"] = [trello_cred]
    return data


@contextmanager
def start_emulators(
    data: Mapping[str, Any], directory: Path
) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """Start every emulator seeded with `data`; yield them and the routes to reach them."""
    from connectors.emulators.google import GoogleEmulator, write_service_account_file
    from connectors.emulators.salesforce import SalesforceEmulator
    from connectors.emulators.smtp import SmtpEmulator
    from connectors.emulators.trello import TrelloEmulator

    sf, google, trello = SalesforceEmulator(), GoogleEmulator(), TrelloEmulator()
    sf.seed(data["salesforce"])
    google.seed(data["google"])
    trello.seed(data["trello"])
    key_file = directory / KEY_FILE
    if not key_file.exists():
        write_service_account_file(key_file)
    google.trust_key_file(key_file)
    smtp = SmtpEmulator(outbox=directory / "outbox")
    for em in (sf, google, trello):
        em.start()
    smtp.start()
    emulators = {"salesforce": sf, "google": google, "trello": trello, "smtp": smtp}
    routes = {
        "salesforce.com": sf.base_url,
        "force.com": sf.base_url,
        "googleapis.com": google.base_url,
        "trello.com": trello.base_url,
    }
    try:
        yield emulators, routes
    finally:
        smtp.stop()
        for em in (sf, google, trello):
            em.stop()


def packaged_config() -> Config:
    """The sandbox config shipped with the package (installed wheels have no `config/`)."""
    with resources.as_file(defaults.packaged(defaults.SANDBOX_CONFIG)) as path:
        return load(path)


def sandbox_config(base: Config, directory: Path, smtp_port: int) -> Config:
    """Everything that must live in the sandbox folder is put there, whatever `base` says."""
    metrics = base.metrics
    if metrics.textfile:
        textfile = str((directory / Path(metrics.textfile).name).resolve())
        metrics = dataclasses.replace(metrics, textfile=textfile)
    return dataclasses.replace(
        base,
        metrics=metrics,
        state_dir=str((directory / "state").resolve()),
        sheets=dataclasses.replace(
            base.sheets, service_account_file=str((directory / KEY_FILE).resolve())
        ),
        email=dataclasses.replace(
            base.email, host="127.0.0.1", port=smtp_port, security="none", username_env=""
        ),
    )


@contextmanager
def open_sandbox(
    directory: Path, *, scenario: Path | None = None, config_path: Path | None = None
) -> Iterator[Sandbox]:
    """Seed DIR on first use (or resume it), start the emulators, save their state on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    snapshot = directory / SNAPSHOT
    if snapshot.exists():
        if scenario is not None:
            sys.stderr.write(
                f"note: {directory} is already seeded; --scenario is ignored "
                f"(`python -m sync sandbox reset` starts over)\n"
            )
        data = json.loads(snapshot.read_text(encoding="utf-8"))
    else:
        data = seed_data(scenario, date.today())  # noqa: DTZ011 - the user's own calendar day
    for name, value in SANDBOX_SECRETS.items():
        os.environ.setdefault(name, value)
    base = load(config_path) if config_path else packaged_config()
    with start_emulators(data, directory) as (emulators, routes):
        cfg = sandbox_config(base, directory, emulators["smtp"].port)
        try:
            yield Sandbox(cfg, routes, emulators, directory)
        finally:
            state = {
                "salesforce": emulators["salesforce"].snapshot(),
                "google": {"spreadsheets": emulators["google"].snapshot()["spreadsheets"]},
                "trello": emulators["trello"].snapshot(),
            }
            tmp = snapshot.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
            tmp.replace(snapshot)


def sandbox_command(args: argparse.Namespace) -> int:
    directory = Path(args.sandbox_dir or ".sandbox")
    if args.what == "reset":
        if directory.exists():
            shutil.rmtree(directory)
        print(f"removed {directory}; the next --sandbox run seeds it afresh")
        return 0
    from sync.sandbox_show import show

    with open_sandbox(
        directory,
        scenario=Path(args.scenario) if args.scenario else None,
        config_path=Path(args.config) if args.config else None,
    ) as box:
        show(box, sys.stdout)
    return 0
