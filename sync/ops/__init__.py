"""What people and monitors are told: alerts, heartbeat, metrics, morning summary, rendering.

May import: `sync.core`, `sync.state`, `sync.config`, `sync.errors`, and the engine (for the
run's result). Not the CLI, not connectors: what it sends goes through the connector it is
handed.
"""
