"""Credentials: read from the environment or a file the config names, never from the config.

Every secret read is remembered (`secrets_read`), so the CLI's log filter can hide it whatever
library logs it.
"""

from __future__ import annotations

import os
from pathlib import Path

from sync.config.model import Config
from sync.config.redaction import REDACTOR
from sync.errors import CredentialError


def remember_secret(value: str) -> None:
    """A secret that does not come through `secret_from_env` (say a URL given in the file, or a
    credential obtained at run time: a session id from a login, an OAuth access token). The
    run's one redactor (`sync.config.redaction`) hides it from every output from now on."""
    if value:
        REDACTOR.add(value)


def secret_from_env(var: str, *, what: str, key: str) -> str:
    """Read a secret from the environment variable the config names."""
    value = os.environ.get(var, "")
    if not value:
        raise CredentialError(f"{what} is not set: export {var}=... (named by config key '{key}')")
    REDACTOR.add(value)
    return value


def secrets_read() -> frozenset[str]:
    """Every secret read so far (as the redactor knows them)."""
    return REDACTOR.known()


def secret_file(cfg: Config, value: str, *, what: str, key: str) -> Path:
    """A credential file named in config must exist and be readable."""
    if not value:
        raise CredentialError(f"{what}: no file named (config key '{key}')")
    p = cfg.resolve(value)
    try:
        with p.open("rb"):
            pass
    except FileNotFoundError:
        raise CredentialError(f"{what}: file not found: {p} (config key '{key}')") from None
    except OSError as exc:
        raise CredentialError(
            f"{what}: cannot read {p}: {exc.strerror} (config key '{key}')"
        ) from None
    return p
