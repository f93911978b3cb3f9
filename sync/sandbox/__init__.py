"""The sandbox: the whole product on an emulated agency (`--sandbox`), and `sandbox show`.

Starts the emulators in-process and points a config at them. May import the emulators,
`sync.config`, `sync.state`, `sync.core`, `sync.ops.render`. Only `sync.cli` imports it.
"""
