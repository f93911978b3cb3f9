"""Token requests to Google's OAuth endpoint that fail at once, and say which failure it is.

Why: google-auth retries a token request by itself (three attempts, sleeping a second and two
with the real clock, out of reach of the sync's injected sleep and retry bound), and then
raises a `RefreshError` that reads the same for "Google is down" (HTTP 500) and "Google refused
this key" (400 invalid_grant). Under the sync's own retries that made one permanent 500 cost
about three minutes and 90 token requests a run, reported as a refused service account.

`TokenRequest` is google-auth's own requests transport with one change: an answer other than
200 from the token endpoint raises `TokenEndpointError` (a `TransportError`, which google-auth
does not retry) carrying the status and Google's `error` / `error_description`. The connector
words it with `describe()` and its retry policy alone decides on retrying: Google's fault
(429, 5xx) is retried within the run's bound; a refusal (4xx) never is.
"""

from __future__ import annotations

import json
from typing import Any

from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import Request

HOST = "oauth2.googleapis.com"


class TokenEndpointError(auth_exceptions.TransportError):
    """Google's token endpoint answered, and not with a token."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            f"token endpoint answered HTTP {status}: {error} {description}".strip()
        )
        self.status = status
        self.error = error
        self.description = description

    @property
    def google_fault(self) -> bool:
        """A fault at Google (or its quota) that a later attempt may not meet."""
        return self.status == 429 or self.status >= 500


class TokenRequest(Request):
    """google-auth's `Request`, raising `TokenEndpointError` on any answer but 200."""

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: Any = None,
        **kwargs: Any,
    ) -> Any:
        if timeout is not None:
            kwargs["timeout"] = timeout
        response = super().__call__(  # type: ignore[no-untyped-call]
            url, method, body, headers, **kwargs
        )
        if response.status == 200:
            return response
        error, description = _oauth_error(response.data)
        raise TokenEndpointError(int(response.status), error, description)


def describe(exc: TokenEndpointError, account: str) -> str:
    """What the run log says: Google's fault, or Google's refusal of this key."""
    said = ": ".join(p for p in (exc.error, exc.description) if p) or "no reason given"
    if exc.google_fault:
        return (
            f"Google's token endpoint ({HOST}) answered HTTP {exc.status} ({said}): a fault at "
            "Google, not a refused service account; the next run tries again"
        )
    if exc.error in ("invalid_grant", "invalid_client", "unauthorized_client"):
        return (
            f"Google refused the service account {account} ({said}): check that its key is "
            "not deleted or disabled and that this machine's clock is right"
        )
    return f"Google's token endpoint ({HOST}) refused the token request: HTTP {exc.status} ({said})"


def _oauth_error(data: Any) -> tuple[str, str]:
    """OAuth's error shape: `{"error": "...", "error_description": "..."}`; else the text."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes | bytearray) else str(data)
    try:
        body = json.loads(text)
    except ValueError:
        return "", text.strip()[:200]
    if not isinstance(body, dict):
        return "", text.strip()[:200]
    error = body.get("error")
    if isinstance(error, dict):  # Google's API shape, which the endpoint uses for some 5xx
        return str(error.get("status") or error.get("code") or ""), str(error.get("message", ""))
    return str(error or ""), str(body.get("error_description") or "")
