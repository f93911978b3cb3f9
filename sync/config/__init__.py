"""The configuration: the frozen model, loading and checking TOML, secrets, packaged defaults.

`model` (the dataclasses), `loading` (read, build, check), `build` (typed TOML-to-dataclass
builder), `secrets` (credentials from the environment or files), `defaults` (package data),
`from_org` (`init`'s pure mapping of what an org shows onto a config).

May import: `sync.errors`, `sync.core.names`. Nothing else of `sync`, no connector.
"""
