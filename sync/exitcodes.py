"""The process exit codes, documented in `--help` and README.md (kept apart so the CLI can
answer `--help` without importing the engine)."""

EXIT_OK = 0
EXIT_EFFECTS_FAILED = 1
EXIT_USAGE = 2
EXIT_FATAL = 3
EXIT_LOCKED = 4
