"""The offboarding sync: Salesforce approvals carried out in Sheets, Trello and email, exactly once.

Packages by concern, each may import only what its layer allows (contracts in pyproject.toml,
checked by `lint-imports`):

- `sync.core`: pure deciding (domain, approval, planner, withdrawal, undo, go-live decisions).
- `sync.config`: the config model, loading it, secrets, the packaged defaults.
- `sync.state`: what is kept on disk (ledger, adoption table, run log, lock, private files).
- `sync.engine`: one run: poll, plan, apply, record; go-live, undo runs, wiring.
- `sync.ops`: what people and monitors are told (alerts, heartbeat, metrics, morning summary).
- `sync.cli`: the command line, one module per command, and the runner they share.
- `sync.sandbox`: the emulated agency behind `--sandbox`.
- `sync.errors` (the one error tree) and `sync.exitcodes` (the process exit codes) are shared
  by every layer.
"""
