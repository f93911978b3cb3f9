"""The connectors' requests sessions read the proxy and CA environment once per host, and still
honour it exactly as requests does."""

from __future__ import annotations

import pytest

from connectors.http import build_session


def test_proxy_and_ca_settings_are_honoured_per_host_and_read_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.agency.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.agency.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/agency/ca.pem")
    session = build_session()
    outside = session.merge_environment_settings(
        "https://api.trello.com/1/boards/x", {}, None, None, None
    )
    inside = session.merge_environment_settings(
        "https://internal.agency.example/x", {}, None, None, None
    )
    assert outside["proxies"].get("https") == "http://proxy.agency.example:3128"
    assert "https" not in inside["proxies"]
    assert outside["verify"] == inside["verify"] == "/etc/agency/ca.pem"

    # Read once: a change of environment mid-run no longer costs a scan per request.
    monkeypatch.setenv("HTTPS_PROXY", "http://other.example:1")
    again = session.merge_environment_settings(
        "https://api.trello.com/1/cards/y", {}, None, None, None
    )
    assert again["proxies"].get("https") == "http://proxy.agency.example:3128"
    # Each answer is a copy: a caller changing it cannot change the next one.
    again["proxies"]["https"] = "changed"
    assert (
        session.merge_environment_settings("https://api.trello.com/1", {}, None, None, None)[
            "proxies"
        ]["https"]
        == "http://proxy.agency.example:3128"
    )
    # An explicit verify=False is still honoured (it is part of what is cached by).
    assert (
        session.merge_environment_settings("https://api.trello.com/1", {}, None, False, None)[
            "verify"
        ]
        is False
    )
