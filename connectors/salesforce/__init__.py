"""Salesforce: where requests come from (`connector`) and where the sync reports back.

`connector` (I/O through simple-salesforce), `records` (records to `TakedownRequest`, with the
approval history parsed, not judged), `mapping` (the config checked against describe),
`soql` (query text), `errors` (simple-salesforce's exceptions as `sync.errors`).
May import what `connectors` may.
"""
