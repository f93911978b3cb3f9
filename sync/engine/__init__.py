"""One run: poll Salesforce, plan, apply effect by effect, record, and the run's result.

The run itself, its request and result, the journal connectors write before-images through,
go-live around the planner, undo runs, building connectors from config (wiring), and the
runner cron and `serve` share.

May import: `sync.core`, `sync.state`, `sync.config`, `sync.ops`, `sync.errors`,
`sync.exitcodes` and `connectors` (the connectors it drives). Not `sync.cli`.
"""
