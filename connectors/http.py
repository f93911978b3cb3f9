"""The one injection point between the client libraries and the network: a `requests.Session`.

None of simple-salesforce, gspread or py-trello lets us set a base URL; all accept a session.
In production the session is plain. For the emulators (tests, `--sandbox`, benchmarks) a
transport adapter on the same session sends each real service host to its local emulator,
keeping path and query, so the libraries' own URL building is exercised unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

_SECRET_PARAMS = re.compile(
    r"(?i)\b(token|key|api_key|password|access_token|client_secret|assertion|sid)=([^&\s]+)"
)


def sanitize_url(url: str) -> str:
    """Hide credentials in a URL before it is logged (after dlt's sanitiser)."""
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", url)


class EmulatorRoutingAdapter(HTTPAdapter):
    """Rewrites `https://<real host>/path?query` to `<emulator base>/path?query`."""

    def __init__(self, routes: Mapping[str, str]) -> None:
        super().__init__(pool_connections=8, pool_maxsize=8)
        # Longest suffix first so "oauth2.googleapis.com" wins over "googleapis.com".
        self._routes = sorted(routes.items(), key=lambda kv: -len(kv[0]))

    def target_for(self, host: str) -> str | None:
        for suffix, base in self._routes:
            if host == suffix or host.endswith("." + suffix):
                return base
        return None

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        url = request.url or ""
        parts = urlsplit(url)
        base = self.target_for(parts.hostname or "")
        if base is not None:
            b = urlsplit(base)
            request.url = urlunsplit((b.scheme, b.netloc, parts.path, parts.query, ""))
            # The emulator sees which real host the library meant, as a real server would.
            request.headers["X-Forwarded-Host"] = parts.netloc
        return super().send(request, *args, **kwargs)


def build_session(routes: Mapping[str, str] | None = None) -> requests.Session:
    """A session for one connector; with `routes`, real hosts go to local emulators."""
    session = requests.Session()
    if routes:
        mount_routes(session, routes)
    cache_environment(session)
    return session


def cache_environment(session: requests.Session) -> None:
    """Read the proxy and CA-bundle environment once per host, not once per request.

    `requests` honours `HTTPS_PROXY`, `NO_PROXY`, `REQUESTS_CA_BUNDLE` and friends by scanning
    the whole process environment on every call (a millisecond each; a thousand-card run paid
    most of a second for it). The environment does not change during a run, so the answer for
    one scheme and host is kept; proxies and CA bundles are honoured exactly as before.
    """
    merge = session.merge_environment_settings
    known: dict[tuple[object, ...], Any] = {}

    def merge_cached(url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        parts = urlsplit(str(url or ""))
        frozen = tuple(sorted(proxies.items())) if isinstance(proxies, Mapping) else proxies
        key = (parts.scheme, parts.netloc, frozen, stream, verify, cert)
        if key not in known:
            known[key] = merge(url, proxies, stream, verify, cert)
        settings = dict(known[key])
        if isinstance(settings.get("proxies"), dict):
            settings["proxies"] = dict(settings["proxies"])
        return settings

    session.merge_environment_settings = merge_cached  # type: ignore[method-assign]


def mount_routes(session: requests.Session, routes: Mapping[str, str]) -> None:
    adapter = EmulatorRoutingAdapter(routes)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
