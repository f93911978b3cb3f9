"""The command line: one parser (`parser`), the entry point (`app`), one module per command.

The only layer that prints. May import everything below it: `sync.engine`, `sync.ops`,
`sync.state`, `sync.config`, `sync.core`, `sync.sandbox`, `connectors` (for `check` and `init`).
Nothing imports the CLI.
"""
