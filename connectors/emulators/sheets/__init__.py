"""Google: the OAuth2 token endpoint and the Sheets API v4, held to the discovery document.

`server` (routes), `discovery` (the published document as referee, in `reference/`), `grid`,
`cells`, `a1`, `read`, `requests`, `field_mask` (the spreadsheet model), `keys` (service-account
keys made locally). May import what `connectors.emulators` may.
"""
