"""Shared machinery of the local emulators: an HTTP server on 127.0.0.1, routing, request
counting, scripted faults and "a person edits the data" hooks.

Each service's emulator subclasses `Emulator`, declares its routes with `@route`, speaks that
service's real wire format and error shape, and can be seeded and read back as plain data.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import parse_qs, urlsplit

from connectors.emulators.quota import QuotaGate

# "echo": a 400 in the service's shape whose message quotes the request's URL and credentials
# (an upstream error that echoes a header or a query string: what redaction must catch).
FaultKind = Literal["429", "500", "503", "drop", "delay", "expired", "echo"]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    host: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8")).items()}

    def header(self, name: str) -> str:
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return ""


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    return Response(status=status, body=body, headers=dict(headers))


Handler = Callable[..., Response]


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Declare a handler for `method` and a full-path regex (named groups become kwargs)."""

    def deco(fn: Handler) -> Handler:
        fn._route = (method.upper(), re.compile(pattern + r"/?$"))  # type: ignore[attr-defined]
        return fn

    return deco


@dataclass
class Fault:
    kind: FaultKind
    method: str | None
    pattern: re.Pattern[str]
    times: int  # remaining; -1 = forever
    retry_after: float = 1.0
    delay: float = 0.2

    def matches(self, req: Request) -> bool:
        if self.times == 0:
            return False
        if self.method and self.method != req.method:
            return False
        return bool(self.pattern.search(req.path))


@dataclass
class Hook:
    method: str | None
    pattern: re.Pattern[str]
    fn: Callable[[Request], None]
    times: int


@dataclass(frozen=True)
class Call:
    service: str
    method: str
    path: str
    status: int
    fault: str = ""


class Persistence(Protocol):
    """Where an emulator's state lives between processes (the sandbox's `store.StateStore`)."""

    def serve(
        self, emulator: Emulator, req: Request, handle: Callable[[Request], Response | None]
    ) -> Response | None: ...


