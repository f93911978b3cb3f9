"""Google Sheets: trackers, Monthly and Offboarding sheets.

`connector` (I/O through gspread), `plan` (pure deciding of what to write), `undo` (pure
deciding of an undo's writes). May import what `connectors` may.
"""
