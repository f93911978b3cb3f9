"""A dead man's switch: tell an outside monitor that a run started, ended well, or failed.

Every alert the sync sends depends on the sync running; when the host is down or `serve` crashes
in a loop it falls silent, and silence reads as "nothing to do". A monitor that expects a ping on
the run's schedule (healthchecks.io, Cronitor, Uptime Kuma push monitors) notices the silence
itself. The convention is healthchecks.io's: `<url>/start` when a run starts, `<url>` when it
ends well (exit code 0), `<url>/fail` otherwise, each a POST whose body (the run's one-paragraph
summary) the monitor shows beside the ping.

A ping must never fail or slow a run: each one runs on a daemon thread that the run waits for at
most `timeout_seconds` in total (retries included); a monitor that hangs is left behind. The URL
carries the check's token, so logs show only its scheme and host.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from connectors.certificates import untrusted_certificate, wording
from sync.config.model import Config
from sync.config.redaction import redact as redact_text
from sync.config.secrets import remember_secret
from sync.engine.result import RunResult

log = logging.getLogger("sync.heartbeat")

USER_AGENT = "offboarding-sync heartbeat"
MAX_BODY = 10_000  # healthchecks.io keeps the first 100 kB; a summary is far shorter


def redact(url: str) -> str:
    """`https://hc-ping.com/***`: the path and query are the secret part."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/***"


@dataclass(frozen=True)
class Heartbeat:
    url: str
    timeout_seconds: float = 5.0
    retries: int = 2

    @classmethod
    def from_config(cls, cfg: Config) -> Heartbeat | None:
        """None when no heartbeat is configured (or its variable is empty: said once a run)."""
        hb = cfg.heartbeat
        url = hb.url
        if hb.url_env:
            url = os.environ.get(hb.url_env, "")
            if not url:
                log.warning(
                    "heartbeat.url_env names %s, which is not set: no heartbeat pings",
                    hb.url_env,
                )
                return None
            if not url.startswith(("https://", "http://")):
                log.warning("$%s is not an http(s) URL: no heartbeat pings", hb.url_env)
                return None
        if not url:
            return None
        remember_secret(url.rstrip("/"))  # hidden from every log line, whoever writes it
        return cls(url.rstrip("/"), hb.timeout_seconds, hb.retries)

    def start(self, body: str = "") -> bool:
        return self.ping("/start", body)

    def success(self, body: str) -> bool:
        return self.ping("", body)

    def fail(self, body: str) -> bool:
        return self.ping("/fail", body)

    def ping(self, suffix: str, body: str) -> bool:
        """True when the monitor answered 2xx within the time allowed; never raises."""
        done = threading.Event()
        outcome: list[str] = []

        def attempt() -> None:
            outcome.append(self._send(suffix, body, deadline))
            done.set()

        deadline = time.monotonic() + self.timeout_seconds
        threading.Thread(target=attempt, name="heartbeat", daemon=True).start()
        if not done.wait(self.timeout_seconds):
            log.warning(
                "heartbeat %s%s: no answer within %.1f s; the run goes on without it",
                redact(self.url),
                suffix,
                self.timeout_seconds,
            )
            return False
        if outcome[0]:
            log.warning("heartbeat %s%s failed: %s", redact(self.url), suffix, outcome[0])
            return False
        log.info("heartbeat %s%s sent", redact(self.url), suffix)
        return True

    def _send(self, suffix: str, body: str, deadline: float) -> str:
        """Try up to 1 + retries times before the deadline; return why it failed, or ''."""
        # The body leaves for an outside service: whatever error it quotes is redacted.
        data = redact_text(body).encode("utf-8")[:MAX_BODY]
        why = "not tried"
        for n in range(1 + self.retries):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            request = urllib.request.Request(  # noqa: S310 - the scheme is checked in config
                self.url + suffix,
                data=data,
                method="POST",
                headers={"User-Agent": USER_AGENT, "Content-Type": "text/plain; charset=utf-8"},
            )
            try:
                with urllib.request.urlopen(request, timeout=left) as answer:  # noqa: S310
                    answer.read(1024)
                    return ""
            except urllib.error.HTTPError as exc:
                why = f"HTTP {exc.code}"
                if 400 <= exc.code < 500 and exc.code != 429:
                    return why  # a wrong URL does not get better by asking again
            except (OSError, ValueError) as exc:
                untrusted = untrusted_certificate(exc)
                if untrusted:  # asking again cannot change a certificate
                    return wording(urlsplit(self.url).hostname or "the monitor", untrusted)
                why = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
                why = why.replace(self.url, redact(self.url))
            if n < self.retries:
                time.sleep(min(0.25 * 2**n, max(0.0, deadline - time.monotonic())))
        return why


def paragraph(result: RunResult) -> str:
    """The run in one paragraph: what a monitor shows beside the ping."""
    c = result.counts
    took = (result.finished_at - result.started_at).total_seconds() if result.finished_at else 0.0
    text = (
        f"Run {result.run_id} as of {result.today:%Y-%m-%d} (exit code {result.exit_code}): "
        f"{c['applied']} applied, {c['failed']} failed, {c['waiting']} waiting, "
        f"{c['needs_person']} need a person, {c['skipped']} skipped, in {took:.1f} s."
    )
    if result.fatal:
        text += f" The run stopped: {result.fatal}."
    elif result.stopped:
        text += " It stopped early on a shutdown; what it left is owed to the next run."
    return text