class Emulator:
    """Base of every emulator. Subclasses set `service` and define routes, `seed`, `snapshot`
    and `error` (their service's error body)."""

    service: ClassVar[str] = "emulator"
    _routes: ClassVar[list[tuple[str, re.Pattern[str], str]]] = []
    # Attributes that are not the service's data (server, test controls; subclasses add their
    # sessions): kept when the sandbox reloads the data from disk (`store.restore`).
    runtime_state: ClassVar[frozenset[str]] = frozenset(
        {"lock", "calls", "faults", "hooks", "_random", "_server", "_thread", "base_url"}
        | {"persistence", "quota"}
    )

    # Top-level keys of `snapshot()` that a read changes too (an API usage counter): a
    # read-only sandbox process does not count them as a change it must refuse.
    volatile_state: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: list[tuple[str, re.Pattern[str], str]] = []
        for name in dir(cls):
            spec = getattr(getattr(cls, name, None), "_route", None)
            if spec is not None:
                table.append((spec[0], spec[1], name))
        cls._routes = table

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.hooks: list[Hook] = []
        self._random: tuple[random.Random, float, tuple[FaultKind, ...]] | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.persistence: Persistence | None = None  # None: memory only (tests)
        self.quota: QuotaGate | None = None  # None: no rate limits, no latency (the default)

    # ----- lifecycle -------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        emulator = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; without this each keep-alive answer
            # waits ~40 ms for the client's delayed ACK.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                emulator._serve_http(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        server.daemon_threads = True
        self._server = server
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"{self.service}-emulator",
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Emulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- test controls ---------------------------------------------------------------
    def add_fault(
        self,
        kind: FaultKind,
        *,
        method: str | None = None,
        path: str = ".*",
        times: int = 1,
        retry_after: float = 1.0,
        delay: float = 0.2,
    ) -> None:
        """Script a fault for the next `times` matching requests (-1: every one)."""
        with self.lock:
            self.faults.append(
                Fault(kind, method, re.compile(path), times, retry_after=retry_after, delay=delay)
            )

    def random_faults(
        self, rate: float, *, seed: int, kinds: Iterable[FaultKind] = ("429", "500", "503", "drop")
    ) -> None:
        """Answer a share `rate` of requests with a random fault (fixed seed: repeatable)."""
        with self.lock:
            self._random = (random.Random(seed), rate, tuple(kinds))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self._random = None

    def on_request(
        self,
        fn: Callable[[Request], None],
        *,
        method: str | None = None,
        path: str = ".*",
        times: int = 1,
    ) -> None:
        """Run `fn` just before handling the next matching request (a person editing data)."""
        with self.lock:
            self.hooks.append(Hook(method, re.compile(path), fn, times))

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests received, optionally by method and a path regex (faulted ones included)."""
        with self.lock:
            return sum(
                1
                for c in self.calls
                if (method is None or c.method == method)
                and (path is None or re.search(path, c.path))
            )

    def counts(self) -> Counter[tuple[str, str]]:
        with self.lock:
            return Counter((c.method, c.path) for c in self.calls)

    def writes(self) -> int:
        """Requests that could change state: everything but GET (and HEAD)."""
        return self.count() - self.count("GET") - self.count("HEAD")

    def reset_counts(self) -> None:
        with self.lock:
            self.calls.clear()

    # ----- for subclasses --------------------------------------------------------------
    def seed(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def error(self, status: int, message: str, code: str = "") -> Response:
        """An error in this service's own shape."""
        return json_response({"error": message, "code": code}, status)

    def expire_sessions(self) -> None:
        """Invalidate every issued token (the 'expired' fault); default: nothing to expire."""

    def enforce(self, gate: QuotaGate | None) -> None:
        """Enforce the service's published rate limits and add its round trip (None: off)."""
        self.quota = gate

    def quota_keys(self, req: Request) -> dict[str, str]:
        """The windows this request counts against, each with its key (the token, the
        user); default: none (the latency alone applies)."""
        return {}

    def quota_refusal(self, window: str, req: Request) -> Response:
        """The answer to a request over `window`, in the service's own shape."""
        return self.error(429, "Too many requests", "RATE_LIMITED")

    # ----- internals -------------------------------------------------------------------
    def _serve_http(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = Request(
            method=h.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=dict(h.headers.items()),
            body=body,
            host=h.headers.get("X-Forwarded-Host") or h.headers.get("Host") or "",
        )
        if self.persistence is None:
            resp = self.dispatch(req)
        else:
            resp = self.persistence.serve(self, req, self.dispatch)
        if resp is None:  # a dropped connection
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(2)
            return
        payload = resp.encode()
        try:
            h.send_response(resp.status)
            h.send_header("Content-Type", resp.content_type)
            h.send_header("Content-Length", str(len(payload)))
            for k, v in resp.headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    def dispatch(self, req: Request) -> Response | None:
        """Handle one request: the rate limits, faults and hooks first, then the route.
        None = drop."""
        gate = self.quota
        if gate is not None:
            refused = gate.admit(self.quota_keys(req))
            if refused is not None:
                self._record(req, 429, "quota")
                return self.quota_refusal(refused, req)
            gate.delay()  # the round trip, outside the lock: requests in flight overlap
        fault = self._take_fault(req)
        if fault is not None:
            if fault.kind == "delay":
                time.sleep(fault.delay)
            elif fault.kind == "expired":
                with self.lock:
                    self.expire_sessions()
            elif fault.kind == "echo":
                self._record(req, 400, fault.kind)
                query = "&".join(f"{k}={v}" for k, vs in req.query.items() for v in vs)
                said = (
                    f"cannot serve {req.method} {req.path}?{query} with Authorization "
                    f"{req.header('Authorization')!r}"
                )
                return self.error(400, said, "INVALID_HEADER_TYPE")
            else:
                self._record(req, 0 if fault.kind == "drop" else int(fault.kind), fault.kind)
                if fault.kind == "drop":
                    return None
                resp = self.error(int(fault.kind), _FAULT_TEXT[fault.kind], _FAULT_CODE[fault.kind])
                if fault.kind == "429":
                    resp.headers.setdefault("Retry-After", _fmt(fault.retry_after))
                return resp
        with self.lock:
            for hook in list(self.hooks):
                if (
                    hook.times != 0
                    and (hook.method in (None, req.method))
                    and hook.pattern.search(req.path)
                ):
                    hook.times -= 1
                    hook.fn(req)
            self.hooks = [h for h in self.hooks if h.times != 0]
            resp = self._route(req)
            self._record(req, resp.status, fault.kind if fault else "")
            return resp

    def _route(self, req: Request) -> Response:
        path_matched = False
        for method, pattern, name in self._routes:
            m = pattern.match(req.path)
            if m is None:
                continue
            path_matched = True
            if method != req.method:
                continue
            try:
                return getattr(self, name)(req, **m.groupdict())  # type: ignore[no-any-return]
            except EmulatorError as exc:
                return self.error(exc.status, exc.message, exc.code)
        if path_matched:
            return self.error(405, f"method {req.method} not allowed on {req.path}", "METHOD")
        return self.error(404, f"no such resource: {req.path}", "NOT_FOUND")

    def _take_fault(self, req: Request) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(req):
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
            if self._random is not None:
                rng, rate, kinds = self._random
                if rng.random() < rate:
                    kind = rng.choice(kinds)
                    return Fault(kind, None, re.compile(".*"), 1, retry_after=0.01, delay=0.05)
        return None

    def _record(self, req: Request, status: int, fault: str) -> None:
        with self.lock:
            self.calls.append(Call(self.service, req.method, req.path, status, fault))


class EmulatorError(Exception):
    """Raised by a route handler; turned into the service's error shape."""

    def __init__(self, status: int, message: str, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


_FAULT_TEXT = {
    "429": "Too many requests",
    "500": "Internal error",
    "503": "Service unavailable",
}
_FAULT_CODE = {"429": "RATE_LIMITED", "500": "INTERNAL", "503": "UNAVAILABLE"}


def _fmt(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
