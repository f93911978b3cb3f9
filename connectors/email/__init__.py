"""Email (SMTP): notices, digests, reminders and alerts, exactly once.

`connector` (I/O through smtplib), `templates` (loading and rendering the templates).
May import what `connectors` may.
"""
