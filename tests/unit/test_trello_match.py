"""The pure Trello matcher (`connectors.trello.match`): no network, plain cards."""

from __future__ import annotations

import unicodedata

from connectors.trello.match import Card, CardSet, card_from_json

ACCOUNT = "001000000000001AAA"
EAST = "001000000000002AAA"  # another client, "Smith Motors East"


def card(cid: str, name: str, desc: str = "", account: str = "") -> Card:
    return Card(cid, name, desc, f"https://trello.com/c/{cid}", "", account)


def ids(cards: list[Card]) -> list[str]:
    return [c.id for c in cards]


def test_an_exact_title_with_another_accounts_id_in_the_description_is_not_a_match() -> None:
    cards = CardSet([card("c1", "Smith Motors", desc=f"SF: {EAST}")])
    found = CardSet.match(cards, ACCOUNT, "Smith Motors")
    assert (found.by_id, found.exact, found.mentions) == ([], [], [])


def test_an_exact_title_with_another_accounts_id_in_the_custom_field_is_not_a_match() -> None:
    found = CardSet([card("c1", "Smith Motors", account=EAST)]).match(ACCOUNT, "Smith Motors")
    assert (found.by_id, found.exact) == ([], [])


def test_a_mention_with_another_accounts_id_is_not_offered_either() -> None:
    cards = CardSet([card("c1", "Smith Motors - banners", desc=EAST[:15])])
    assert CardSet.match(cards, ACCOUNT, "Smith Motors").mentions == []


def test_the_account_id_in_the_description_matches_in_either_form() -> None:
    cards = CardSet([card("c1", "whatever", desc=f"id {ACCOUNT[:15]}"), card("c2", "x")])
    assert ids(cards.match(ACCOUNT, "Smith Motors").by_id) == ["c1"]


def test_a_card_carrying_this_and_another_account_id_is_shared_not_archived() -> None:
    cards = CardSet([card("c1", "Smith Motors", desc=f"{ACCOUNT} and {EAST}")])
    found = cards.match(ACCOUNT, "Smith Motors")
    assert (ids(found.shared), found.by_id, found.exact) == (["c1"], [], [])


def test_a_fifteen_letter_word_in_a_description_is_not_an_account_id() -> None:
    cards = CardSet([card("c1", "Smith Motors", desc="internationally known dealer")])
    assert ids(cards.match(ACCOUNT, "Smith Motors").exact) == ["c1"]


def test_names_match_across_unicode_forms_case_and_spacing() -> None:
    nfd = unicodedata.normalize("NFD", "CRÈME  brûlée Boats ")
    cards = CardSet([card("c1", nfd), card("c2", unicodedata.normalize("NFD", "Crème Brûlée"))])
    found = cards.match("", unicodedata.normalize("NFC", "Crème Brûlée Boats"))
    assert ids(found.exact) == ["c1"]
    # ... and the mention index sees the same words in either form.
    mention = CardSet([card("c3", nfd + "- spring promo")]).match("", "Crème Brûlée Boats")
    assert ids(mention.mentions) == ["c3"]


def test_removed_cards_no_longer_match() -> None:
    c1 = card("c1", "Smith Motors", desc=ACCOUNT)
    cards = CardSet([c1])
    cards.remove(c1)
    assert cards.match(ACCOUNT, "Smith Motors").by_id == []
    assert len(cards) == 0


def test_a_card_is_read_from_trellos_json_with_its_custom_field() -> None:
    j = {
        "id": "c1",
        "name": "Smith Motors",
        "desc": None,
        "shortUrl": "https://trello.com/c/abc",
        "customFieldItems": [{"idCustomField": "f1", "value": {"text": f" {ACCOUNT} "}}],
    }
    got = card_from_json(j, "f1")
    assert (got.account_field, got.desc, got.url) == (ACCOUNT, "", "https://trello.com/c/abc")
    assert card_from_json(j, None).account_field == ""


def test_a_renamed_accounts_card_matches_by_a_name_the_account_had_before() -> None:
    cards = CardSet([card("c1", "Smith Motors"), card("c2", "Smith Motors East")])
    assert ids(cards.match(ACCOUNT, "Smith Auto Group").exact) == []
    found = cards.match(ACCOUNT, "Smith Auto Group", former=("Smith Motors",))
    assert ids(found.exact) == ["c1"]
    assert found.mentions == []  # the former name's exact title is not also a mention
    # Another account's id still wins over any title, old or new.
    other = CardSet([card("c3", "Smith Motors", account=EAST)])
    assert other.match(ACCOUNT, "Smith Auto Group", former=("Smith Motors",)).exact == []
