"""Pure matching of Trello cards to a client: which cards of a board are this client's.

Split from `connectors.trello.connector` (which reads boards and writes archives and comments) so
the rules can be tested on plain data with no network, as `sheets_plan` is for Sheets and
`salesforce_records` for Salesforce.

The rules, in order:

1. A card that carries the request's Salesforce account id (in the account-id custom field or
   anywhere in its description, 15- or 18-character form) is the client's card.
2. A card that carries a *different* account id, wherever (custom field or description), is
   that other client's card: it is never matched by its title, however exactly the title reads
   ("Smith Motors" with Smith Motors East's id in its description belongs to Smith Motors East).
   A card carrying both this account's id and another's is shared: a person decides.
3. Otherwise the title: exactly the client's name (compared with `sync.core.names.name_key`: Unicode
   form, case and spacing ignored), or exactly a name the account had before (`former`: the
   names the sync has seen for it; a renamed account's cards keep the old title). Titles that
   merely mention the name go to a person.

A board's cards are indexed once (account ids, exact titles, title words), so matching a client
costs a few look-ups, not a scan of a 2,000-card board per effect.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.core.names import id_key, name_key

_WORD = re.compile(r"\w+")
_ID_TOKEN = re.compile(r"(?<![A-Za-z0-9])([A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?)(?![A-Za-z0-9])")
# Key prefix of Salesforce Account ids, used when the request has no account id to compare with.
ACCOUNT_PREFIX = "001"


def id15(value: str) -> str:
    """A Salesforce id in its 15-character form (case kept); other text as is."""
    value = id_key(value)
    return value[:15] if len(value) in (15, 18) else value


@dataclass(frozen=True)
class Card:
    id: str
    name: str
    desc: str
    url: str
    last_activity: str
    account_field: str  # the account-id custom field's text, "" if unset

    def show(self) -> str:
        return f"'{self.name}' ({self.url or self.id})"

    def account_ids(self) -> frozenset[str]:
        """Every id-shaped token the card carries (custom field and description), 15-char form."""
        ids = {id15(self.account_field)} | {id15(t) for t in _ID_TOKEN.findall(self.desc)}
        return frozenset(ids - {""})


def card_from_json(j: Mapping[str, Any], field_id: str | None) -> Card:
    """A card as Trello's `/boards/{id}/cards` answer gives it (with `customFieldItems`)."""
    value = ""
    if field_id:
        for item in j.get("customFieldItems") or []:
            if item.get("idCustomField") == field_id:
                v = item.get("value") or {}
                value = str(v.get("text") or v.get("number") or "")
    return Card(
        id=str(j["id"]),
        name=str(j.get("name", "")),
        desc=str(j.get("desc", "") or ""),
        url=str(j.get("shortUrl") or j.get("url") or ""),
        last_activity=str(j.get("dateLastActivity") or ""),
        account_field=value.strip(),
    )


@dataclass(frozen=True)
class Match:
    """How a board's cards relate to one client."""

    by_id: list[Card] = field(default_factory=list)  # carry this account's id only
    shared: list[Card] = field(default_factory=list)  # carry this account's id and another's
    exact: list[Card] = field(default_factory=list)  # titled exactly the client, no other id
    mentions: list[Card] = field(default_factory=list)  # titles that only mention the client


class CardSet:
    """One board's cards in board order, indexed by account id, exact title and title words."""

    def __init__(self, cards: Iterable[Card] = ()) -> None:
        self._pos: dict[str, int] = {}
        self._cards: dict[str, Card] = {}
        self._ids: dict[str, frozenset[str]] = {}
        self._by_aid: dict[str, set[str]] = {}
        self._by_title: dict[str, set[str]] = {}
        self._by_word: dict[str, set[str]] = {}
        for card in cards:
            self.add(card)

    def __len__(self) -> int:
        return len(self._cards)

    def _keys(self, card: Card) -> tuple[str, set[str]]:
        title = name_key(card.name)
        return title, set(_WORD.findall(title))

    def add(self, card: Card) -> None:
        self._pos[card.id] = len(self._pos)
        self._cards[card.id] = card
        self._ids[card.id] = card.account_ids()
        title, words = self._keys(card)
        for a in self._ids[card.id]:
            self._by_aid.setdefault(a, set()).add(card.id)
        self._by_title.setdefault(title, set()).add(card.id)
        for w in words:
            self._by_word.setdefault(w, set()).add(card.id)

    def remove(self, card: Card) -> None:
        if self._cards.pop(card.id, None) is None:
            return
        title, words = self._keys(card)
        for a in self._ids.pop(card.id, frozenset()):
            self._by_aid[a].discard(card.id)
        self._by_title[title].discard(card.id)
        for w in words:
            self._by_word[w].discard(card.id)

    def _ordered(self, ids: Iterable[str]) -> list[Card]:
        return [self._cards[i] for i in sorted(ids, key=self._pos.__getitem__)]

    def _names_other_account(self, cid: str, aid: str) -> bool:
        """Does the card carry an account id that is not `aid`? The custom field always counts
        (it holds nothing else); in the description only ids of the same kind of record as the
        request's account do (same 3-character key prefix), so a 15-letter word is not an id."""
        card = self._cards[cid]
        if card.account_field and id15(card.account_field) != aid:
            return True
        prefix = aid[:3] if aid else ACCOUNT_PREFIX
        return any(a != aid and a.startswith(prefix) for a in self._ids[cid])

    def match(self, account_id: str, client_name: str, former: Sequence[str] = ()) -> Match:
        aid = id15(account_id)
        name = name_key(client_name)
        carrying = set(self._by_aid.get(aid, ())) if aid else set()
        shared = {c for c in carrying if self._names_other_account(c, aid)}
        by_id = carrying - shared

        def title_candidate(cid: str) -> bool:
            return cid not in carrying and not self._names_other_account(cid, aid)

        titles = {n for n in (name, *(name_key(f) for f in former)) if n}
        exact = {c for t in titles for c in self._by_title.get(t, ()) if title_candidate(c)}
        mentions: set[str] = set()
        if name:
            mention = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
            first = _WORD.search(name)
            pool = self._by_word.get(first.group(), set()) if first else set(self._cards)
            mentions = {
                c
                for c in pool
                if c not in exact
                and title_candidate(c)
                and name_key(self._cards[c].name) not in titles
                and mention.search(name_key(self._cards[c].name))
            }
        return Match(
            by_id=self._ordered(by_id),
            shared=self._ordered(shared),
            exact=self._ordered(exact),
            mentions=self._ordered(mentions),
        )
