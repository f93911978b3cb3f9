"""Pure deciding: no I/O, no clock, no connector. Today is an argument.

The domain model, name comparison, the approval check, the planner and the wording of effects,
withdrawal and undo planning, generations of a request, and the go-live decisions (adoption,
the safety valve, shadow comparison).

May import: `sync.errors`, `sync.config` (the frozen model). Nothing of `sync.state`,
`sync.engine`, `sync.ops`, `sync.cli`, `connectors` or the emulators.
"""
