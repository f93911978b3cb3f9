"""The one redactor: every form of a known secret, and credentials by their shape."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest

from sync.config.redaction import MASK, Redactor

SESSION = "00D000000000001AAA!AQ8AQ.s3ss10n-t0k3n_value"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"


@pytest.fixture
def redactor() -> Redactor:
    r = Redactor()
    r.add("p@ss word!")
    r.add(SESSION)
    r.add(PEM)
    return r


@pytest.mark.parametrize(
    "form",
    [
        "p@ss word!",
        quote("p@ss word!", safe=""),
        quote_plus("p@ss word!"),
        quote(SESSION, safe=""),
        json.dumps(PEM)[1:-1],
    ],
)
def test_every_form_of_a_known_secret_is_hidden(redactor: Redactor, form: str) -> None:
    text = f"error: the server said {form} was wrong"
    assert redactor.text(text) == f"error: the server said {MASK} was wrong"


def test_a_secret_containing_another_is_hidden_whole() -> None:
    r = Redactor()
    r.add("abcd")
    r.add("abcd-efgh")
    assert r.text("x abcd-efgh y abcd") == f"x {MASK} y {MASK}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /1/cards?key=k1&token=t2 failed", f"GET /1/cards?key={MASK}&token={MASK} failed"),
        ("Authorization: Bearer abc.def-123", f"Authorization: Bearer {MASK}"),
        ("{'Authorization': 'OAuth 00Dx'}", f"{{'Authorization': 'OAuth {MASK}'}}"),
        (
            "INVALID_SESSION_ID: 00D5g000004XyZa!ARcAQAbCdEfGhIjKlMnOp (expired)",
            f"INVALID_SESSION_ID: {MASK} (expired)",
        ),
        ("token ya29.a0AfH6SMBx-yz_1234 refused", f"token {MASK} refused"),
        (f"key file holds {PEM}", f"key file holds {MASK}\n"),
    ],
)
def test_credentials_the_run_never_held_are_hidden_by_shape(text: str, expected: str) -> None:
    assert Redactor().text(text) == expected


def test_values_inside_json_like_data_are_hidden(redactor: Redactor) -> None:
    data = {"error": f"sid={SESSION}", "list": ["p@ss word!", 3], "nested": {"k": ("p@ss word!",)}}
    assert redactor.value(data) == {
        "error": f"sid={MASK}",
        "list": [MASK, 3],
        "nested": {"k": (MASK,)},
    }


def test_plain_text_is_left_alone(redactor: Redactor) -> None:
    text = "3 applied, 1 failed: Lone Star Powersports (request TR-0001), key 'account_id'"
    assert redactor.text(text) == text


def test_a_too_short_secret_is_not_searched_for() -> None:
    r = Redactor()
    r.add("ab")
    assert r.known() == frozenset()
    assert r.text("about a tab") == "about a tab"
