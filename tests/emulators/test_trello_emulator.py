"""The Trello emulator speaks Trello's wire format: the real py-trello works against it as is."""

from __future__ import annotations

import re
import time

import pytest
import requests
from trello import ResourceUnavailable, TrelloClient, Unauthorized

from connectors.emulators.trello.server import TrelloEmulator
from connectors.http import build_session
from sync.config.model import Config
from tests.support.fixtures.trello import TRELLO_KEY, TRELLO_TOKEN, account_field_id, trello_seed

ACCOUNT = "001000000000001AAA"


def client(
    emulator: TrelloEmulator, key: str = TRELLO_KEY, token: str = TRELLO_TOKEN
) -> TrelloClient:
    session = build_session({"trello.com": emulator.base_url})
    return TrelloClient(key, token=token, http_service=session)


@pytest.fixture
def seeded(config: Config, trello_emulator: TrelloEmulator) -> TrelloEmulator:
    trello_emulator.seed(
        trello_seed(
            config,
            {
                "tda": [
                    {"id": "c-acme", "name": "Acme Motors", "account": ACCOUNT},
                    {"id": "c-beta", "name": "Beta Boats", "desc": "Beta's campaign"},
                    {"id": "c-old", "name": "Old Client", "closed": True, "comments": ["bye"]},
                ]
            },
        )
    )
    return trello_emulator


def test_wrong_key_is_a_plain_text_401_that_py_trello_raises_as_unauthorized(
    seeded: TrelloEmulator,
) -> None:
    with pytest.raises(Unauthorized) as exc:
        client(seeded, key="nope").fetch_json("/members/me")
    assert "invalid key" in str(exc.value)
    assert "(HTTP status: 401)" in str(exc.value)


def test_wrong_token_is_a_401_invalid_token(seeded: TrelloEmulator) -> None:
    with pytest.raises(Unauthorized) as exc:
        client(seeded, token="stale").fetch_json("/members/me")
    assert "invalid token" in str(exc.value)


def test_key_and_token_as_query_parameters_are_accepted_and_checked(
    seeded: TrelloEmulator,
) -> None:
    ok = requests.get(
        f"{seeded.base_url}/1/members/me",
        params={"key": TRELLO_KEY, "token": TRELLO_TOKEN},
        timeout=5,
    )
    assert ok.status_code == 200
    assert ok.json()["username"] == "syncbot"
    bad = requests.get(f"{seeded.base_url}/1/members/me", params={"key": TRELLO_KEY}, timeout=5)
    assert bad.status_code == 401
    assert bad.headers["Content-Type"].startswith("text/plain")
    assert bad.text == "invalid token"


