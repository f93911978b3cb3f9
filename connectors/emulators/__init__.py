"""Local emulators of the four services on 127.0.0.1, speaking each one's wire format.

`base` (the HTTP server, routing, scripted faults), `store` (durable state for the sandbox),
one subpackage per service (`salesforce`, `sheets`, `trello`, `smtp`), and `scenarios` (a whole
agency as JSON, and the code that builds and seeds it).

May import nothing of `sync` but `sync.state.private_files` (owner-only files, atomic writes),
and nothing of the connectors: an emulator is held to the service, not to our client.
"""
