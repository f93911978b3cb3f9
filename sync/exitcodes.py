"""The process exit codes, documented in `--help` and docs/operations/commands.md, as one
`IntEnum` (after httpie's `ExitStatus`). Kept at the top of the package, apart from the CLI,
because the engine decides a run's code (`RunResult.exit_code`) and the CLI answers `--help`
without importing the engine."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    EFFECTS_FAILED = 1  # some effect failed or needs a person; the rest went through
    USAGE = 2  # a usage or configuration error: nothing was done
    FATAL = 3  # the run stopped (a service down, credentials refused, a shutdown asked for)
    LOCKED = 4  # another run holds the lock
    # The machine the sync runs on failed it: disk full, state folder read-only or not its
    # own, ledger locked by another process or damaged (sync.state.faults). Not a bug, not a
    # service: the one line on stderr names the path and what to do.
    ENVIRONMENT = 5
    INTERRUPTED = 130  # Ctrl-C, as a shell reports a process ended by SIGINT
    PIPE = 141  # stdout's reader went away (`| head`), as for a tool killed by SIGPIPE

    # The same numbers as other commands read them.
    PROBLEMS_FOUND = 1  # `check`: something the sync needs is missing
    NOT_FOUND = 2  # `log RUN_ID`, `resolve KEY`: no such run or effect
