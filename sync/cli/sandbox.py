"""`python -m sync sandbox reset|withdraw|show`: the sandbox folder, as a new user handles it.

`reset` removes the folder (the next `--sandbox` run seeds it afresh), `withdraw` does what a
person does in Salesforce when a client is saved late, `show` prints the sheets, boards and
outbox as tables. The sandbox itself (seeding, the emulators, the config pointing at them) is
`sync.sandbox.agency`; its tables, `sync.sandbox.show`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sync.clock import SYSTEM as SYSTEM_CLOCK
from sync.clock import Clock
from sync.exitcodes import ExitCode
from sync.sandbox import marker
from sync.sandbox.agency import open_sandbox, withdraw
from sync.sandbox.show import show


def sandbox_command(args: argparse.Namespace, clock: Clock = SYSTEM_CLOCK) -> int:
    directory = Path(args.sandbox_dir or ".sandbox")
    if args.what == "reset":
        print(marker.reset(directory))
        return ExitCode.OK
    if args.what == "withdraw":
        return withdraw(directory, args.request or "", clock)
    with open_sandbox(
        directory,
        scenario=Path(args.scenario) if args.scenario else None,
        config_path=Path(args.config) if args.config else None,
        writable=False,
        clock=clock,
    ) as box:
        show(box, sys.stdout)
    return ExitCode.OK
