"""The one parser of the command line: every command, option and its help, in one table.

After httpie's `cli/definition.py`: what people can type is declared here and nowhere else;
`sync.cli.app` dispatches. Only argparse and the standard library, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
from datetime import date

DEFAULT_CONFIG = "config/config.toml"
EXIT_CODES = """exit codes:
  0    every effect of the run succeeded (or there was nothing to do)
  1    an effect failed, needs a person, or is unconfirmed (see the summary and `log --failed`)
  2    usage or configuration error, a missing credential included (nothing was done)
  3    the run could not finish: a service failed it, or SIGTERM stopped it early, or the
       safety valve stopped it before any write (a first run against an org, a backlog)
  4    another run holds the lock (nothing was done)
  5    the machine failed the run, not a bug: disk full, state folder read-only or not the
       sync's own, ledger locked by another process or damaged (the message says what to do)
  141  the reader of the output went away (e.g. `| head`)"""
RUN_ONLY = (
    "as_of",
    "dry_run",
    "json",
    "only",
    "allow_backlog",
    "include_adopted",
)  # options of a run, meaningless elsewhere


def _common(p: argparse.ArgumentParser, *, suppress: bool, sandbox_flag: bool = True) -> None:
    """Options valid before or after a subcommand, for every command (`sandbox` works on the
    sandbox already: it has no --sandbox)."""
    d = argparse.SUPPRESS if suppress else None
    p.add_argument(
        "--config",
        metavar="PATH",
        default=d,
        help=f"config file (default: $OFFBOARDING_SYNC_CONFIG or {DEFAULT_CONFIG}); with "
        "--sandbox or `sandbox show`, the config the emulated agency runs with "
        "(default: config/sandbox.toml)",
    )
    if sandbox_flag:
        p.add_argument(
            "--sandbox",
            action="store_true",
            default=d or False,
            help="run against the built-in emulated agency (no account needed)",
        )
    p.add_argument(
        "--sandbox-dir",
        metavar="DIR",
        default=d,
        help="with --sandbox or `sandbox`: where the sandbox keeps its state (default: .sandbox)",
    )
    p.add_argument(
        "--scenario",
        metavar="FILE",
        default=d,
        help="with --sandbox or `sandbox show`: seed a new sandbox from this scenario file",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=d or 0,
        help="more detail on stderr (-vv for debug)",
    )


def _run_options(p: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options of one run (the default command, or `run`)."""
    d = argparse.SUPPRESS if suppress else None
    p.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        type=_date,
        default=d,
        help="plan and run as if today were this date (previews and tests)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        default=d or False,
        help="print the plan (every effect per request: due, waiting and from when, skipped and "
        "why; what needs a person) and change nothing anywhere, the ledger included",
    )
    p.add_argument(
        "--json",
        action="store_true",
        default=d or False,
        help="with --dry-run: the plan as a JSON list of effects",
    )
    p.add_argument(
        "--only",
        metavar="REQUEST",
        default=d,
        help="act on one request, named by its Salesforce record id or its name (TR-00042); "
        "the poller's watermark stays put. An unknown one is a usage error (exit 2)",
    )
    p.add_argument(
        "--allow-backlog",
        action="store_true",
        default=d or False,
        help="act even when the safety valve would stop the run (a first run against an org, "
        "more than golive.max_requests_per_run requests, effective dates long past)",
    )
    p.add_argument(
        "--include-adopted",
        action="store_true",
        default=d or False,
        help="with --only: act on a request adopted at the cut-over (handled by people)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sync",
        description="Offboarding sync: acts on approved Takedown Requests exactly once across "
        "Google Sheets, Trello, email and Salesforce. Without a command: one run.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser, suppress=False)
    _run_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        _common(p, suppress=True, sandbox_flag=name != "sandbox")
        return p

    run_p = add("run", "one run: poll, plan, apply what is due, log, alert (the default)")
    _run_options(run_p, suppress=True)
    add("serve", "stay up and run on the configured schedule ([schedule] in the config)")
    log_p = add("log", "the last runs, or the effects of one run")
    log_p.add_argument("run_id", nargs="?", help="a run id from `log` (or 'last')")
    log_p.add_argument(
        "--failed",
        action="store_true",
        help="the effects of a run (default: the last) that failed, need a person or are "
        "unconfirmed",
    )
    log_p.add_argument(
        "--limit", type=_positive, default=20, help="how many runs to list (default 20)"
    )
    add("status", "every open request: done, owed (from when), needs a person")
    report_p = add(
        "report",
        "write the ops lead's page: one HTML file of health, what needs a person (with the "
        "commands), this week and next, open requests and recent runs, from the state alone",
    )
    report_p.add_argument("--html", metavar="PATH", required=True, help="where to write it")
    add("check", "validate config, credentials, sheets, tabs, headers, boards and the mail relay")
    resolve_p = add(
        "resolve",
        "settle a message a crash left unconfirmed; every effect the message carried (a digest "
        "covers several requests) is settled at once",
    )
    resolve_p.add_argument(
        "key",
        metavar="KEY_OR_MESSAGE_ID",
        help="any effect key of the message, as the report names it, or the message's Message-ID",
    )
    how = resolve_p.add_mutually_exclusive_group(required=True)
    how.add_argument("--sent", action="store_true", help="it went out: record it as done")
    how.add_argument("--resend", action="store_true", help="it did not: send it on the next run")
    adopt_p = add("adopt", "record requests approved before the cut-over as handled by people")
    adopt_p.add_argument(
        "--approved-before",
        metavar="YYYY-MM-DD",
        type=_date,
        help="the cut-over day (default: golive.approved_before)",
    )
    adopt_p.add_argument(
        "--only", dest="adopt_only", metavar="REQUEST", help="adopt this one request"
    )
    adopt_p.add_argument(
        "--dry-run", dest="adopt_dry_run", action="store_true", help="list what would be adopted"
    )
    init_p = add("init", "read the org and write a commented config.toml (TODOs for the rest)")
    init_p.add_argument(
        "--output", metavar="PATH", default=DEFAULT_CONFIG, help=f"default: {DEFAULT_CONFIG}"
    )
    init_p.add_argument(
        "--sheet",
        metavar="NAME=ID",
        action="append",
        default=[],
        help="a spreadsheet to read (NAME: ds_tracker, ari_tracker, planner, monthly, "
        "offboarding); repeat",
    )
    init_p.add_argument("--force", action="store_true", help="overwrite the output file")
    undo_p = add(
        "undo",
        "reverse what the sync did for a request withdrawn after it acted, exactly once",
    )
    undo_p.add_argument("request", help="the request's Salesforce record id or name (TR-00042)")
    undo_p.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        type=_date,
        default=argparse.SUPPRESS,
        help="plan and run as if today were this date (previews and tests)",
    )
    undo_p.add_argument(
        "--dry-run",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print the reversal's plan and change nothing anywhere, the ledger included",
    )
    undo_p.add_argument(
        "--force",
        action="store_true",
        help="undo a request that is still approved (approved by mistake); needs --reason",
    )
    undo_p.add_argument("--reason", default="", help="why (recorded; required with --force)")
    sandbox_p = add("sandbox", "show, reset or change the sandbox (see --sandbox)")
    sandbox_p.add_argument(
        "what",
        choices=["show", "reset", "withdraw"],
        help="show: its sheets, boards, outbox and requests as tables; reset: delete it, so the "
        "next --sandbox run seeds it afresh; withdraw REQUEST: set the request's status to "
        "'Withdrawn' in the emulated Salesforce, as a person would",
    )
    sandbox_p.add_argument("request", nargs="?", help="with withdraw: the request's name or id")
    return parser


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {value!r}")
    return n


