"""The redactor the page and the HTML mail are rendered with, until issue 25's one redactor.

Today's redaction is the log formatter's (`sync.cli.app._HideSecrets`): credentials in URLs, then
every secret the process read or was issued, longest first so a secret that contains another is
hidden whole. Issue 25 replaces both with one redactor that every output goes through; when it
lands, `redact` below becomes a call to it, and nothing else here changes.
"""

from __future__ import annotations

from connectors.http import sanitize_url
from sync.config.secrets import secrets_read


def redact(text: str) -> str:
    text = sanitize_url(text)
    for secret in sorted(secrets_read(), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
