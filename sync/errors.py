"""The error tree that drives behaviour (after the Singer SDK's).

- `ConfigError`: the run stops before any I/O, with the file, key and what was expected.
- `RetriableError`: 429, 5xx, dropped connections. Retried with backoff; if the bound runs out
  the effect fails and the next run tries again.
- `FatalError`: auth and other 4xx. The effect (or the connector) stops with the message.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error the sync expects and explains without a traceback."""


class ConfigError(SyncError):
    def __init__(self, message: str, *, path: str = "", key: str = "") -> None:
        where = ", ".join(p for p in (path, f"key '{key}'" if key else "") if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.key = key


class CredentialError(ConfigError):
    """A secret named in config is missing or unreadable."""


class ConnectorError(SyncError):
    """An outside system said no. `service` names it; `status` is the HTTP status if any."""

    def __init__(self, service: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.status = status


class RetriableError(ConnectorError):
    def __init__(
        self,
        service: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(service, message, status=status)
        self.retry_after = retry_after


class FatalError(ConnectorError):
    pass


class LocalEnvironmentError(SyncError):
    """The sync's own machine: the state folder (or another local file it needs) cannot be
    used as it is (a full disk, read-only, locked, damaged, a planted link). Not a bug and not
    a service's fault: exit code 5, named with what to do (sync.state.faults)."""

    def __init__(self, cause: str, path: object, fix: str) -> None:
        super().__init__(f"{cause}: {path}: {fix}")
        self.cause = cause
        self.path = str(path)
        self.fix = fix


class UnknownRequestError(SyncError):
    """`--only` names no request (or several): a usage error, nothing is done or recorded."""


class LockHeldError(SyncError):
    """Another run holds the state directory's lock."""


class MappingError(FatalError):
    """The config's field mapping does not match the org (a typo, a wrong type, a read-only
    or too-short field): the run stops before it reads or writes anything."""


class BudgetExceededError(FatalError):
    """The configured share of an API allocation is used up; new work waits for the next run."""
