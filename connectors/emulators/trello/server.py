"""A local Trello: the REST v1 wire format on 127.0.0.1, driven by the real py-trello.

Why: the Trello connector must be tested against what Trello actually sends (card JSON, plain-text
401s, its 429 body), and the sandbox needs boards of thousands of cards that answer fast.

Auth, on every call: `key` and `token` as query parameters (Trello's documented form) or an
`Authorization: OAuth oauth_consumer_key="KEY", oauth_token="TOKEN", ...` header (what py-trello
sends when given `token=`; the signature is not checked, as Trello does not for API tokens).
An unknown key answers 401 `invalid key`, a bad token 401 `invalid token`, as plain text.
A 429 answers `{"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}`; other
errors are plain text, as Trello's are: a malformed id 400 `invalid id`, an unknown card 404
`Could not find the card` (what Trello sends today), another unknown object 404 `The requested
resource was not found.`, a bad `fields=` name 400 `invalid value for fields`. A path under a
Trello resource that no route serves answers 501 "... is not modelled by the emulator"; any
other path 404 `Cannot GET /1/...`.

Held to Trello's REST reference: cards, comment actions (with `memberCreator`, `data.card`,
`data.board`, `data.list`) and custom-field definitions (`options` only for list fields) carry
the keys Trello documents, and `/1/cards/{id}` and `/1/boards/{id}` take an 8-character short
link wherever they take an id.

Routes (all under /1): GET members/me, members/me/boards; GET boards/{id}, boards/{id}/cards
(also /cards/open|closed|all|visible, or `filter=`; `customFieldItems=true`; `fields=`),
boards/{id}/cards/{cardId}, boards/{id}/lists, boards/{id}/customFields; GET lists/{id};
GET/PUT cards/{id} (PUT takes closed, name, desc, idList from the query or a JSON body), PUT
cards/{id}/closed|name|desc|idList with `value` (py-trello's setters); POST
cards/{id}/actions/comments (`text`); GET cards/{id}/actions (`filter`, default commentCard,
newest first); GET cards/{id}/customFieldItems; GET search (`query`, `idBoards`, `cards_limit`,
`partial`; open cards whose name or description holds every word).

`seed(data)` replaces everything; `snapshot()` returns the same shape (seedable again)::

    {"credentials": [{"key": "k", "token": "t",
                      "member": {"id": "m1", "username": "bot", "fullName": "Sync Bot"}}],
     "boards": [{"id": "b1", "name": "Targeted Digital Advertising",
                 "lists": [{"id": "l1", "name": "Active"}],
                 "customFields": [{"id": "cf1", "name": "Salesforce Account ID",
                                   "type": "text"}],
                 "cards": [{"id": "c1", "name": "Acme Motors", "desc": "", "idList": "l1",
                            "closed": false,
                            "customFieldItems": [{"idCustomField": "cf1",
                                                  "value": {"text": "001..."}}],
                            "comments": ["plain text", {"text": "...", "date": "ISO"}]}]}]}

Omitted ids are generated (24 hex digits); `idList` defaults to the board's first list;
`dateLastActivity` may be given (ISO 8601) and is kept. A board may list `idMembers`: then only
those members' tokens see it (401 `unauthorized permission requested` for the board,
`unauthorized card permission requested` for its cards, as Trello answers); without it every
token does. Snapshot comments are dicts with id,
text, date and idMemberCreator; snapshot items carry their own `id`.

Why one module of about 860 lines: it is the route table of one service (members, boards, lists,
cards, custom fields, comments, actions, `/1/batch`), every route answering in Trello's one
error shape over one in-memory model of boards and cards; a route split off would still need
that whole model and its lock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from connectors.emulators.base import (
    Emulator,
    EmulatorError,
    Request,
    Response,
    json_response,
    route,
)
from connectors.emulators.service_clock import service_now

_OAUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
_CARD_FILTERS = ("open", "closed", "all", "visible")
_ID = r"(?P<{}>[^/]+)"
_EDITABLE = ("closed", "name", "desc", "idList")
# The card fields Trello documents for `fields=` (plus id, always returned).
_CARD_FIELDS = frozenset(
    [
        "id",
        "address",
        "badges",
        "checkItemStates",
        "closed",
        "coordinates",
        "creationMethod",
        "dueComplete",
        "dateLastActivity",
        "desc",
        "descData",
        "due",
        "dueReminder",
        "email",
        "idBoard",
        "idChecklists",
        "idLabels",
        "idList",
        "idMembers",
        "idMembersVoted",
        "idShort",
        "idAttachmentCover",
        "labels",
        "limits",
        "locationName",
        "manualCoverAttachment",
        "name",
        "pos",
        "shortLink",
        "shortUrl",
        "start",
        "subscribed",
        "url",
        "cover",
        "isTemplate",
        "cardRole",
    ]
)
# Trello's top-level resources: a path under one that no route serves is "not modelled".
_BATCH_ERROR_NAMES = {400: "BadRequestError", 401: "UnauthorizedError", 404: "NotFoundError"}
_RESOURCES = [
    "actions",
    "applications",
    "batch",
    "boards",
    "cards",
    "checklists",
    "customFields",
    "emoji",
    "enterprises",
    "labels",
    "lists",
    "members",
    "notifications",
    "organizations",
    "plugins",
    "search",
    "tokens",
    "webhooks",
]


def _iso(when: datetime) -> str:
    """Trello's timestamps: UTC with milliseconds and a Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


