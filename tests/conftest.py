"""Shared fixtures live in tests/fixtures/, one module per system, loaded here as plugins."""

pytest_plugins = [
    "tests.fixtures.common",
    "tests.fixtures.salesforce",
    "tests.fixtures.google",
    "tests.fixtures.trello",
    "tests.fixtures.smtp",
    "tests.fixtures.sandbox",
    "tests.cassette_support",
]
