"""One run: poll Salesforce, plan, apply effect by effect, record, and the run's result.

The run itself (`run`), its request and result, the journal connectors write through
(`journal`), go-live around the planner (`golive`), undo runs (`undo_runs`), and building the
connectors from config (`wiring`).

May import: `sync.core`, `sync.state`, `sync.config`, `sync.errors`, `sync.exitcodes` and
`connectors` (the connectors it drives). Not `sync.ops` (which reads the run's result), not
`sync.cli` (which drives it).
"""
