"""`--sandbox`: the whole product end to end on an emulated agency, with no account anywhere.

The emulators start in-process on free loopback ports; the real client libraries reach them
through the one injection point (routes on the requests session). The sandbox folder keeps
everything between runs, so a second run shows idempotency:

    DIR/emulators/<service>.json   the org, the spreadsheets, the boards, as the emulators hold
                                   them (salesforce, google, trello), each with a `.lock`
    DIR/google-service-account.json  a key generated for this sandbox (fake, never committed)
    DIR/state/                     the sync's state directory (ledger, run log, lock)
    DIR/outbox/*.eml               every message the sync sent
    DIR/sandbox.lock               held while a process seeds or opens the folder
    DIR/metrics.prom               the Prometheus textfile, when the config asks for one
    DIR/.offboarding-sandbox       the marker: `sandbox reset` deletes only a folder that has it
                                   (sync.sandbox.marker), and only what the sandbox made there

On first use DIR is seeded from the bundled scenario (or `--scenario FILE`), with dates relative
to that day. Every change an emulator acknowledges is written through to its file at once,
atomically, under an inter-process lock (`connectors.emulators.store` says how), so a killed run
loses nothing the sync was told was done, and commands that only read never write. DIR (when
the sandbox creates it), its folders and its files are 0700/0600.
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from sync.clock import SYSTEM as SYSTEM_CLOCK
from sync.clock import Clock
from sync.config import defaults
from sync.config.loading import load
from sync.config.model import Config
from sync.core.names import name_key
from sync.errors import ConfigError
from sync.exitcodes import ExitCode
from sync.sandbox import marker
from sync.state.faults import classify
from sync.state.private_files import open_private

STATE_DIR = "emulators"  # one <service>.json (and .lock) per emulator
STATEFUL = ("salesforce", "google", "trello")
LEGACY_SNAPSHOT = "emulators.json"  # the single file of earlier versions, migrated on open
SETUP_LOCK = "sandbox.lock"
KEY_FILE = "google-service-account.json"
OUTBOX = "outbox"
_TEMPORARY = re.compile(r"[.-](\d+)[.-]\d+\.tmp$")  # sync.state.private_files and the SMTP outbox

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
    from connectors.emulators.scenarios.loading import load_scenario

    bundled = resources.files("connectors.emulators.scenarios").joinpath("agency.json")
    with resources.as_file(bundled) as path:  # package data, wherever the package is installed
        data = _load(load_scenario, scenario, path, today)
    sf_user, trello_cred = _credentials()
    data["salesforce"].setdefault("users", []).append(sf_user)
    data["trello"]["credentials"] = [trello_cred]
    return data


def _load(
    load: Callable[[Path, date], dict[str, Any]], scenario: Path | None, bundled: Path, day: date
) -> dict[str, Any]:
    """A scenario a person gave that cannot be read or is not one: one line, never a bug's."""
    if scenario is None:
        return load(bundled, day)
    try:
        return load(scenario, day)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        raise ConfigError(f"--scenario {scenario}: {exc.strerror}; give a scenario file") from None
    except OSError as exc:
        raise classify(exc, ledger=None, what="scenario") or exc from None
    except (ValueError, UnicodeDecodeError) as exc:  # json.JSONDecodeError is a ValueError
        raise ConfigError(
            f"--scenario {scenario}: not a scenario ({exc}); a scenario is a UTF-8 JSON object "
            "like connectors/emulators/scenarios/agency.json"
        ) from None


def _new_emulators(clock: Clock = SYSTEM_CLOCK) -> dict[str, Any]:
    """The emulators, stamping records (`SystemModstamp`, Trello activity) from `clock`."""
    from connectors.emulators.salesforce.server import SalesforceEmulator
    from connectors.emulators.sheets.server import GoogleEmulator
    from connectors.emulators.trello.server import TrelloEmulator

    return {
        "salesforce": SalesforceEmulator(clock=clock.now),
        "google": GoogleEmulator(),
        "trello": TrelloEmulator(clock=clock.now),
    }


