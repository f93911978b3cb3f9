"""simple-salesforce's exceptions and Salesforce's error bodies, as the sync's error tree.

Split from `connectors.salesforce.connector` so the translation (what is retried, what stops the
run, what the person reading the log is told) is one pure table, testable without a network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from connectors.certificates import refused_certificate
from connectors.http import sanitize_url
from sync.errors import FatalError, RetriableError, SyncError

SERVICE = "salesforce"
QUERY_ERRORS = frozenset({"MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE"})


def translate(exc: Exception, what: str, retry_after: float | None = None) -> SyncError:
    """simple-salesforce's and requests' exceptions, as our error tree (no secrets)."""
    if isinstance(exc, requests.RequestException):
        untrusted = refused_certificate(SERVICE, exc)
        if untrusted is not None:
            return untrusted
        return RetriableError(
            SERVICE, f"{what}: no answer ({type(exc).__name__}: {sanitize_url(str(exc))})"
        )
    if isinstance(exc, SalesforceAuthenticationFailed):
        code = exc.code
        if isinstance(code, int) and (code == 429 or code >= 500):
            return RetriableError(
                SERVICE,
                f"{what}: login answered HTTP {code}",
                status=code,
                retry_after=retry_after,
            )
        return FatalError(
            SERVICE,
            f"login failed ({code}): {exc.auth_message}; check the credentials the "
            "[salesforce] config names",
            status=401,
        )
    assert isinstance(exc, SalesforceError)
    status, detail = exc.status, error_text(exc.content)
    codes = _error_codes(exc.content)
    if status == 429 or status >= 500:
        return RetriableError(
            SERVICE, f"{what}: HTTP {status}: {detail}", status=status, retry_after=retry_after
        )
    if "REQUEST_LIMIT_EXCEEDED" in codes:
        return FatalError(
            SERVICE,
            f"the org's API request limit is used up ({detail}); Salesforce refuses every call "
            "until the 24-hour allocation frees up, and the next run tries again",
            status=status,
        )
    if codes & QUERY_ERRORS:
        return FatalError(
            SERVICE,
            f"{what}: Salesforce refused the names it was given ({detail}); check the object "
            "and field names under [salesforce] in the config (`python -m sync check` lists "
            "every mismatch)",
            status=status,
        )
    return FatalError(SERVICE, f"{what}: HTTP {status}: {detail}", status=status)


def _error_items(content: Any) -> list[Mapping[str, Any]]:
    items = content if isinstance(content, list) else [content]
    return [i for i in items if isinstance(i, Mapping)]


def _error_codes(content: Any) -> set[str]:
    return {str(i.get("errorCode") or i.get("statusCode") or "") for i in _error_items(content)}


def error_text(content: Any) -> str:
    """Salesforce's own words: `CODE: message` per error item."""
    items = _error_items(content)
    if not items:
        return sanitize_url(str(content or ""))[:500]
    return "; ".join(
        f"{i.get('errorCode') or i.get('statusCode') or 'ERROR'}: {i.get('message', '')}"
        for i in items
    )
