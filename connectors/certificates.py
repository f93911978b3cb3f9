"""Tell an untrusted TLS certificate apart from a service that does not answer.

Why: `requests` raises its `SSLError` as a kind of `ConnectionError`, google-auth wraps it in a
`TransportError`, urllib3 buries it in a `MaxRetryError`, and smtplib lets the `ssl` module's
own error through. Read as "no answer", an untrusted certificate was retried for over a minute
a run, though asking again cannot change a certificate: it is a proxy that intercepts TLS, a
missing company CA in the bundle, or someone in the middle. Every connector asks this module
first, and an untrusted certificate stops the call at once, said as what it is.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

from sync.errors import FatalError

# How the failure reads when only the text survives (OpenSSL's words).
_SAID = re.compile(r"certificate verify failed(?:: ([^()'\"]+?))?\s*(?:\(_ssl|['\")]|$)")


def untrusted_certificate(exc: BaseException) -> str:
    """Why the certificate was refused ("self-signed certificate", "unable to get local issuer
    certificate", ...) when `exc` is, or was caused by, a failed certificate check; else ""."""
    links = list(_chain(exc))
    for link in links:
        if isinstance(link, ssl.SSLCertVerificationError):
            return str(link.verify_message or link.reason or "certificate verify failed")
    for link in links:  # only the text survived (a library re-raised a string)
        m = _SAID.search(str(link))
        if m:
            return m.group(1) or "certificate verify failed"
    return ""


def wording(host: str, why: str) -> str:
    """One line for the run log: what failed, why asking again does not help, what to check."""
    return (
        f"the TLS certificate of {host} is not trusted ({why}); not retried: check the CA "
        "bundle (REQUESTS_CA_BUNDLE, SSL_CERT_FILE) and any proxy that intercepts TLS"
    )


def refused_certificate(service: str, exc: BaseException, host: str = "") -> FatalError | None:
    """The error to raise instead of "no answer" when `exc` is an untrusted certificate."""
    why = untrusted_certificate(exc)
    if not why:
        return None
    return FatalError(service, wording(host or _host(exc) or "the server", why))


def _host(exc: BaseException) -> str:
    """The host the failed connection was for, as far as the exceptions tell."""
    for link in _chain(exc):
        url = getattr(getattr(link, "request", None), "url", None)
        if isinstance(url, str) and "://" in url:
            return urlsplit(url).netloc
        pool_host = getattr(getattr(link, "pool", None), "host", None)
        if isinstance(pool_host, str) and pool_host:
            return pool_host
    return ""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, its causes and contexts, and the exceptions the libraries keep as arguments or
    as a `reason` (urllib3), each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        link = todo.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        nested = [link.__cause__, link.__context__, getattr(link, "reason", None), *link.args]
        todo.extend(n for n in nested if isinstance(n, BaseException))
