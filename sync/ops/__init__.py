"""What people and monitors are told: alerts, heartbeat, metrics, morning summary, rendering.

May import: `sync.core`, `sync.state`, `sync.config`, `sync.errors`, and the engine's result
value (`sync.engine.result`). Not the CLI, not connectors.
"""
