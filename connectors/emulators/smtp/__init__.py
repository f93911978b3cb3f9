"""An SMTP server (aiosmtpd) that keeps every accepted message as an .eml file.

May import what `connectors.emulators` may.
"""
