"""The process exit codes, documented in `--help` and README.md (kept apart so the CLI can
answer `--help` without importing the engine)."""

EXIT_OK = 0
EXIT_EFFECTS_FAILED = 1
EXIT_USAGE = 2
EXIT_FATAL = 3
EXIT_LOCKED = 4
EXIT_PIPE = 141  # stdout's reader went away (`| head`), as for a tool killed by SIGPIPE