def check_usage(parser: argparse.ArgumentParser, args: argparse.Namespace, command: str) -> None:
    """Every option given must mean something for the command it was given to."""
    if command == "undo":  # a run too, of one request's reversal
        given = [f"--{n}" for n in ("json", "only") if getattr(args, n, None)]
        if given:
            parser.error(f"{', '.join(given)} goes with a run, not with `undo`")
        if args.force and not args.reason.strip():
            parser.error("undo --force needs --reason TEXT (it is recorded)")
    elif command != "run":
        # `sandbox show|withdraw --as-of D`: a sandbox they create is seeded as of D.
        allowed = {"as_of"} if command == "sandbox" and args.what != "reset" else set()
        given = [
            f"--{n.replace('_', '-')}"
            for n in RUN_ONLY
            if getattr(args, n, None) and n not in allowed
        ]
        if given:
            parser.error(f"{', '.join(given)} goes with a run, not with `{command}`")
    elif args.json and not args.dry_run:
        parser.error("--json goes with --dry-run")
    elif args.include_adopted and not args.only:
        parser.error("--include-adopted goes with --only REQUEST")
    sandbox_only = [
        f"--{n.replace('_', '-')}" for n in ("sandbox_dir", "scenario") if getattr(args, n, None)
    ]
    if sandbox_only and not args.sandbox and command != "sandbox":
        parser.error(f"{', '.join(sandbox_only)} goes with --sandbox")
    if command == "sandbox" and args.what == "reset" and (args.config or args.scenario):
        parser.error("`sandbox reset` only deletes the sandbox folder: --config and --scenario "
                     "go with `sandbox show` or a --sandbox run")  # fmt: skip


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from None