@contextmanager
def _running(
    emulators: dict[str, Any], directory: Path
) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """Start the HTTP emulators and an SMTP one delivering to DIR/outbox; stop them on exit."""
    from connectors.emulators.smtp.server import SmtpEmulator

    sf, google, trello = emulators["salesforce"], emulators["google"], emulators["trello"]
    smtp = SmtpEmulator(outbox=directory / OUTBOX)
    for em in (sf, google, trello):
        em.start()
    smtp.start()
    routes = {
        "salesforce.com": sf.base_url,
        "force.com": sf.base_url,
        "googleapis.com": google.base_url,
        "trello.com": trello.base_url,
    }
    try:
        yield {**emulators, "smtp": smtp}, routes
    finally:
        smtp.stop()
        for em in (sf, google, trello):
            em.stop()


@contextmanager
def start_emulators(
    data: Mapping[str, Any], directory: Path, *, clock: Clock = SYSTEM_CLOCK
) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """Start every emulator seeded with `data`, in memory only (tests, the benchmark); yield
    them and the routes to reach them. The outbox and the key file go to `directory`."""
    from connectors.emulators.sheets.server import write_service_account_file

    emulators = _new_emulators(clock)
    for name in STATEFUL:
        emulators[name].seed(data[name])
    key_file = directory / KEY_FILE
    if not key_file.exists():
        write_service_account_file(key_file)
    emulators["google"].trust_key_file(key_file)
    with _running(emulators, directory) as started:
        started[0]["smtp"].load_script(_smtp_answers(data))  # the relay's scripted replies
        yield started


