"""The product end to end: the CLI, the sandbox, the engine, go-live, undo, operations,
deployment, packaging, the repository itself."""
