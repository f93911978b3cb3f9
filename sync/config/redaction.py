"""One redactor for every text the sync stores or sends: it knows every secret the run holds.

Why: a service's error can quote a credential (Salesforce echoing the session id of a header, a
token in a URL a library puts in its exception), and that text travels: into the run log, the
ledger's last error, the stopped line on stderr, the alert email, the heartbeat body sent to the
outside monitor, the shared Sheets Sync Log row, the metrics file, a cassette. Hiding secrets
only in log lines leaves all of those. So every secret is registered here the moment the sync
reads it (from the environment, a key file, a URL in the config) or a service issues it (a
session id, an access token), and every sink runs its text through `redact()` just before
writing it.

A secret is hidden in every form an error can carry it: as is, URL-encoded (`%21` for `!`, `+`
for a space) and JSON-escaped (a private key's newlines as `\\n`). On top, credentials the sync
never held are hidden by shape: `token=`/`key=`/`sid=`... in URLs and forms, `Authorization:`
headers, Salesforce session ids (`00D...!...`), Google access tokens (`ya29....`), PEM private
keys. Secrets shorter than MIN_LENGTH are not searched for (hiding every "abc" in a text would
garble it and hide nothing a person could use).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_LENGTH = 4
T = TypeVar("T")

_SHAPES = re.compile(
    "|".join(
        (
            # a credential in a URL's query or a form body: keep the name, hide the value
            r"(?i)(?P<param>\b(?:token|key|api_key|apikey|password|passwd|secret|access_token"
            r"|refresh_token|id_token|client_secret|assertion|sid|session_id|sessionid"
            r"|oauth_token|oauth_consumer_key|oauth_signature)=)[^&\s\"'<>]+",
            # an Authorization header (Bearer, OAuth, Basic ...), as a line or a dict's repr
            r"(?P<auth>(?i:authorization)[\"']?\s*[:=]\s*[\"']?(?i:bearer|oauth|basic|token)\s+)"
            r"[^\s\"',}]+",
            # a Salesforce session id: the org id, "!", the token
            r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]{16,}",
            # a Google OAuth access token
            r"\bya29\.[A-Za-z0-9._\-]{8,}",
            # a PEM private key, whole
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
        )
    ),
    re.DOTALL,
)


def _shape(m: re.Match[str]) -> str:
    prefix = m.group("param") or m.group("auth") or ""
    return prefix + MASK


def forms(secret: str) -> set[str]:
    """The ways an error text can carry `secret`."""
    return {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


class Redactor:
    """The run's secrets and the one function that hides them. Thread-safe."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        """Know `secret` from now on (empty and too-short values are ignored)."""
        if len(secret) < MIN_LENGTH or secret in self._secrets:
            return
        with self._lock:
            self._secrets.add(secret)
            self._pattern = None

    def known(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._secrets)

    def forget_all(self) -> None:
        """Tests only: a process that runs several configurations one after another."""
        with self._lock:
            self._secrets.clear()
            self._pattern = None

    def text(self, text: str) -> str:
        """`text` with every known secret (in every form) and every credential shape hidden."""
        if not text:
            return text
        pattern = self._compiled()
        if pattern is not None:
            text = pattern.sub(MASK, text)
        return _SHAPES.sub(_shape, text)

    def known_only(self, text: str) -> str:
        """`text` with the known secrets hidden, but no shape: for text that legitimately holds
        `token=<PLACEHOLDER>` forms (a cassette, whose own scrubber put them there)."""
        pattern = self._compiled()
        return pattern.sub(MASK, text) if text and pattern is not None else text

    def value(self, value: T) -> T:
        """`text()` applied to every string inside `value` (dicts, lists, tuples), keys too."""
        walked: T = _walk(value, self.text)
        return walked

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._secrets:
                every = {f for s in self._secrets for f in forms(s) if len(f) >= MIN_LENGTH}
                # Longest first, so a secret that contains another is hidden whole.
                alternatives = sorted(every, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(a) for a in alternatives))
            return self._pattern


def _walk(value: Any, fn: Any) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, Mapping):
        return {_walk(k, fn): _walk(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(_walk(v, fn) for v in value)
    return value


REDACTOR = Redactor()


def redact(text: str) -> str:
    """The process's redactor on one text: what every sink calls before it writes."""
    return REDACTOR.text(text)


def redact_value(value: T) -> T:
    """The process's redactor on every string inside a JSON-like value."""
    return REDACTOR.value(value)