def test_a_429_has_trellos_body_and_retry_after_and_maps_to_resource_unavailable(
    seeded: TrelloEmulator, config: Config
) -> None:
    seeded.add_fault("429", path="/cards", retry_after=3)
    c = client(seeded)
    with pytest.raises(ResourceUnavailable) as exc:
        c.fetch_json(f"/boards/{config.trello.boards['tda']}/cards/open")
    assert not isinstance(exc.value, Unauthorized)
    assert "API_TOKEN_LIMIT_EXCEEDED" in str(exc.value)
    assert "(HTTP status: 429)" in str(exc.value)
    raw = requests.get(
        f"{seeded.base_url}/1/members/me",
        params={"key": TRELLO_KEY, "token": TRELLO_TOKEN},
        timeout=5,
    )
    assert raw.status_code == 200  # the fault was for one request only
    seeded.add_fault("429", retry_after=3)
    raw = requests.get(
        f"{seeded.base_url}/1/members/me",
        params={"key": TRELLO_KEY, "token": TRELLO_TOKEN},
        timeout=5,
    )
    assert raw.json() == {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
    assert raw.headers["Retry-After"] == "3"


def test_py_trello_reads_boards_cards_and_named_custom_fields(
    seeded: TrelloEmulator, config: Config
) -> None:
    c = client(seeded)
    assert {b.name for b in c.list_boards()} == {"tda", "design"}
    board = c.get_board(config.trello.boards["tda"])
    open_cards = board.open_cards()
    assert [card.name for card in open_cards] == ["Acme Motors", "Beta Boats"]
    acme = open_cards[0]
    assert acme.get_custom_field_by_name(config.trello.account_id_field).value == ACCOUNT
    assert acme.url.startswith("https://trello.com/c/")
    assert [card.name for card in board.closed_cards()] == ["Old Client"]
    assert len(board.all_cards()) == 3
    assert [lst.name for lst in board.open_lists()] == ["Active"]
    names = [f.name for f in board.get_custom_field_definitions()]
    assert names == [config.trello.account_id_field, "Budget"]


def test_py_trello_archives_and_comments_and_the_snapshot_shows_it(seeded: TrelloEmulator) -> None:
    c = client(seeded)
    card = c.get_card("c-beta")
    card.set_closed(True)
    card.comment("archived: cancelled")
    snap = seeded.card("c-beta")
    assert snap["closed"] is True
    assert [m["text"] for m in snap["comments"]] == ["archived: cancelled"]
    assert snap["comments"][0]["idMemberCreator"] == "5e00000000000000000000f1"
    assert [a["data"]["text"] for a in card.fetch_comments(force=True)] == ["archived: cancelled"]
    # The documented form: PUT /1/cards/{id}?closed=false, as query parameters.
    raw = requests.put(
        f"{seeded.base_url}/1/cards/c-beta",
        params={"key": TRELLO_KEY, "token": TRELLO_TOKEN, "closed": "false"},
        timeout=5,
    )
    assert raw.json()["closed"] is False


def test_unknown_card_is_a_plain_text_404(seeded: TrelloEmulator) -> None:
    with pytest.raises(ResourceUnavailable) as exc:
        client(seeded).fetch_json("/cards/5e0000000000000000000999")
    assert "(HTTP status: 404)" in str(exc.value)


def test_search_finds_open_cards_by_words(seeded: TrelloEmulator) -> None:
    found = client(seeded).search("acme", models=["cards"])
    assert [card.name for card in found] == ["Acme Motors"]


def test_snapshot_seeds_back_to_the_same_data(seeded: TrelloEmulator, config: Config) -> None:
    snap = seeded.snapshot()
    other = TrelloEmulator()
    other.seed(snap)
    assert other.snapshot() == snap
    tda = next(b for b in snap["boards"] if b["name"] == "tda")
    acme = next(c for c in tda["cards"] if c["id"] == "c-acme")
    assert acme["customFieldItems"][0]["idCustomField"] == account_field_id("tda")
    assert acme["customFieldItems"][0]["value"] == {"text": ACCOUNT}
    old = next(c for c in tda["cards"] if c["id"] == "c-old")
    assert [m["text"] for m in old["comments"]] == ["bye"]


def test_a_board_of_2000_cards_reads_fast(config: Config, trello_emulator: TrelloEmulator) -> None:
    cards = [
        {"name": f"Client {i:04d}", "account": f"001{i:012d}AAA", "desc": f"Campaign {i}"}
        for i in range(2000)
    ]
    trello_emulator.seed(trello_seed(config, {"tda": cards}))
    c = client(trello_emulator)
    started = time.perf_counter()
    got = c.fetch_json(
        f"/boards/{config.trello.boards['tda']}/cards/open",
        query_params={"customFieldItems": "true"},
    )
    assert len(got) == 2000
    assert time.perf_counter() - started < 2.0


# ----- Trello's documented JSON keys and short links --------------------------------------------
def raw(emulator: TrelloEmulator, method: str, path: str, **params: str) -> requests.Response:
    auth = {"key": TRELLO_KEY, "token": TRELLO_TOKEN}
    return requests.request(
        method, f"{emulator.base_url}/1{path}", params={**auth, **params}, timeout=5
    )


CARD_KEYS = {
    "id", "name", "desc", "closed", "idBoard", "idList", "idShort", "shortLink", "shortUrl",
    "url", "dateLastActivity", "idMembers", "idLabels", "labels", "badges", "pos", "due",
    "dueComplete", "start", "cover", "isTemplate", "subscribed", "idChecklists",
    "customFieldItems",
}  # fmt: skip


def test_a_card_carries_the_keys_trello_documents(seeded: TrelloEmulator) -> None:
    card = raw(seeded, "GET", "/cards/c-acme", customFieldItems="true").json()
    assert set(card) >= CARD_KEYS
    assert card["shortUrl"] == f"https://trello.com/c/{card['shortLink']}"
    assert re.fullmatch(r"[0-9A-Za-z]{8}", card["shortLink"])
    assert [set(i) for i in card["customFieldItems"]] == [
        {"id", "idCustomField", "idModel", "modelType", "value"}
    ]
    assert card["customFieldItems"][0]["modelType"] == "card"
    narrowed = raw(seeded, "GET", "/cards/c-acme", fields="name,shortUrl").json()
    assert set(narrowed) == {"id", "name", "shortUrl"}
    refused = raw(seeded, "GET", "/cards/c-acme", fields="name,bogus")
    assert (refused.status_code, refused.text) == (400, "invalid value for fields")


def test_a_comment_action_carries_the_keys_trello_documents(seeded: TrelloEmulator) -> None:
    action = raw(seeded, "POST", "/cards/c-acme/actions/comments", text="archived").json()
    assert set(action) >= {
        "id", "idMemberCreator", "type", "date", "data", "memberCreator", "appCreator", "limits",
    }  # fmt: skip
    assert action["type"] == "commentCard"
    assert set(action["data"]) >= {"text", "card", "board", "list"}
    assert set(action["data"]["card"]) == {"id", "name", "idShort", "shortLink"}
    assert set(action["data"]["board"]) == {"id", "name", "shortLink"}
    assert action["data"]["list"]["name"]  # the list's name, not only its id
    creator = action["memberCreator"]
    assert creator["id"] == action["idMemberCreator"]
    assert {"username", "fullName", "initials", "avatarUrl"} <= set(creator)
    assert creator["username"] == "syncbot"
    listed = raw(seeded, "GET", "/cards/c-acme/actions").json()
    assert listed[0] == action


def test_custom_field_definitions_carry_the_keys_trello_documents(
    seeded: TrelloEmulator, config: Config
) -> None:
    board = config.trello.boards["tda"]
    fields = raw(seeded, "GET", f"/boards/{board}/customFields").json()
    assert fields
    for f in fields:
        assert set(f) >= {"id", "idModel", "modelType", "fieldGroup", "name", "pos", "type"}
        assert f["display"] == {"cardFront": True}
        assert ("options" in f) == (f["type"] == "list")  # Trello sends options for lists only


def test_cards_and_boards_answer_to_their_short_links(
    seeded: TrelloEmulator, config: Config
) -> None:
    board_id = config.trello.boards["tda"]
    card = raw(seeded, "GET", "/cards/c-beta").json()
    by_link = raw(seeded, "GET", f"/cards/{card['shortLink']}").json()
    assert by_link["id"] == "c-beta"
    board = raw(seeded, "GET", f"/boards/{board_id}").json()
    short = board["shortUrl"].rsplit("/", 1)[1]
    assert raw(seeded, "GET", f"/boards/{short}").json()["id"] == board_id
    assert raw(seeded, "GET", f"/boards/{short}/cards").status_code == 200
    closed = raw(seeded, "PUT", f"/cards/{card['shortLink']}", closed="true").json()
    assert closed["closed"] is True
    assert seeded.card("c-beta")["closed"] is True
    assert client(seeded).get_card(card["shortLink"]).id == "c-beta"  # py-trello, as is


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/cards/Zz9Zz9Zz", 404, "Could not find the card"),  # a well-formed short link
        ("/cards/5e0000000000000000000999", 404, "Could not find the card"),
        ("/cards/not-an-id", 400, "invalid id"),
        ("/boards/5e0000000000000000000999", 404, "The requested resource was not found."),
        ("/checklists/5e0000000000000000000999", 501, None),
        ("/nowhere", 404, "Cannot GET /1/nowhere"),
    ],
)
def test_errors_are_plain_text_with_trellos_status(
    seeded: TrelloEmulator, path: str, status: int, text: str | None
) -> None:
    resp = raw(seeded, "GET", path)
    assert resp.status_code == status
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert resp.text == (text or f"GET /1{path} is not modelled by the emulator")


