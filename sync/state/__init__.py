"""What the sync keeps on disk in its state directory, and how it keeps it safe.

The exactly-once ledger, the adoption table, the run log, the run lock, and the private-files
helper (owner-only files, atomic whole-file writes) every writer uses.

May import: `sync.core` (the data it stores), `sync.errors`, `sync.config`. Nothing of the
engine, ops, the CLI or connectors.
"""