def _smtp_answers(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A scenario's scripted SMTP replies (`"smtp": {"answers": [...]}`), if it has any."""
    smtp = data.get("smtp") or {}
    answers = smtp.get("answers", []) if isinstance(smtp, Mapping) else []
    return list(answers) if isinstance(answers, list) else []


def packaged_config() -> Config:
    """The sandbox config shipped with the package (installed wheels have no `config/`)."""
    with resources.as_file(defaults.packaged(defaults.SANDBOX_CONFIG)) as path:
        return load(path, sandbox=True)


def sandbox_config(
    base: Config,
    directory: Path,
    smtp_port: int,
    users: Iterable[Mapping[str, str]] = (),
) -> Config:
    """Everything that must live in the sandbox folder is put there, whatever `base` says.
    `users` (the emulated org's users) let a chain matched by name resolve each name to its
    one user id (see ApprovalChain.sandbox_users)."""
    metrics = base.metrics
    if metrics.textfile:
        textfile = str((directory / Path(metrics.textfile).name).resolve())
        metrics = dataclasses.replace(metrics, textfile=textfile)
    directory_of: dict[str, list[str]] = {}
    for u in users:
        directory_of.setdefault(name_key(str(u.get("name", ""))), []).append(
            str(u.get("user_id", ""))
        )
    sf = base.salesforce
    approval = dataclasses.replace(sf.approval, sandbox_users=directory_of)
    report = base.report
    if report.html:
        report = dataclasses.replace(
            report, html=str((directory / Path(report.html).name).resolve())
        )
    return dataclasses.replace(
        base,
        metrics=metrics,
        report=report,
        salesforce=dataclasses.replace(sf, approval=approval),
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
    directory: Path,
    *,
    scenario: Path | None = None,
    config_path: Path | None = None,
    writable: bool = True,
    clock: Clock = SYSTEM_CLOCK,
) -> Iterator[Sandbox]:
    """Seed DIR on first use (or resume it) and start the emulators on its state.

    With `writable` every change the emulators acknowledge is on disk before the client hears
    of it; without, the state is read (and followed as other processes change it) but never
    written, and a change asked of it anyway is refused (the mail relay refuses every message):
    `log`, `status`, `check`, `sandbox show` and dry runs open it so.

    A new sandbox is seeded as of `clock`'s today in the config's time zone (`--as-of D`
    seeds it as of D): its `{today+N}` dates are relative to the day its first run plans for.
    """
    from connectors.emulators.sheets.server import public_key_of, write_service_account_file
    from connectors.emulators.store import StateStore

    # Refuses a folder that holds anything but a sandbox; marks a new or empty one as ours.
    marker.claim(directory)
    for name, value in SANDBOX_SECRETS.items():
        os.environ.setdefault(name, value)
    base = load(config_path, sandbox=True) if config_path else packaged_config()
    seed_day = clock.today(base.schedule.timezone)
    emulators = _new_emulators(clock)
    stores = {
        name: StateStore(directory / STATE_DIR / f"{name}.json", writable=writable)
        for name in STATEFUL
    }
    with _setup_lock(directory):
        legacy = directory / LEGACY_SNAPSHOT
        seeded = legacy.exists() or any(st.path.exists() for st in stores.values())
        if seeded and scenario is not None:
            sys.stderr.write(
                f"note: {directory} is already seeded; --scenario is ignored "
                f"(`python -m sync sandbox reset` starts over)\n"
            )
        key_file = directory / KEY_FILE
        if not key_file.exists():
            write_service_account_file(key_file)
        account = public_key_of(key_file)
        first: dict[str, Any] = {}

        def seed(name: str) -> dict[str, Any]:
            if not first:
                if legacy.exists():
                    first.update(json.loads(legacy.read_text(encoding="utf-8")))
                else:
                    first.update(seed_data(scenario, seed_day))
                first["google"] = {**first["google"], "service_accounts": dict([account])}
            return dict(first[name])

        for name, store in stores.items():
            store.open(emulators[name], functools.partial(seed, name))
            store.attach(emulators[name])
        google = emulators["google"]
        if google.accounts.get(account[0]) != account[1]:  # the key file was replaced
            stores["google"].update(google, lambda: google.add_service_account(*account))
        if legacy.exists():
            legacy.unlink()  # its data now lives in DIR/emulators/
        _sweep_temporaries(directory)
    with _running(emulators, directory) as (started, routes):
        started["smtp"].load_script(_smtp_answers(first))  # the relay's scripted replies
        started["smtp"].read_only = not writable  # a read-only command sends nothing
        users = started["salesforce"].users.values()
        cfg = sandbox_config(base, directory, started["smtp"].port, users)
        yield Sandbox(cfg, routes, started, directory)


def saved_state(directory: Path) -> dict[str, Any]:
    """The emulators as saved in DIR (read-only, no server started): for tests and tools."""
    from connectors.emulators.store import StateStore

    emulators = _new_emulators()
    for name in STATEFUL:
        store = StateStore(directory / STATE_DIR / f"{name}.json", writable=False)
        if not store.load(emulators[name]):
            raise FileNotFoundError(f"{store.path}: this sandbox has not been seeded")
    return emulators


def _sweep_temporaries(directory: Path) -> None:
    """Remove the temporary files a killed process left (`.NAME.PID.THREAD.tmp` and
    `.incoming-PID-THREAD.tmp`): never read, but clutter. A live process's are left alone."""
    for folder in (directory / STATE_DIR, directory / OUTBOX):
        for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
            pid = _pid_in(tmp.name)
            if pid is not None and not _alive(pid):
                tmp.unlink(missing_ok=True)


def _pid_in(name: str) -> int | None:
    m = _TEMPORARY.search(name)
    return int(m.group(1)) if m else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


@contextmanager
def _setup_lock(directory: Path) -> Iterator[None]:
    """Two processes opening one new sandbox: one seeds it and makes its key, the other waits."""
    fd = open_private(directory / SETUP_LOCK, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def withdraw(directory: Path, request: str, clock: Clock) -> int:
    """What a person does in Salesforce when a client is saved late: the request leaves
    'Approved'. Only the emulated org changes (saved as its own changes are); the sync notices
    on its next run."""
    with open_sandbox(directory, clock=clock) as box:
        sf = box.emulators["salesforce"]
        field = box.config.salesforce.fields.status
        found: list[str] = []

        def change() -> None:
            for rec in sf.records.get(box.config.salesforce.object, {}).values():
                if request in (rec.get("Id"), rec.get("Name")):
                    rec[field] = "Withdrawn"
                    rec["SystemModstamp"] = rec["LastModifiedDate"] = _stamp(clock)
                    found.append(str(rec.get("Name") or rec["Id"]))
                    return

        sf.persistence.update(sf, change)
        if found:
            print(f"{found[0]}: {field} set to 'Withdrawn'")
            return ExitCode.OK
    print(f"no request named {request!r} in the sandbox", file=sys.stderr)
    return ExitCode.NOT_FOUND


def _stamp(clock: Clock) -> str:
    """Now, as Salesforce writes SystemModstamp."""
    return clock.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000")
