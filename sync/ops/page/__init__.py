"""The ops lead's page: one self-contained HTML file of health, open work and recent runs.

Everything here is pure: plain data read from the sync's own state (ledger rows, findings,
request labels, run-log records, open alerts, the schedule's next fire time) goes in, view
dataclasses and HTML text come out. No service is called, no file is read or written here, and
no clock is read: `now` and the agency's time zone are arguments. The caller (the CLI's
`report --html`, the runner after a run) gathers the state and writes the file.

Every value shown was typed by a person somewhere (Salesforce, Sheets, Trello), so the templates
are Jinja2 with autoescape on and every interpolated value goes through the redactor first.
"""
