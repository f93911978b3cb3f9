"""`python -m sync`: the command line people and cron use.

Expected errors (bad config, missing credentials, a held lock, an unreachable service) end with
one clear line on stderr and a documented exit code, never a traceback. Heavy imports (the client
libraries, the emulators) happen only in the commands that need them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from sync.cli.parser import DEFAULT_CONFIG, build_parser, check_usage
from sync.clock import SYSTEM as SYSTEM_CLOCK
from sync.clock import Clock
from sync.errors import (
    ConfigError,
    LocalEnvironmentError,
    LockHeldError,
    SyncError,
    UnknownRequestError,
)
from sync.exitcodes import ExitCode

if TYPE_CHECKING:
    from sync.config.model import Config
    from sync.engine.request import RunRequest


class _HideSecrets(logging.Formatter):
    """No credential in a log line, whoever wrote it: at -vv urllib3 logs every request line
    and oauthlib the Trello key and token it signs with, and a traceback (`exc_info`,
    `stack_info`) can quote a URL or an exception holding one. So the whole formatted text is
    cleaned, not only the message: every secret read from the environment and every token a
    service issued during the run (`sync.config.secrets.remember_secret`), and credentials in
    URLs."""

    def format(self, record: logging.LogRecord) -> str:
        from sync.config.redaction import redact  # only once something is logged: --help stays fast

        return redact(super().format(record))


class _Redacting:
    """stdout or stderr with every write through the run's redactor: what the CLI prints (a
    stopped line quoting an upstream error, `log`, `status`) never shows a secret."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        from sync.config.redaction import redact

        self._stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_HideSecrets("%(levelname)s %(name)s: %(message)s"))
    handler.set_name("offboarding-sync")
    root = logging.getLogger()
    # Replace only our own handler (a second main() in one process, e.g. tests), keep others.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "offboarding-sync"]
    root.addHandler(handler)
    root.setLevel(level)
    if verbose < 2:
        for noisy in ("urllib3", "google", "mail.log", "asyncio"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    # They log the credentials they sign with at debug level; the filter is the second line.
    for signer in ("oauthlib", "requests_oauthlib"):
        logging.getLogger(signer).setLevel(logging.INFO)


# The commands that write to Salesforce, the sheets, the boards or the mail relay (unless
# --dry-run): the sandbox opens its emulators writable for these, and only these.
CHANGES_SERVICES = frozenset({"run", "serve", "undo"})


@contextmanager
def environment(args: argparse.Namespace) -> Iterator[tuple[Config, Mapping[str, str] | None]]:
    """The config and (for the sandbox) the emulator routes a command runs with."""
    if args.sandbox:
        from sync.sandbox.agency import open_sandbox

        # A command that changes the services opens the sandbox writable; every other one opens
        # it read-only, so it can never write back an older copy of their data (and a write it
        # attempted anyway is refused, not kept in memory as if done).
        changes = (args.command or "run") in CHANGES_SERVICES and not getattr(
            args, "dry_run", False
        )
        with open_sandbox(
            Path(args.sandbox_dir or ".sandbox"),
            scenario=Path(args.scenario) if args.scenario else None,
            config_path=Path(args.config) if args.config else None,
            writable=changes,
            clock=clock_for(args),
        ) as box:
            yield box.config, box.routes
        return
    path = args.config or os.environ.get("OFFBOARDING_SYNC_CONFIG") or DEFAULT_CONFIG
    if not Path(path).exists() and not args.config:
        raise ConfigError(
            f"no config file at {path}. Copy config/example.toml there and fill it in, pass "
            "--config PATH, or try the sandbox: python -m sync --sandbox"
        )
    from sync.config.loading import load

    yield load(path), None


def clock_for(args: argparse.Namespace) -> Clock:
    """The command's clock: the caller's (tests), with "today" pinned by `--as-of`."""
    base: Clock = getattr(args, "clock", None) or SYSTEM_CLOCK
    return base.as_of(getattr(args, "as_of", None))


def today_for(cfg: Config, clock: Clock) -> date:
    """The day a run plans for: `--as-of`, or today in the agency's time zone."""
    return clock.today(cfg.schedule.timezone)


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """The CLI. `clock` is for tests and embedders; a person's runs use the system clock."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.clock = clock
    setup_logging(args.verbose)
    command = args.command or "run"
    check_usage(parser, args, command)
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = cast(TextIO, _Redacting(out)), cast(TextIO, _Redacting(err))
    try:
        return _main(command, args)
    finally:
        sys.stdout, sys.stderr = out, err


def _main(command: str, args: argparse.Namespace) -> int:
    try:
        code = _dispatch(command, args)
        sys.stdout.flush()  # a reader gone away surfaces here, not at interpreter exit
        return code
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except UnknownRequestError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except LockHeldError as exc:
        print(f"not started: {exc}", file=sys.stderr)
        return ExitCode.LOCKED
    except LocalEnvironmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.ENVIRONMENT
    except SyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.FATAL
    except BrokenPipeError:
        # `status | head -3`: the reader has all it wanted. Python's documented recipe: point
        # stdout at devnull so the interpreter's last flush does not fail again, exit quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.PIPE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as exc:  # a bug outside a run: one line, exit 3, no traceback
        from sync.state.faults import classify

        fault = classify(exc, ledger=None)
        if fault is not None:  # the machine's own fault (a ledger `status` cannot read)
            print(f"error: {fault}", file=sys.stderr)
            return ExitCode.ENVIRONMENT
        logging.getLogger("sync.cli").debug("internal error", exc_info=True)
        print(
            f"internal error: {type(exc).__name__}: {exc} (-vv shows the traceback)",
            file=sys.stderr,
        )
        return ExitCode.FATAL


def _dispatch(command: str, args: argparse.Namespace) -> int:
    if command == "run":
        return cmd_run(args)
    if command == "serve":
        from sync.cli.serve import serve

        with environment(args) as (cfg, routes):
            return serve(cfg, routes, clock=clock_for(args))
    if command == "check":
        from sync.cli.check import run_check

        with environment(args) as (cfg, routes):
            return run_check(cfg, routes, out=sys.stdout)
    if command == "adopt":
        from sync.cli.adopt import adopt_command

        with environment(args) as (cfg, routes):
            return adopt_command(
                cfg,
                routes,
                clock=clock_for(args),
                before=args.approved_before,
                only=args.adopt_only,
                dry_run=args.adopt_dry_run,
                out=sys.stdout,
            )
    if command == "init":
        return cmd_init(args)
    if command == "undo":
        return cmd_undo(args)
    if command == "sandbox":
        from sync.cli.sandbox import sandbox_command

        return sandbox_command(args, clock_for(args))
    if command == "report":
        from sync.cli.report import report_command

        with environment(args) as (cfg, _routes):
            return report_command(cfg, args.html, now=clock_for(args).now())
    from sync.cli import reports

    with environment(args) as (cfg, _routes):
        if command == "log":
            return reports.log_command(
                cfg, args.run_id, failed=args.failed, limit=args.limit, out=sys.stdout
            )
        if command == "status":
            return reports.status_command(cfg, out=sys.stdout)
        return reports.resolve_command(cfg, args.key, sent=args.sent, out=sys.stdout)


def cmd_init(args: argparse.Namespace) -> int:
    """Credentials as a run finds them; with --sandbox, the sandbox's (and its sheet ids)."""
    from sync.cli.init import init_command, parse_sheet_args, sandbox_sheet_ids

    sheets = parse_sheet_args(args.sheet)
    if args.sandbox:
        with environment(args) as (cfg, routes):
            ids = {**sandbox_sheet_ids(cfg), **sheets}
            return init_command(
                cfg, routes, output=Path(args.output), sheets=ids, force=args.force, out=sys.stdout
            )
    import tomllib
    from importlib import resources

    from sync.config import defaults
    from sync.config.loading import from_dict, load

    # How to log in (the env var names) comes from --config, else the shipped example.
    if args.config:
        template = load(args.config)
    else:
        # Only the login settings matter; the example names no state folder of its own.
        with resources.as_file(defaults.packaged(defaults.EXAMPLE_CONFIG)) as example:
            raw = tomllib.loads(example.read_text(encoding="utf-8"))
            raw.setdefault("state_dir", "state")
            template = from_dict(raw, path=str(example), base_dir=str(example.parent))
    return init_command(
        template,
        None,
        output=Path(args.output),
        sheets=sheets,
        force=args.force,
        out=sys.stdout,
    )


def run_request(args: argparse.Namespace, cfg: Config) -> RunRequest:
    """The run the command line asks for: built once here, handed down whole."""
    from sync.engine.request import RunRequest

    clock = clock_for(args)
    return RunRequest(
        today=today_for(cfg, clock),
        only=getattr(args, "only", None),
        allow_backlog=getattr(args, "allow_backlog", False),
        include_adopted=getattr(args, "include_adopted", False),
        clock=clock,
    )


def cmd_run(args: argparse.Namespace) -> int:
    with environment(args) as (cfg, routes):
        request = run_request(args, cfg)
        if args.dry_run:
            return _dry_run(cfg, routes, request, args)
        from sync.cli.runner import locked_run
        from sync.ops.render import print_run

        result = locked_run(cfg, routes, request)
        if result.shadow_report:
            print(_shadow_text(result), end="")
            return ExitCode.OK
        print_run(result, sys.stdout, sys.stderr)
        page = cfg.resolve(cfg.report.html) if cfg.report.html else None
        if args.sandbox and page is not None and page.exists():
            print(f"\nThe ops lead's page: {page} (open it in a browser)")
        return result.exit_code


def cmd_undo(args: argparse.Namespace) -> int:
    from sync.cli.runner import locked_run, unlocked_run
    from sync.engine.request import UndoAsk
    from sync.ops.render import plan_text, print_run

    ask = UndoAsk(reason=args.reason.strip(), forced=args.force)
    with environment(args) as (cfg, routes):
        request = dataclasses.replace(
            run_request(args, cfg), only=args.request, dry_run=args.dry_run, undo=ask
        )
        if args.dry_run:
            result = unlocked_run(cfg, routes, request)
        else:
            result = locked_run(cfg, routes, request)
        if result.refused:
            print(f"not undone: {result.refused}", file=sys.stderr)
            return result.exit_code
        if result.fatal:
            print(f"error: {result.fatal}", file=sys.stderr)
            return ExitCode.FATAL
        if args.dry_run:
            print(plan_text(result.plan), end="")
            return ExitCode.OK
        print_run(result, sys.stdout, sys.stderr)
        return result.exit_code


def _dry_run(
    cfg: Config, routes: Mapping[str, str] | None, request: RunRequest, args: argparse.Namespace
) -> int:
    from sync.cli.runner import unlocked_run
    from sync.ops.render import plan_json, plan_text

    result = unlocked_run(cfg, routes, dataclasses.replace(request, dry_run=True))
    if result.fatal:
        print(f"error: {result.fatal}", file=sys.stderr)
        return ExitCode.FATAL
    # Each thing said once: the plan on stdout; with --json, what needs a person on stderr.
    if args.json:
        print(json.dumps(plan_json(result.plan, result.checks), indent=2))
        for f in result.plan.needs_person:
            print(f"needs a person: {f.label or f.request_id}: {f.message}", file=sys.stderr)
    else:
        print(plan_text(result.plan, result.checks, result.stop_reason), end="")
    return ExitCode.OK


def _shadow_text(result: object) -> str:
    from sync.engine.result import RunResult

    assert isinstance(result, RunResult)
    return (
        f'Shadow run {result.run_id} as of {result.today:%Y-%m-%d} (golive.mode = "shadow": '
        "nothing was written; the day's report goes to the operations lead once)\n\n"
        + result.shadow_report
    )
