"""Connectors: the only code that talks to the outside systems.

`base` (the protocols the engine relies on), `http` (the one requests-session injection point),
`retry` (the one retry policy), and one subpackage per system with the same shape: `connector`
(the I/O), the pure deciding beside it, and the translation of the client library's errors into
`sync.errors`.

May import: `sync.core.domain`, `sync.core.names`, `sync.config`, `sync.errors`, and (for the
journal of before-images) nothing of `sync.state` but through `connectors.base.Journal`. Never
the engine, the planner or any other decision of `sync.core`.
"""