def test_a_board_the_token_cannot_see_is_refused_as_trello_does(
    config: Config, trello_emulator: TrelloEmulator
) -> None:
    seed = trello_seed(config, {"tda": [{"id": "c-acme", "name": "Acme Motors"}]})
    tda = next(b for b in seed["boards"] if b["id"] == config.trello.boards["tda"])
    tda["idMembers"] = ["someone-else"]
    trello_emulator.seed(seed)
    board = raw(trello_emulator, "GET", f"/boards/{tda['id']}")
    assert (board.status_code, board.text) == (401, "unauthorized permission requested")
    card = raw(trello_emulator, "GET", "/cards/c-acme")
    assert (card.status_code, card.text) == (401, "unauthorized card permission requested")
    mine = {b["id"] for b in raw(trello_emulator, "GET", "/members/me/boards").json()}
    assert tda["id"] not in mine
    assert trello_emulator.snapshot()["boards"][0]["idMembers"] == ["someone-else"]


def test_batch_runs_up_to_ten_gets_in_one_call_in_the_order_asked(
    config: Config, seeded: TrelloEmulator
) -> None:
    """Trello's GET /1/batch: `{"200": body}` per route that worked, an error item per route
    that did not; a comma inside a route's own query is percent-encoded."""
    board = config.trello.boards["tda"]
    c = client(seeded)
    cards = c.fetch_json(f"/boards/{board}/cards", query_params={"fields": "id,name"})
    fields = c.fetch_json(f"/boards/{board}/customFields")
    seeded.reset_counts()
    answer = c.fetch_json(
        "/batch",
        query_params={
            "urls": f"/boards/{board}/cards?fields=id%2Cname,/boards/{board}/customFields,"
            "/cards/5f00000000000000000000ff"
        },
    )
    assert answer[0] == {"200": cards}
    assert answer[1] == {"200": fields}
    assert answer[2]["statusCode"] == 404
    assert answer[2]["message"] == "Could not find the card"
    assert set(answer[2]) == {"name", "message", "statusCode"}
    assert [(call.method, call.path) for call in seeded.calls] == [("GET", "/1/batch")]


def test_batch_refuses_more_than_ten_routes_and_does_not_nest(seeded: TrelloEmulator) -> None:
    c = client(seeded)
    with pytest.raises(ResourceUnavailable) as exc:
        c.fetch_json("/batch", query_params={"urls": ",".join(["/members/me"] * 11)})
    assert "(HTTP status: 400)" in str(exc.value)
    [nested] = c.fetch_json("/batch", query_params={"urls": "/batch?urls=/members/me"})
    assert nested["statusCode"] == 400
