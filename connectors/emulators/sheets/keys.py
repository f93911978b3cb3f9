"""Service-account key files for the Google emulator, made locally so no real key is needed.

Why a module: tests and the sandbox write a key file (google-auth signs its JWTs with it) and the
emulator trusts its public half; neither needs the Sheets model or the routes.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sync.state.private_files import atomic_write

TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)


@dataclass(frozen=True)
class ServiceAccountKey:
    client_email: str
    public_key_pem: str
    path: Path


def write_service_account_file(
    path: str | Path,
    *,
    client_email: str = "offboarding-sync@sandbox-project.iam.gserviceaccount.com",
    project_id: str = "sandbox-project",
) -> ServiceAccountKey:
    """Write a fresh service-account key file (a new RSA key each time) for tests and the sandbox.

    Never commit one: the emulator trusts it only once its public key is seeded.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": private_pem,
        "client_email": client_email,
        "client_id": str(100000000000000000000 + secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": TOKEN_URI,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
        + client_email.replace("@", "%40"),
        "universe_domain": "googleapis.com",
    }
    p = Path(path)
    atomic_write(p, json.dumps(info, indent=2).encode("utf-8"))  # 0600 from the first byte
    return ServiceAccountKey(client_email, public_pem, p)


def public_key_of(key_file: str | Path) -> tuple[str, str]:
    """(client_email, public key PEM) of a service-account key file."""
    info = json.loads(Path(key_file).read_text(encoding="utf-8"))
    private = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return str(info["client_email"]), pem.decode("ascii")
