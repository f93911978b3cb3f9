"""An untrusted certificate is recognised however the client libraries wrap it."""

from __future__ import annotations

import smtplib
import ssl

import pytest
import requests
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import Request

from connectors.certificates import untrusted_certificate, wording
from tests.support.fixtures.tls import UntrustedServer, untrusted_https

__all__ = ["untrusted_https"]  # the fixture, used by name


def test_requests_refusing_the_certificate_is_recognised(untrusted_https: UntrustedServer) -> None:
    with pytest.raises(requests.exceptions.SSLError) as caught:
        requests.get(untrusted_https.base_url + "/x", timeout=5)
    assert "self-signed certificate" in untrusted_certificate(caught.value)


def test_google_auth_wrapping_it_is_recognised(untrusted_https: UntrustedServer) -> None:
    with pytest.raises(auth_exceptions.TransportError) as caught:
        Request()(untrusted_https.base_url + "/token", method="POST", timeout=5)
    assert untrusted_certificate(caught.value) != ""


def test_smtplib_meeting_it_is_recognised(untrusted_https: UntrustedServer) -> None:
    with pytest.raises(ssl.SSLError) as caught:
        smtplib.SMTP_SSL("127.0.0.1", untrusted_https.port, timeout=5,
                         context=ssl.create_default_context())  # fmt: skip
    assert untrusted_certificate(caught.value) != ""


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("Connection refused"),
        requests.exceptions.SSLError("EOF occurred in violation of protocol"),
        TimeoutError("timed out"),
    ],
)
def test_other_failures_are_not_called_a_certificate(exc: Exception) -> None:
    assert untrusted_certificate(exc) == ""


def test_the_wording_says_it_is_not_retried_and_what_to_check() -> None:
    text = wording("api.trello.com", "self-signed certificate")
    assert "api.trello.com is not trusted (self-signed certificate); not retried" in text
    assert "REQUESTS_CA_BUNDLE" in text
