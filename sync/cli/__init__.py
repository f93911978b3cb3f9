"""The command line: the entry point (`app`), one module per command, and the `runner` the
run, undo and serve commands share (lock, connectors, run, then alerts and reports).

The only layer that prints. May import everything below it: `sync.engine`, `sync.ops`,
`sync.state`, `sync.config`, `sync.core`, `sync.sandbox`, `connectors` (for `check` and `init`).
Nothing imports the CLI.
"""
