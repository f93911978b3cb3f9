"""Shared fixtures live in tests/support/fixtures/, one module per system, loaded here as
plugins (with the cassette plugin)."""

pytest_plugins = [
    "tests.support.fixtures.common",
    "tests.support.fixtures.salesforce",
    "tests.support.fixtures.google",
    "tests.support.fixtures.trello",
    "tests.support.fixtures.smtp",
    "tests.support.fixtures.sandbox",
    "tests.support.cassette_plugin",
]