@dataclass
class _Board:
    id: str
    name: str
    desc: str = ""
    closed: bool = False
    lists: list[dict[str, Any]] = field(default_factory=list)
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    card_ids: list[str] = field(default_factory=list)
    next_short: int = 1
    members: list[str] | None = None  # member ids that may see the board; None: everyone

    @property
    def short_link(self) -> str:
        return _short_link(self.id)


@dataclass
class _Card:
    id: str
    board: str
    name: str
    desc: str
    id_list: str
    closed: bool
    pos: float
    id_short: int
    last_activity: str
    items: list[dict[str, Any]] = field(default_factory=list)
    # Newest first, as Trello returns a card's actions.
    actions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def short_link(self) -> str:
        return _short_link(self.id)

    @property
    def comment_count(self) -> int:
        return sum(1 for a in self.actions if a["type"] == "commentCard")


class TrelloEmulator(Emulator):
    """Trello REST v1 in memory; see the module docstring for routes and the seed format."""

    service = "trello"
    runtime_state = Emulator.runtime_state | {"clock", "_member", "_seq"}

    def __init__(self, *, clock: Callable[[], datetime] = service_now) -> None:
        super().__init__()
        self.clock = clock
        self._credentials: list[dict[str, Any]] = []
        self._boards: dict[str, _Board] = {}
        self._cards: dict[str, _Card] = {}
        self._short: dict[str, str] = {}  # short link -> id, for boards and cards
        self._seq = 0
        self._member: dict[str, Any] = {}

    # ----- data ------------------------------------------------------------------------
    def seed(self, data: dict[str, Any]) -> None:
        with self.lock:
            self._credentials = [dict(c) for c in data.get("credentials", [])]
            self._boards.clear()
            self._cards.clear()
            self._short.clear()
            for b in data.get("boards", []):
                board = _Board(
                    id=b.get("id") or self._new_id(),
                    name=b.get("name", ""),
                    desc=b.get("desc", ""),
                    closed=bool(b.get("closed", False)),
                    members=list(b["idMembers"]) if "idMembers" in b else None,
                )
                for i, lst in enumerate(b.get("lists", [])):
                    board.lists.append(
                        {
                            "id": lst.get("id") or self._new_id(),
                            "name": lst.get("name", ""),
                            "closed": bool(lst.get("closed", False)),
                            "idBoard": board.id,
                            "pos": lst.get("pos", 16384 * (i + 1)),
                        }
                    )
                for i, cf in enumerate(b.get("customFields", [])):
                    board.custom_fields.append(
                        {
                            "id": cf.get("id") or self._new_id(),
                            "idModel": board.id,
                            "modelType": "board",
                            "fieldGroup": hashlib.sha1(  # noqa: S324 - an id, not security
                                str(cf.get("name")).encode()
                            ).hexdigest(),
                            "name": cf.get("name", ""),
                            "type": cf.get("type", "text"),
                            "pos": cf.get("pos", 16384 * (i + 1)),
                            "display": {"cardFront": True},
                            "isSuggestedField": False,
                            # Trello sends `options` only for list fields.
                            **(
                                {"options": cf.get("options", [])}
                                if cf.get("type") == "list"
                                else {}
                            ),
                        }
                    )
                self._boards[board.id] = board
                self._short[board.short_link] = board.id
                for c in b.get("cards", []):
                    self._add_card(board, c)

    def _add_card(self, board: _Board, c: dict[str, Any]) -> _Card:
        if not board.lists:
            board.lists.append(
                {
                    "id": self._new_id(),
                    "name": "To Do",
                    "closed": False,
                    "idBoard": board.id,
                    "pos": 16384,
                }
            )
        card = _Card(
            id=c.get("id") or self._new_id(),
            board=board.id,
            name=c.get("name", ""),
            desc=c.get("desc", ""),
            id_list=c.get("idList") or board.lists[0]["id"],
            closed=bool(c.get("closed", False)),
            pos=float(c.get("pos", 16384 * (len(board.card_ids) + 1))),
            id_short=board.next_short,
            last_activity=c.get("dateLastActivity") or _iso(self.clock()),
        )
        board.next_short += 1
        for item in c.get("customFieldItems", []):
            card.items.append(
                {
                    "id": item.get("id") or self._new_id(),
                    "idCustomField": item["idCustomField"],
                    "idModel": card.id,
                    "modelType": "card",
                    "value": item.get("value"),
                    **({"idValue": item["idValue"]} if "idValue" in item else {}),
                }
            )
        for comment in c.get("comments", []):
            entry = {"text": comment} if isinstance(comment, str) else dict(comment)
            card.actions.insert(
                0,
                self._comment_action(
                    card,
                    entry["text"],
                    entry.get("date") or card.last_activity,
                    entry.get("idMemberCreator", ""),
                    entry.get("id"),
                ),
            )
        self._cards[card.id] = card
        self._short[card.short_link] = card.id
        board.card_ids.append(card.id)
        return card

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "credentials": [dict(c) for c in self._credentials],
                "boards": [self._board_snapshot(b) for b in self._boards.values()],
            }

    def _board_snapshot(self, b: _Board) -> dict[str, Any]:
        return {
            "id": b.id,
            "name": b.name,
            "desc": b.desc,
            "closed": b.closed,
            "lists": [{"id": lst["id"], "name": lst["name"]} for lst in b.lists],
            "customFields": [
                {"id": cf["id"], "name": cf["name"], "type": cf["type"]} for cf in b.custom_fields
            ],
            "cards": [self.card(cid) for cid in b.card_ids],
            **({"idMembers": list(b.members)} if b.members is not None else {}),
        }

    def _may_see(self, board: _Board) -> bool:
        return board.members is None or self._member.get("id") in board.members

    def card(self, card_id: str) -> dict[str, Any]:
        """One card in snapshot form (tests read what the connector did)."""
        with self.lock:
            c = self._cards[card_id]
            return {
                "id": c.id,
                "name": c.name,
                "desc": c.desc,
                "idList": c.id_list,
                "closed": c.closed,
                "pos": c.pos,
                "dateLastActivity": c.last_activity,
                "customFieldItems": [
                    {k: v for k, v in i.items() if k in ("id", "idCustomField", "value", "idValue")}
                    for i in c.items
                ],
                "comments": [
                    {
                        "id": a["id"],
                        "text": a["data"]["text"],
                        "date": a["date"],
                        "idMemberCreator": a["idMemberCreator"],
                    }
                    for a in reversed(c.actions)
                    if a["type"] == "commentCard"
                ],
            }

    def add_card(self, board_id: str, **card: Any) -> str:
        """Add one card to a seeded board (a person adding a card mid-test); returns its id."""
        with self.lock:
            return self._add_card(self._boards[board_id], card).id

    def _new_id(self) -> str:
        while True:
            self._seq += 1
            candidate = f"{0x5E0000000000000000000000 + self._seq:024x}"
            if candidate not in self._cards and candidate not in self._boards:
                return candidate

    # ----- wire format -----------------------------------------------------------------
    def error(self, status: int, message: str, code: str = "") -> Response:
        """Trello answers 429 in JSON and everything else as plain text."""
        if status == 429:
            return json_response(
                {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}, 429
            )
        return Response(status=status, body=message, content_type="text/plain; charset=utf-8")

    def quota_keys(self, req: Request) -> dict[str, str]:
        """Trello counts every request against its token and its API key (quota.py)."""
        key, token = _key_and_token(req)
        keys = {"API_KEY_LIMIT_EXCEEDED": key} if key else {}
        if token:
            keys["API_TOKEN_LIMIT_EXCEEDED"] = token
        return keys

    def quota_refusal(self, window: str, req: Request) -> Response:
        """The body Trello's rate-limit guide shows; which limit was hit is in `error`."""
        return json_response({"error": window, "message": "Rate limit exceeded"}, 429)

    def _route(self, req: Request) -> Response:
        """Every call is authenticated first, as Trello does."""
        key, token = _key_and_token(req)
        creds = [c for c in self._credentials if c.get("key") == key] if key else []
        if not creds:
            return self.error(401, "invalid key")
        match = next((c for c in creds if token and c.get("token") == token), None)
        if match is None:
            return self.error(401, "invalid token")
        self._member = dict(match.get("member") or {"id": "member", "username": "member"})
        if not any(pattern.match(req.path) for _, pattern, _ in self._routes):
            parts = req.path.split("/")
            if len(parts) > 2 and parts[1] == "1" and parts[2] in _RESOURCES:
                return self.error(501, f"{req.method} {req.path} is not modelled by the emulator")
            return self.error(404, f"Cannot {req.method} {req.path}")
        return super()._route(req)

    def _params(self, req: Request) -> dict[str, Any]:
        """Query parameters overlaid by a JSON (py-trello) or form body."""
        out: dict[str, Any] = {k: v[0] for k, v in req.query.items() if v}
        if req.body:
            if "json" in req.header("Content-Type"):
                body = req.json()
                if isinstance(body, dict):
                    out.update(body)
            else:
                out.update(req.form())
        return out

    def _board_json(self, b: _Board) -> dict[str, Any]:
        return {
            "id": b.id,
            "name": b.name,
            "desc": b.desc,
            "closed": b.closed,
            "idOrganization": None,
            "pinned": False,
            "url": f"https://trello.com/b/{b.short_link}/{_slug(b.name)}",
            "shortUrl": f"https://trello.com/b/{b.short_link}",
            "prefs": {"permissionLevel": "private"},
            "labelNames": {},
            "descData": None,
            "idEnterprise": None,
        }

    def _card_json(
        self, c: _Card, *, items: bool = False, fields: set[str] | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": c.id,
            "badges": {
                "attachmentsByType": {"trello": {"board": 0, "card": 0}},
                "location": False,
                "votes": 0,
                "viewingMemberVoted": False,
                "subscribed": False,
                "fogbugz": "",
                "checkItems": 0,
                "checkItemsChecked": 0,
                "comments": c.comment_count,
                "attachments": 0,
                "description": bool(c.desc),
                "due": None,
                "dueComplete": False,
                "start": None,
                "checkItemsEarliestDue": None,
            },
            "checkItemStates": [],
            "closed": c.closed,
            "dueComplete": False,
            "dateLastActivity": c.last_activity,
            "desc": c.desc,
            "descData": {"emoji": {}},
            "due": None,
            "dueReminder": None,
            "email": None,
            "idBoard": c.board,
            "idChecklists": [],
            "idLabels": [],
            "idList": c.id_list,
            "idMembers": [],
            "idMembersVoted": [],
            "idShort": c.id_short,
            "idAttachmentCover": None,
            "labels": [],
            "manualCoverAttachment": False,
            "name": c.name,
            "pos": c.pos,
            "shortLink": c.short_link,
            "shortUrl": f"https://trello.com/c/{c.short_link}",
            "start": None,
            "subscribed": False,
            "url": f"https://trello.com/c/{c.short_link}/{c.id_short}-{_slug(c.name)}",
            "isTemplate": False,
            "address": None,
            "locationName": None,
            "coordinates": None,
            "cardRole": None,
            "cover": {
                "idAttachment": None,
                "color": None,
                "idUploadedBackground": None,
                "size": "normal",
                "brightness": "dark",
                "idPlugin": None,
            },
        }
        if fields is not None:
            out = {k: v for k, v in out.items() if k in fields or k == "id"}
        if items:
            out["customFieldItems"] = [dict(i) for i in c.items]
        return out

    def _fields(self, req: Request) -> set[str] | None:
        """A card `fields=` list; Trello refuses a name that is not a card field."""
        raw = req.arg("fields", "all") or "all"
        if raw == "all":
            return None
        names = {f.strip() for f in raw.split(",") if f.strip()}
        if names - _CARD_FIELDS:
            raise EmulatorError(400, "invalid value for fields")
        return names

    def _get_board(self, board_id: str) -> _Board:
        """By id or by short link, as Trello's /1/boards/{id} takes either."""
        board = self._boards.get(board_id) or self._boards.get(self._short.get(board_id, ""))
        if board is None:
            raise _not_found(board_id, "The requested resource was not found.")
        if not self._may_see(board):
            raise EmulatorError(401, "unauthorized permission requested")
        return board

    def _get_card(self, card_id: str) -> _Card:
        """By id or by short link, as Trello's /1/cards/{id} takes either."""
        card = self._cards.get(card_id) or self._cards.get(self._short.get(card_id, ""))
        if card is None:
            raise _not_found(card_id, "Could not find the card")
        if not self._may_see(self._boards[card.board]):
            raise EmulatorError(401, "unauthorized card permission requested")
        return card

    def _comment_action(
        self, card: _Card, text: str, date: str, member_id: str, action_id: str | None = None
    ) -> dict[str, Any]:
        board = self._boards[card.board]
        return {
            "id": action_id or self._new_id(),
            "idMemberCreator": member_id,
            "type": "commentCard",
            "date": date,
            "data": {
                "text": text,
                "card": {
                    "id": card.id,
                    "name": card.name,
                    "idShort": card.id_short,
                    "shortLink": card.short_link,
                },
                "board": {"id": board.id, "name": board.name, "shortLink": board.short_link},
                "list": {"id": card.id_list, "name": self._list_name(board, card.id_list)},
                "textData": {"emoji": {}},
            },
            "appCreator": None,
            "limits": {
                "reactions": {
                    "perAction": {"status": "ok", "disableAt": 900, "warnAt": 720},
                    "uniquePerAction": {"status": "ok", "disableAt": 17, "warnAt": 14},
                }
            },
            "memberCreator": self._member_creator(member_id),
        }

    def _list_name(self, board: _Board, list_id: str) -> str:
        return next((str(lst["name"]) for lst in board.lists if lst["id"] == list_id), "")

    def _member_creator(self, member_id: str) -> dict[str, Any]:
        """The member object Trello nests in an action (`memberCreator`)."""
        known = [c.get("member") or {} for c in self._credentials]
        m = next((k for k in known if k.get("id") == member_id), {"id": member_id})
        full = str(m.get("fullName", ""))
        return {
            "id": member_id,
            "activityBlocked": False,
            "avatarHash": None,
            "avatarUrl": None,
            "fullName": full,
            "idMemberReferrer": None,
            "initials": "".join(p[:1] for p in full.split()).upper(),
            "nonPublic": {},
            "nonPublicAvailable": True,
            "username": str(m.get("username", "")),
        }

    # ----- routes: batch ---------------------------------------------------------------
    @route("GET", r"/1/batch")
    def get_batch(self, req: Request) -> Response:
        """Up to 10 GET routes in one call (Trello's `GET /1/batch?urls=/a,/b`): the answer is
        a list in the order asked, `{"200": body}` for each route that worked and
        `{"name", "message", "statusCode"}` for one that did not; the call itself is 200.

        Routes are comma-separated without the `/1` prefix; a comma inside one route's own
        query must be percent-encoded (`fields=id%2Cname`), as the separator is a bare comma.
        A route that is itself a batch is not run, as Trello documents. Counted as one call.
        The error items' `name` values and the text for more than 10 routes are not published
        by Trello: the emulator's are its own."""
        raw = req.arg("urls") or ""
        routes = [u for u in raw.split(",") if u]
        if not routes:
            raise EmulatorError(400, "invalid value for urls")
        if len(routes) > 10:
            raise EmulatorError(400, "invalid value for urls: at most 10 routes")
        auth = {k: v for k, v in req.query.items() if k in ("key", "token")}
        out: list[dict[str, Any]] = []
        for route_text in routes:
            parts = urlsplit(route_text)
            path = "/1" + parts.path if not parts.path.startswith("/1/") else parts.path
            if not parts.path.startswith("/") or path.rstrip("/") == "/1/batch":
                out.append({"name": "BadRequestError", "message": "invalid url", "statusCode": 400})
                continue
            inner = Request(
                method="GET",
                path=path,
                query={**parse_qs(parts.query, keep_blank_values=True), **auth},
                headers=dict(req.headers),
                body=b"",
                host=req.host,
            )
            resp = self._route(inner)
            if resp.status == 200:
                out.append({"200": resp.body})
            else:
                message = resp.body if isinstance(resp.body, str) else str(resp.body)
                out.append(
                    {
                        "name": _BATCH_ERROR_NAMES.get(resp.status, "Error"),
                        "message": message,
                        "statusCode": resp.status,
                    }
                )
        return json_response(out)

    # ----- routes: members -------------------------------------------------------------
    @route("GET", r"/1/members/me")
    def get_me(self, req: Request) -> Response:
        m = self._member
        return json_response(
            {
                "id": m.get("id", ""),
                "username": m.get("username", ""),
                "fullName": m.get("fullName", ""),
                "initials": "".join(p[:1] for p in str(m.get("fullName", "")).split()).upper(),
                "email": m.get("email"),
                "status": "disconnected",
                "bio": "",
                "url": f"https://trello.com/{m.get('username', '')}",
                "avatarUrl": None,
                "memberType": "normal",
                "idBoards": list(self._boards),
            }
        )

    @route("GET", r"/1/members/me/boards(?:/(?P<board_filter>all|open|closed))?")
    def get_my_boards(self, req: Request, board_filter: str | None = None) -> Response:
        which = board_filter or req.arg("filter", "all") or "all"
        boards = [
            self._board_json(b)
            for b in self._boards.values()
            if self._may_see(b) and (which == "all" or (which == "closed") == b.closed)
        ]
        return json_response(boards)

    # ----- routes: boards --------------------------------------------------------------
    @route("GET", r"/1/boards/" + _ID.format("board_id"))
    def get_board(self, req: Request, board_id: str) -> Response:
        return json_response(self._board_json(self._get_board(board_id)))

    @route("GET", r"/1/boards/" + _ID.format("board_id") + r"/cards(?:/(?P<sub>[^/]+))?")
    def get_board_cards(self, req: Request, board_id: str, sub: str | None = None) -> Response:
        board = self._get_board(board_id)
        items = _truthy(req.arg("customFieldItems", "false"))
        fields = self._fields(req)
        if sub is not None and sub not in _CARD_FILTERS:
            card = self._get_card(sub)
            if card.board != board.id:
                raise EmulatorError(404, "The requested resource was not found.")
            return json_response(self._card_json(card, items=items, fields=fields))
        which = sub or req.arg("filter", "open") or "open"
        if which not in _CARD_FILTERS:
            raise EmulatorError(400, "invalid value for filter")
        out = []
        for cid in board.card_ids:
            c = self._cards[cid]
            if which in ("open", "visible") and c.closed:
                continue
            if which == "closed" and not c.closed:
                continue
            out.append(self._card_json(c, items=items, fields=fields))
        return json_response(out)

    @route("GET", r"/1/boards/" + _ID.format("board_id") + r"/lists")
    def get_board_lists(self, req: Request, board_id: str) -> Response:
        board = self._get_board(board_id)
        which = req.arg("filter", "open") or "open"
        lists = [
            dict(lst)
            for lst in board.lists
            if which == "all" or (which == "closed") == bool(lst.get("closed"))
        ]
        return json_response(lists)

    @route("GET", r"/1/boards/" + _ID.format("board_id") + r"/customFields")
    def get_board_custom_fields(self, req: Request, board_id: str) -> Response:
        return json_response([dict(cf) for cf in self._get_board(board_id).custom_fields])

    @route("GET", r"/1/lists/" + _ID.format("list_id"))
    def get_list(self, req: Request, list_id: str) -> Response:
        for board in self._boards.values():
            for lst in board.lists:
                if lst["id"] == list_id:
                    return json_response(dict(lst))
        raise EmulatorError(404, "The requested resource was not found.")

    # ----- routes: cards ---------------------------------------------------------------
    @route("GET", r"/1/cards/" + _ID.format("card_id"))
    def get_card(self, req: Request, card_id: str) -> Response:
        card = self._get_card(card_id)
        items = _truthy(req.arg("customFieldItems", "false"))
        return json_response(self._card_json(card, items=items, fields=self._fields(req)))

    @route("PUT", r"/1/cards/" + _ID.format("card_id"))
    def put_card(self, req: Request, card_id: str) -> Response:
        card = self._get_card(card_id)
        params = self._params(req)
        self._update(card, {k: params[k] for k in _EDITABLE if k in params})
        return json_response(self._card_json(card))

    @route("PUT", r"/1/cards/" + _ID.format("card_id") + r"/(?P<attr>closed|name|desc|idList)")
    def put_card_attr(self, req: Request, card_id: str, attr: str) -> Response:
        card = self._get_card(card_id)
        params = self._params(req)
        if "value" not in params:
            raise EmulatorError(400, "invalid value for value")
        self._update(card, {attr: params["value"]})
        return json_response(self._card_json(card))

    def _update(self, card: _Card, changes: dict[str, Any]) -> None:
        old: dict[str, Any] = {}
        if "closed" in changes:
            old["closed"] = card.closed
            card.closed = _truthy(changes["closed"])
        if "name" in changes:
            if not str(changes["name"]).strip():
                raise EmulatorError(400, "invalid value for name")
            old["name"] = card.name
            card.name = str(changes["name"])
        if "desc" in changes:
            old["desc"] = card.desc
            card.desc = str(changes["desc"])
        if "idList" in changes:
            board = self._boards[card.board]
            if not any(lst["id"] == changes["idList"] for lst in board.lists):
                raise EmulatorError(400, "invalid value for idList")
            old["idList"] = card.id_list
            card.id_list = str(changes["idList"])
        if not old:
            return
        card.last_activity = _iso(self.clock())
        card.actions.insert(
            0,
            {
                "id": self._new_id(),
                "idMemberCreator": self._member.get("id", ""),
                "type": "updateCard",
                "date": card.last_activity,
                "data": {
                    "old": old,
                    "card": {"id": card.id, "name": card.name, "closed": card.closed},
                },
            },
        )

    @route("POST", r"/1/cards/" + _ID.format("card_id") + r"/actions/comments")
    def post_comment(self, req: Request, card_id: str) -> Response:
        card = self._get_card(card_id)
        text = str(self._params(req).get("text") or "")
        if not text.strip():
            raise EmulatorError(400, "invalid value for text")
        card.last_activity = _iso(self.clock())
        action = self._comment_action(card, text, card.last_activity, self._member.get("id", ""))
        card.actions.insert(0, action)
        return json_response(action)

    @route("GET", r"/1/cards/" + _ID.format("card_id") + r"/actions")
    def get_card_actions(self, req: Request, card_id: str) -> Response:
        card = self._get_card(card_id)
        raw = req.arg("filter", "commentCard") or "commentCard"
        kinds = {k.split(":")[0] for k in raw.split(",")}
        limit = int(req.arg("limit", "50") or 50)
        out = [dict(a) for a in card.actions if "all" in kinds or a["type"] in kinds]
        return json_response(out[:limit])

    @route("GET", r"/1/cards/" + _ID.format("card_id") + r"/customFieldItems")
    def get_card_items(self, req: Request, card_id: str) -> Response:
        return json_response([dict(i) for i in self._get_card(card_id).items])

    # ----- routes: search --------------------------------------------------------------
    @route("GET", r"/1/search")
    def search(self, req: Request) -> Response:
        query = (req.arg("query", "") or "").casefold()
        words = query.split()
        if not words:
            raise EmulatorError(400, "invalid value for query")
        partial = _truthy(req.arg("partial", "false"))
        boards = {b for v in req.query.get("idBoards", []) for b in v.split(",") if b}
        limit = int(req.arg("cards_limit", "10") or 10)
        cards = []
        for c in self._cards.values():
            if c.closed or (boards and c.board not in boards):
                continue
            if not self._may_see(self._boards[c.board]):
                continue
            tokens = re.findall(r"\w+", f"{c.name} {c.desc}".casefold())
            if all(any(t.startswith(w) if partial else t == w for t in tokens) for w in words):
                cards.append(self._card_json(c))
                if len(cards) >= limit:
                    break
        found_boards = [
            self._board_json(b)
            for b in self._boards.values()
            if self._may_see(b) and all(w in b.name.casefold() for w in words)
        ]
        return json_response(
            {
                "options": {
                    "terms": [{"text": w} for w in words],
                    "modelTypes": [],
                    "partial": partial,
                },
                "cards": cards,
                "boards": found_boards,
                "members": [],
                "organizations": [],
                "actions": [],
            }
        )


def _short_link(ident: str) -> str:
    """An 8-character short link, stable per id (Trello's are 8 letters and digits)."""
    return hashlib.sha1(ident.encode()).hexdigest()[:8]  # noqa: S324 - an id, not security


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "card"


def _not_found(ident: str, message: str) -> EmulatorError:
    """Trello answers 404 (plain text) for a well-formed id or short link it does not know,
    400 `invalid id` for a malformed one."""
    if _looks_like_id(ident):
        return EmulatorError(404, message)
    return EmulatorError(400, "invalid id")


def _looks_like_id(value: str) -> bool:
    """A 24-hex-digit id or an 8-character short link."""
    return bool(re.fullmatch(r"[0-9a-fA-F]{24}|[0-9A-Za-z]{8}", value))


def _key_and_token(req: Request) -> tuple[str | None, str | None]:
    """The API key and token, from the query or the `Authorization: OAuth ...` header."""
    key = req.arg("key")
    token = req.arg("token")
    auth = req.header("Authorization")
    if auth.startswith("OAuth "):
        params = {k: unquote(v) for k, v in _OAUTH_PARAM.findall(auth)}
        key = key or params.get("oauth_consumer_key")
        token = token or params.get("oauth_token")
    return key, token
