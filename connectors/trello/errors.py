"""py-trello's exceptions as the sync's error tree: what is retried, what stops, in whose words.

Split from `connectors.trello.connector` as `connectors.salesforce.errors` is for Salesforce: the
translation is one pure table, the same for every call. Trello's own message is kept (minus any
key or token in a URL).
"""

from __future__ import annotations

import requests
from trello import ResourceUnavailable, Unauthorized

from connectors.certificates import refused_certificate
from connectors.http import sanitize_url
from sync.errors import ConnectorError, FatalError, RetriableError

SERVICE = "trello"

# What `translate` knows; anything else is a bug and propagates as one.
TRANSLATED = (
    Unauthorized,
    ResourceUnavailable,
    requests.ConnectionError,
    requests.Timeout,
    ValueError,
)


def translate(exc: BaseException, what: str, *, retry_after: float | None) -> ConnectorError:
    """One failed py-trello call (`what`), as the engine reads it: 429 and 5xx, a dropped
    connection or an unreadable body are retried (honouring Retry-After); 401 and other 4xx
    stop."""
    if isinstance(exc, Unauthorized):
        return FatalError(SERVICE, f"{what}: {reason(exc)}", status=401)
    if isinstance(exc, ResourceUnavailable):
        status = int(getattr(exc, "_status", 0) or 0)
        if status == 429 or status >= 500:
            return RetriableError(
                SERVICE, f"{what}: {reason(exc)}", status=status, retry_after=retry_after
            )
        return FatalError(SERVICE, f"{what}: {reason(exc)}", status=status)
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        untrusted = refused_certificate(SERVICE, exc)
        if untrusted is not None:
            return untrusted
        return RetriableError(SERVICE, f"{what}: {type(exc).__name__} (connection failed)")
    # A body that is not JSON: a proxy's error page.
    return RetriableError(SERVICE, f"{what}: unreadable answer ({exc})")


def again(exc: ConnectorError, message: str) -> ConnectorError:
    """The same kind of error (a 401 must still stop the run) with a fuller message."""
    return type(exc)(SERVICE, message, status=exc.status)


def error_text(exc: ConnectorError) -> str:
    """The message without the service prefix, for a sentence that names the service."""
    return str(exc).removeprefix(f"{SERVICE}: ")


def reason(exc: Exception) -> str:
    """py-trello's message is 'BODY at URL (HTTP status: N)'; keep it, minus any secret."""
    return sanitize_url(str(exc))
