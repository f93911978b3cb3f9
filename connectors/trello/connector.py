"""Archive a cancelled client's cards on the configured Trello boards, with a comment saying why.

Replaces the outside partner who removed clients from the boards. Reads are the expensive part on
boards of thousands of cards, so each board's open cards are read ONCE per `apply()` (with their
custom field items, plus one read of the board's custom field definitions) and every effect of
the run is matched against that cache; there is never a search per client.

Which cards are the client's is decided without I/O in `connectors.trello.match` (the account
id in the custom field named `trello.account_id_field` or in the description; else the exact
client name as the whole title; a card carrying another account's id, wherever, is never a
title match). Several title matches with nothing to tell them apart, cards shared with another
account, or only titles that merely mention the client, go to a person: the sync does not
guess. This module reads each board once and does the writes; `connectors.trello.errors` says what
py-trello's exceptions mean (retried, or fatal).

Order of writes per card: archive first, then comment. The archive is the effect; the comment
only explains it. If a run stops between the two, the card is closed and the next run sees it
in the (one) read of closed cards: it reports ALREADY_DONE and adds the comment if this request's
`sync-ref` marker is missing (checked only for cards whose last activity is on or after the
request's approval). Comment-first would instead leave an open card saying it was archived, and
a re-run would comment twice.

Why one module of about 700 lines: a run's board cache (`_Board`: the one read of open and
closed cards, what this run archived, which effect claimed which card), the session's
Retry-After and the retry count are shared by every step of `apply` (decide all archives before
the first write, archive then comment, repair a missing comment, reopen for an undo) and by
`verify`. The pure parts are apart already (`match`, `errors`); splitting the I/O further would
pass that state between modules instead of keeping it in one object.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from trello import TrelloClient

from connectors import pacing
from connectors.base import Journal
from connectors.http import cache_environment, mount_routes
from connectors.inflight import in_order
from connectors.retry import RetryPolicy, retry_after_seconds
from connectors.trello.errors import SERVICE, TRANSLATED, again, error_text, translate
from connectors.trello.match import Card, CardSet, card_from_json
from sync.config.model import Config
from sync.config.secrets import secret_from_env
from sync.core.domain import (
    Check,
    CheckState,
    Effect,
    EffectKind,
    Outcome,
    OutcomeStatus,
    RequestType,
    System,
)
from sync.core.names import display_name, name_key
from sync.errors import ConnectorError, FatalError

log = logging.getLogger("connectors.trello")

API_PATH = {
    "cards": "/boards/{board}/cards/{filter}",
    "custom_fields": "/boards/{board}/customFields",
    "card": "/cards/{card}",
    "comment": "/cards/{card}/actions/comments",
    "actions": "/cards/{card}/actions",
    "board": "/boards/{board}",
    "my_boards": "/members/me/boards",
    "batch": "/batch",
}
BATCH_MAX = 10  # GET routes Trello's /1/batch takes in one call
_FINAL_HERE = (OutcomeStatus.APPLIED, OutcomeStatus.ALREADY_DONE)
CARD_FIELDS = "id,name,desc,closed,idBoard,idList,url,shortUrl,dateLastActivity"
TIMEOUT_SECONDS = 30.0
MARKER = "sync-ref: {request_id}"
UNDO_MARKER = "sync-undo: {request_id}"


class _Session(requests.Session):
    """py-trello passes no timeout; a hung connection must not hang an unattended run."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT_SECONDS)
        return super().request(*args, **kwargs)


@dataclass
class _Board:
    """One board as this run saw it: read once, then updated by our own writes."""

    name: str
    id: str
    field_id: str | None = None
    open: CardSet | None = None
    closed: CardSet | None = None
    archived_now: CardSet = field(default_factory=CardSet)
    error: str = ""
    claimed_by: dict[str, str] = field(default_factory=dict)  # card id -> the effect archiving it


# A 401 while archiving: every later effect fails with the same message (nothing can work).
_UNAUTHORIZED = "unauthorized"
# What one effect's writes came to: status (or _UNAUTHORIZED), message, before-image, retries.
_Written = tuple[Any, str, dict[str, list[str]], int]


@dataclass
class _ToArchive:
    """An archive decided before any write: these cards (and what to say of the others)."""

    cards: list[Card]
    note: str


@dataclass
class _Decision:
    """What one effect's reads decided, before the batch's first write."""

    outcome: tuple[OutcomeStatus, str] | None = None  # known without archiving anything
    archive: _ToArchive | None = None
    error: ConnectorError | None = None
    waits_for: set[str] = field(default_factory=set)  # effects archiving the same cards first
    image: dict[str, list[str]] = field(default_factory=dict)  # cards a repair commented on
    retries: int = 0


class TrelloConnector:
    system = System.TRELLO

    def __init__(
        self,
        cfg: Config,
        *,
        routes: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        tc = cfg.trello
        key = secret_from_env(tc.api_key_env, what="Trello API key", key="trello.api_key_env")
        token = secret_from_env(tc.token_env, what="Trello token", key="trello.token_env")
        self._cfg = cfg
        self._session = _Session()
        if routes:
            mount_routes(self._session, routes)
        cache_environment(self._session)
        self._session.hooks["response"].append(self._remember_retry_after)
        # Trello's documented header form of the key and token. Given `token=`, py-trello would
        # OAuth1-sign every request instead (HMAC over the whole request, ~0.7 ms each: most of
        # a second on a thousand-card run), a signature Trello does not need for API tokens.
        # Without a token it only adds `key=` to the query; the token travels in this header,
        # never in a URL.
        self._session.headers["Authorization"] = (
            f'OAuth oauth_consumer_key="{key}", oauth_token="{token}"'
        )
        self._client = TrelloClient(key, http_service=self._session)
        self._retry = retry or RetryPolicy.from_config(cfg.retry)
        # Under Trello's published limits (100 per 10 s per token): waits instead of a 429.
        self._pacer = pacing.pace_trello_session(
            self._session, cfg.pacing, key, token, sleep=self._retry.sleep
        )
        self._answer = threading.local()  # the last answer's Retry-After, per thread
        # Set when `apply` ends early (a stop, a crash): writes in flight finish, none starts.
        self._halt = threading.Event()
        # The current effect's before-image: card ids archived, comment ids added.
        self._image: dict[str, list[str]] = {}

    @property
    def retries(self) -> int:
        """Retries made so far by this connector's calls, for the run log."""
        return self._retry.retries

    def close(self) -> None:
        self._session.close()

    def check(self) -> list[str]:
        """Read-only (`python -m sync check`): the key and token work and every configured board
        exists; a board without the account-id custom field is a note, since matching then falls
        back to descriptions and titles."""
        problems: list[str] = []
        for name, board_id in self._cfg.trello.boards.items():
            try:
                board = self._fetch(
                    API_PATH["board"].format(board=board_id),
                    query={"fields": "name,closed"},
                    what=f"read board {name}",
                )
                fields = self._fetch(
                    API_PATH["custom_fields"].format(board=board_id),
                    what=f"read custom fields of board {name}",
                )
            except ConnectorError as exc:
                problems.append(f"trello.boards.{name} ({board_id}): {error_text(exc)}")
                continue
            if board.get("closed"):
                problems.append(f"trello.boards.{name}: board '{board.get('name')}' is closed")
            wanted = name_key(self._cfg.trello.account_id_field)
            if not any(name_key(str(f.get("name", ""))) == wanted for f in fields or []):
                problems.append(
                    f"note: board '{board.get('name')}' has no custom field "
                    f"'{self._cfg.trello.account_id_field}'; cards are matched by description "
                    "and title only"
                )
        return problems

    # ----- the protocol ----------------------------------------------------------------
    def apply(self, effects: Sequence[Effect], journal: Journal) -> Iterator[Outcome]:
        """Decide every archive first (every board read in one batch call), put the ids of all
        the cards about to be archived on disk in one step, then write: the ledger commits once
        for the batch's before-images, not once per client and board."""
        boards: dict[str, _Board] = {}
        archives = [e for e in effects if e.kind is not EffectKind.UNDO_TRELLO]
        decisions = self._decide_all(archives, boards)
        journal.before_images(
            [
                (e, {"cards": [c.id for c in d.archive.cards]})
                for e in archives
                if (d := decisions[e.key]).archive is not None
            ]
        )
        fatal = ""
        done: dict[str, OutcomeStatus] = {}
        # The archives' writes run a few at a time (a round trip each); their outcomes come
        # back here in the effects' order, so what is recorded, and when, is as before.
        writes = in_order(
            lambda e: self._write_decided(e, boards[board_of(e)], decisions[e.key]),
            [e for e in archives if _writes(decisions[e.key])],
            in_flight=self._cfg.pacing.trello_in_flight,
            name="trello-write",
        )
        try:
            for effect in effects:
                if fatal:
                    yield Outcome(effect.key, OutcomeStatus.FAILED, fatal)
                    continue
                decision = decisions.get(effect.key, _Decision())
                if _writes(decision):
                    _written, (status, message, image, retries) = next(writes)
                    if status is _UNAUTHORIZED:
                        fatal = message
                        status = OutcomeStatus.FAILED
                    retries += decision.retries
                else:
                    status, message, image, retries = self._apply_one(effect, decision, done)
                    if status is _UNAUTHORIZED:
                        fatal = message
                        status = OutcomeStatus.FAILED
                done[effect.key] = status
                log.info(
                    "%s: %s",
                    effect.key,
                    message,
                    extra={"effect": effect.key, "status": str(status), "run_id": journal.run_id},
                )
                yield Outcome(
                    effect.key,
                    status,
                    message,
                    attempts=1 + retries,
                    retries=retries,
                    before=image,
                )
        finally:
            # Ended early (a stop between effects, a crash): a write already on the wire may
            # land, as one would when a process dies; none starts after this.
            self._halt.set()
            writes.close()
            self._halt.clear()

    def halt(self) -> None:
        """No write starts from now until the current `apply` ends (connectors.base.Haltable);
        the ones under way finish."""
        self._halt.set()

    def _write_decided(self, effect: Effect, board: _Board, decision: _Decision) -> _Written:
        """One decided archive's writes (archive, then comment, per card); on a worker thread,
        so everything it touches is its own: its image, its retry count."""
        assert decision.archive is not None
        image = dict(decision.image)
        before = self._retry.retries_here
        status: Any
        try:
            status, message = self._archive_cards(effect, board, decision.archive, image)
        except FatalError as exc:
            status, message = OutcomeStatus.FAILED, str(exc)
            if exc.status == 401:
                status, message = _UNAUTHORIZED, self._fatal(exc)
        except ConnectorError as exc:
            status, message = OutcomeStatus.FAILED, str(exc)
        return status, message, image, self._retry.retries_here - before

    def _apply_one(
        self, effect: Effect, decision: _Decision, done: Mapping[str, OutcomeStatus]
    ) -> _Written:
        """An effect whose outcome needs no archive write of this batch (on this thread)."""
        before = self._retry.retries - decision.retries
        self._image = dict(decision.image)
        status: Any
        try:
            if effect.kind is EffectKind.UNDO_TRELLO:
                status, message = self._reopen(effect)
            elif decision.error is not None:
                raise decision.error
            else:
                assert decision.outcome is not None
                status, message = decision.outcome
                unfinished = sorted(k for k in decision.waits_for if done.get(k) not in _FINAL_HERE)
                if unfinished:
                    status, message = (
                        OutcomeStatus.FAILED,
                        (
                            f"its card(s) were being archived for {', '.join(unfinished)} in "
                            "this run, which did not finish; the next run tries again"
                        ),
                    )
        except FatalError as exc:
            status, message = OutcomeStatus.FAILED, str(exc)
            if exc.status == 401:
                status, message = _UNAUTHORIZED, self._fatal(exc)
        except ConnectorError as exc:
            status, message = OutcomeStatus.FAILED, str(exc)
        return status, message, dict(self._image), self._retry.retries - before

    def _decide_all(
        self, archives: Sequence[Effect], boards: dict[str, _Board]
    ) -> dict[str, _Decision]:
        """Every archive's reads and decision, no archive written yet. Cards one effect will
        archive are taken off the board's open cards here, as the write would: a second
        request for the same client then finds them "already archived in this run" and waits
        for the first one's outcome instead of archiving them again."""
        shared = self._retry.retries
        try:
            self._read_boards(archives, boards)
        except FatalError as exc:  # only a 401 comes out: nothing else can work either
            return {e.key: _Decision(error=exc) for e in archives}
        # The one read served every effect: each shows its retries, as a shared message does.
        shared = self._retry.retries - shared
        out: dict[str, _Decision] = {}
        for effect in archives:
            before = self._retry.retries - shared
            self._image = {}
            decision = _Decision()
            try:
                decided = self._archive(effect, boards)
                if isinstance(decided, _ToArchive):
                    decision.archive = decided
                    board = boards[board_of(effect)]
                    for card in decided.cards:
                        if board.open is not None:
                            board.open.remove(card)
                        board.archived_now.add(card)
                        board.claimed_by[card.id] = effect.key
                else:
                    decision.outcome = decided
                    decision.waits_for = self._claimers(effect, boards)
            except ConnectorError as exc:
                decision.error = exc
            decision.image = dict(self._image)
            decision.retries = self._retry.retries - before
            out[effect.key] = decision
            if decision.error is not None and decision.error.status == 401:
                for rest in archives:
                    out.setdefault(rest.key, _Decision(error=decision.error))
                break
        return out

    def _claimers(self, effect: Effect, boards: dict[str, _Board]) -> set[str]:
        """The effects of this run whose archive took this client's cards, if any."""
        board = boards.get(board_of(effect))
        if board is None or not board.claimed_by:
            return set()
        now = board.archived_now.match(
            effect.request.account_id, effect.request.client_name, former(effect)
        )
        return {board.claimed_by[c.id] for c in now.by_id or now.exact if c.id in board.claimed_by}

    def boards(self) -> list[dict[str, Any]]:
        """The open boards this token sees, each with its custom fields (`python -m sync init`)."""
        found = self._fetch(
            API_PATH["my_boards"], query={"filter": "open", "fields": "name"}, what="list boards"
        )
        out = []
        for b in found or []:
            fields = self._fetch(
                API_PATH["custom_fields"].format(board=b["id"]),
                what=f"read custom fields of board {b.get('name')}",
            )
            out.append({"id": b["id"], "name": b.get("name", ""), "customFields": fields or []})
        return out

    def verify(self, effects: Sequence[Effect]) -> dict[str, Check]:
        """Read-only (dry runs, shadow mode): are the client's cards already archived? The same
        reads as a run (custom fields, open cards, archived cards), no write, no comment."""
        boards: dict[str, _Board] = {}
        out: dict[str, Check] = {}
        for e in effects:
            req = e.request
            name = board_of(e)
            board_id = self._cfg.trello.boards.get(name)
            if not board_id:
                out[e.key] = Check(e.key, CheckState.UNKNOWN, f"no board '{name}' in config")
                continue
            board = boards.setdefault(name, _Board(name, board_id))
            try:
                found = self._open_cards(board).match(req.account_id, req.client_name, former(e))
                if found.shared:
                    shown = ", ".join(c.show() for c in found.shared)
                    out[e.key] = Check(
                        e.key, CheckState.UNKNOWN, f"cards shared with another account: {shown}"
                    )
                    continue
                if found.by_id or len(found.exact) == 1:
                    cards = found.by_id or found.exact
                    shown = ", ".join(c.show() for c in cards)
                    out[e.key] = Check(e.key, CheckState.NOT_DONE, f"open: {shown}")
                    continue
                if found.exact:
                    out[e.key] = Check(e.key, CheckState.UNKNOWN, "several cards match the title")
                    continue
                archived = self._closed_cards(board)
            except ConnectorError as exc:
                out[e.key] = Check(e.key, CheckState.UNKNOWN, f"not checked: {error_text(exc)}")
                continue
            gone = archived.match(req.account_id, req.client_name, former(e))
            closed = gone.by_id or gone.exact
            what = (
                f"already archived: {', '.join(c.show() for c in closed)}"
                if closed
                else "no open card for the client (nothing to archive)"
            )
            out[e.key] = Check(e.key, CheckState.DONE, what)
        return out

    # ----- one effect ------------------------------------------------------------------
    def _archive(
        self, effect: Effect, boards: dict[str, _Board]
    ) -> tuple[OutcomeStatus, str] | _ToArchive:
        """Decide one archive from the run's reads; nothing is archived here (`apply` writes).
        Only the repair of a comment missing on a card archived earlier writes."""
        req = effect.request
        if effect.kind is not EffectKind.TRELLO_ARCHIVE:
            return OutcomeStatus.FAILED, f"the Trello connector does not do {effect.kind}"
        if req.type is not RequestType.CANCELLATION:
            kind = req.type.value if req.type else f"'{req.raw_type}'"
            return OutcomeStatus.FAILED, (
                f"refusing to archive Trello cards for a {kind} request: only a cancellation "
                "offboards a client"
            )
        name = board_of(effect)
        board_id = self._cfg.trello.boards.get(name)
        if not board_id:
            return OutcomeStatus.FAILED, (
                f"board '{name}' is not in trello.boards "
                f"(known: {', '.join(sorted(self._cfg.trello.boards))})"
            )
        if not req.account_id.strip() and not name_key(req.client_name):
            return OutcomeStatus.FAILED, "the request has neither an account id nor a client name"
        board = boards.setdefault(name, _Board(name, board_id))
        if board.error:
            return OutcomeStatus.FAILED, board.error
        try:
            open_cards = self._open_cards(board)
        except ConnectorError as exc:
            if exc.status == 401:
                raise
            # Remembered: the other effects on this board fail alike without reading it again.
            board.error = f"could not read board '{board.name}': {error_text(exc)}"
            return OutcomeStatus.FAILED, board.error

        client = display_name(req.client_name) or req.account_id
        found = open_cards.match(req.account_id, req.client_name, former(effect))
        if found.shared:
            return OutcomeStatus.NEEDS_PERSON, (
                f"on board '{board.name}', these cards carry the account id "
                f"{req.account_id} and another account's id too, so they may be shared with "
                f"another client: {', '.join(c.show() for c in found.shared)}; archive by hand "
                "what is this client's (nothing was archived)"
            )
        if found.by_id:
            note = ""
            if found.exact:
                note = "; left open (titled like the client but without its account id): " + (
                    ", ".join(c.show() for c in found.exact)
                )
            return _ToArchive(found.by_id, note)
        if len(found.exact) == 1:
            return _ToArchive(found.exact, "")
        if len(found.exact) > 1:
            return OutcomeStatus.NEEDS_PERSON, (
                f"{len(found.exact)} cards on board '{board.name}' are titled '{client}' and "
                f"none carries the account id {req.account_id or '(none)'}; archive the right "
                f"one(s) by hand: {', '.join(c.show() for c in found.exact)}"
            )
        done = self._already_archived(effect, board)
        if done is not None:
            return done
        if found.mentions:
            return OutcomeStatus.NEEDS_PERSON, (
                f"no card on board '{board.name}' is titled exactly '{client}' or carries its "
                f"account id, but these mention it: {', '.join(c.show() for c in found.mentions)}"
            )
        return OutcomeStatus.SKIPPED, f"no card for {client} on board {board.name}"

    def _archive_cards(
        self, effect: Effect, board: _Board, todo: _ToArchive, image: dict[str, list[str]]
    ) -> tuple[OutcomeStatus, str]:
        """Archive, then comment. The card ids are on disk already (`apply`'s before-images),
        so `undo` reopens exactly these, even after a crash."""
        cards, note = todo.cards, todo.note
        done: list[Card] = []
        text = _comment(effect)
        image["cards"] = [c.id for c in cards]
        for card in cards:
            try:
                self._write_archive(card)
            except ConnectorError as exc:
                prefix = f"archived {', '.join(c.show() for c in done)}; " if done else ""
                raise again(
                    exc, f"{prefix}could not archive {card.show()}: {error_text(exc)}"
                ) from exc
            done.append(card)
            log.info("archived card %s on board %s", card.id, board.name)
            try:
                self._comment_on(card.id, text, image)
            except ConnectorError as exc:
                raise again(
                    exc,
                    f"archived {', '.join(c.show() for c in done)} but could not add the comment "
                    f"to {card.show()} ({error_text(exc)}); the next run adds it",
                ) from exc
        return OutcomeStatus.APPLIED, (
            f"archived {len(done)} card(s) on board {board.name}: "
            f"{', '.join(c.show() for c in done)}{note}"
        )

    def _write_archive(self, card: Card) -> None:
        result = self._fetch(
            API_PATH["card"].format(card=card.id),
            method="PUT",
            body={"closed": True},
            what=f"archive card {card.id}",
        )
        if not (isinstance(result, dict) and result.get("closed") is True):
            raise FatalError(SERVICE, "Trello did not confirm the card as archived")

    def _already_archived(self, effect: Effect, board: _Board) -> tuple[OutcomeStatus, str] | None:
        """Nothing open matches: was it archived already (by us after a crash, or a person)?"""
        req = effect.request
        now = board.archived_now.match(req.account_id, req.client_name, former(effect))
        if now.by_id or now.exact:
            cards = now.by_id or now.exact
            return OutcomeStatus.ALREADY_DONE, (
                f"already archived in this run on board {board.name}: "
                f"{', '.join(c.show() for c in cards)}"
            )
        closed = self._closed_cards(board).match(req.account_id, req.client_name, former(effect))
        cards = closed.by_id or closed.exact
        if not cards:
            return None
        since = (req.approved_at.date() if req.approved_at else effect.not_before).isoformat()
        marker = MARKER.format(request_id=req.id)
        # The cards the sync archived for this effect before (the engine passes the ids its
        # before-image kept); without that list, every card archived since the approval counts.
        own = effect.params.get("archived_by_sync")
        ours = None if own is None else {c for c in own.split(",") if c}
        repaired: list[Card] = []
        by_person: list[Card] = []
        for card in cards:
            if card.last_activity[:10] < since:
                continue
            if ours is not None and card.id not in ours:
                # A person archived it: it is done, no "archived by the sync" comment, and it is
                # not the sync's to reopen on undo.
                by_person.append(card)
                continue
            # Archived since the approval by this sync, before a crash lost its comment.
            self._image.setdefault("cards", []).append(card.id)
            actions = self._fetch(
                API_PATH["actions"].format(card=card.id),
                query={"filter": "commentCard"},
                what=f"read comments of card {card.id}",
            )
            texts = [str((a.get("data") or {}).get("text", "")) for a in actions or []]
            if not any(marker in t for t in texts):
                self._comment_on(card.id, _comment(effect))
                repaired.append(card)
        note = f"; added the missing comment to {len(repaired)} card(s)" if repaired else ""
        if by_person:
            note += f"; archived by a person: {', '.join(c.show() for c in by_person)}"
        return OutcomeStatus.ALREADY_DONE, (
            f"already archived on board {board.name}: {', '.join(c.show() for c in cards)}{note}"
        )

    def _comment_on(
        self, card_id: str, text: str, image: dict[str, list[str]] | None = None
    ) -> None:
        """Comment; the comment's id goes to `image` (the current effect's, by default)."""
        action = self._fetch(
            API_PATH["comment"].format(card=card_id),
            method="POST",
            body={"text": text},
            what=f"comment on card {card_id}",
        )
        if isinstance(action, dict) and action.get("id"):
            (self._image if image is None else image).setdefault("comments", []).append(
                str(action["id"])
            )

    # ----- undo ------------------------------------------------------------------------
    def _reopen(self, effect: Effect) -> tuple[OutcomeStatus, str]:
        """Unarchive the cards the forward effect archived (ids from its before-image), each
        with a comment saying why. Reopen first, then comment: after a crash between the two the
        card is open and the next run adds the comment if its marker is missing."""
        ids = [i for i in effect.params.get("cards", "").split(",") if i]
        if not ids:
            return OutcomeStatus.SKIPPED, "no card was archived: nothing to reopen"
        text = _undo_comment(effect)
        marker = UNDO_MARKER.format(request_id=effect.request_id)
        reopened: list[str] = []
        commented: list[str] = []
        missing: list[str] = []
        for card_id in ids:
            try:
                card = self._fetch(
                    API_PATH["card"].format(card=card_id),
                    query={"fields": "id,name,closed,shortUrl"},
                    what=f"read card {card_id}",
                )
            except FatalError as exc:
                if exc.status == 404:
                    missing.append(card_id)
                    continue
                raise
            shown = f"'{card.get('name', '')}' ({card.get('shortUrl') or card_id})"
            if card.get("closed"):
                result = self._fetch(
                    API_PATH["card"].format(card=card_id),
                    method="PUT",
                    body={"closed": False},
                    what=f"unarchive card {card_id}",
                )
                if not (isinstance(result, dict) and result.get("closed") is False):
                    raise FatalError(SERVICE, "Trello did not confirm the card as reopened")
                reopened.append(shown)
                self._comment_on(card_id, text)
                commented.append(shown)
                continue
            actions = self._fetch(
                API_PATH["actions"].format(card=card_id),
                query={"filter": "commentCard"},
                what=f"read comments of card {card_id}",
            )
            texts = [str((a.get("data") or {}).get("text", "")) for a in actions or []]
            archived_by_us = MARKER.format(request_id=effect.request_id)
            # An open card without the archive's own comment was never archived by the sync (a
            # crash came between recording the batch's card ids and archiving this one):
            # nothing to reverse, nothing to say.
            if any(archived_by_us in t for t in texts) and not any(marker in t for t in texts):
                self._comment_on(card_id, text)
                commented.append(shown)
        if missing:
            return OutcomeStatus.NEEDS_PERSON, (
                f"card(s) {', '.join(missing)} no longer exist on Trello (deleted or moved to a "
                f"board the sync cannot see); reopened {len(reopened)} other(s)"
            )
        if not reopened and not commented:
            return OutcomeStatus.ALREADY_DONE, f"{len(ids)} card(s) already reopened"
        return OutcomeStatus.APPLIED, (
            f"reopened {len(reopened)} card(s): {', '.join(reopened) or '-'}"
            + (f"; commented on {len(commented)}" if commented else "")
        )

    def _fatal(self, exc: ConnectorError) -> str:
        return (
            f"{exc}. Check the key and token in ${self._cfg.trello.api_key_env} "
            f"and ${self._cfg.trello.token_env}."
        )

    # ----- reads -----------------------------------------------------------------------
    def _read_boards(self, effects: Sequence[Effect], boards: dict[str, _Board]) -> None:
        """Every board these effects will read, custom fields and open cards, in one `/1/batch`
        call (two routes a board, ten a call) instead of two calls a board. A route Trello
        answers with an error leaves its board unread: `_open_cards` reads it on its own, with
        the usual retries and messages."""
        wanted: list[_Board] = []
        for e in effects:
            name = board_of(e)
            board_id = self._cfg.trello.boards.get(name)
            will_read = (
                e.kind is EffectKind.TRELLO_ARCHIVE
                and e.request.type is RequestType.CANCELLATION
                and bool(e.request.account_id.strip() or name_key(e.request.client_name))
            )
            if board_id and will_read and name not in boards:
                boards[name] = _Board(name, board_id)
                wanted.append(boards[name])
        cards_query = "customFieldItems=true&fields=" + quote(CARD_FIELDS, safe="")
        per_call = BATCH_MAX // 2
        for i in range(0, len(wanted), per_call):
            chunk = wanted[i : i + per_call]
            routes: list[str] = []
            for b in chunk:
                routes.append(API_PATH["custom_fields"].format(board=b.id))
                routes.append(
                    API_PATH["cards"].format(board=b.id, filter="open") + "?" + cards_query
                )
            try:
                answer = self._fetch(
                    API_PATH["batch"],
                    query={"urls": ",".join(routes)},
                    what="read boards " + ", ".join(b.name for b in chunk),
                )
            except ConnectorError as exc:
                if exc.status == 401:
                    raise
                # Retried to the bound already: these boards' effects fail alike, unread again.
                for b in chunk:
                    b.error = f"could not read board '{b.name}': {error_text(exc)}"
                continue
            items = answer if isinstance(answer, list) else []
            for k, b in enumerate(chunk):
                pair = [i if isinstance(i, dict) else {} for i in items[2 * k : 2 * k + 2]]
                fields, cards = [*pair, {}, {}][:2]
                if 401 in (fields.get("statusCode"), cards.get("statusCode")):
                    raise FatalError(SERVICE, f"read board {b.name}: unauthorized", status=401)
                if "200" in fields and "200" in cards:
                    self._board_read(b, fields["200"], cards["200"])

    def _board_read(self, board: _Board, fields: Any, cards: Any) -> None:
        wanted = name_key(self._cfg.trello.account_id_field)
        board.field_id = next(
            (f["id"] for f in fields or [] if name_key(str(f.get("name", ""))) == wanted), None
        )
        board.open = CardSet(card_from_json(j, board.field_id) for j in cards or [])
        log.debug("board %s: %d open cards", board.name, len(board.open))

    def _closed_cards(self, board: _Board) -> CardSet:
        """The board's archived cards, read once a run and only when a client has no open card
        (a board keeps years of them)."""
        if board.closed is None:
            raw = self._fetch(
                API_PATH["cards"].format(board=board.id, filter="closed"),
                query={"customFieldItems": "true", "fields": CARD_FIELDS},
                what=f"read archived cards of board {board.name}",
            )
            board.closed = CardSet(card_from_json(j, board.field_id) for j in raw)
        return board.closed

    def _open_cards(self, board: _Board) -> CardSet:
        if board.open is None:
            fields = self._fetch(
                API_PATH["custom_fields"].format(board=board.id),
                what=f"read custom fields of board {board.name}",
            )
            raw = self._fetch(
                API_PATH["cards"].format(board=board.id, filter="open"),
                query={"customFieldItems": "true", "fields": CARD_FIELDS},
                what=f"read open cards of board {board.name}",
            )
            self._board_read(board, fields, raw)
        assert board.open is not None
        return board.open

    def _fetch(
        self,
        path: str,
        *,
        method: str = "GET",
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        what: str,
    ) -> Any:
        """One py-trello call under the retry policy, its errors translated for the engine."""

        def once() -> Any:
            if self._halt.is_set():
                raise FatalError(SERVICE, f"{what}: not started, the run is stopping")
            self._answer.retry_after = None
            try:
                return self._client.fetch_json(
                    path,
                    http_method=method,
                    query_params=dict(query or {}),
                    post_args=dict(body) if body is not None else None,
                )
            except TRANSLATED as exc:
                after = getattr(self._answer, "retry_after", None)
                if after is None and self._pacer is not None:
                    after = self._pacer.blocked_for("all") or None  # Trello sends no Retry-After
                raise translate(exc, what, retry_after=after) from None

        return self._retry.call(once, what=what)

    def _remember_retry_after(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._answer.retry_after = retry_after_seconds(response.headers.get("Retry-After"))


def _writes(decision: _Decision) -> bool:
    """The decision archives cards in this batch (its writes run in flight, in order)."""
    return decision.archive is not None and decision.error is None


def board_of(effect: Effect) -> str:
    """The configured board an effect is about: its target, or the part before the first ":"
    of a correction's target (`tda:cancellation`, sync/core/changes.py)."""
    return effect.target.partition(":")[0]


def former(effect: Effect) -> tuple[str, ...]:
    """The names the account had before, as the engine passes them (a renamed account's cards
    still carry the old title)."""
    text = effect.params.get("former_names", "")
    return tuple(n for n in text.split("\n") if n.strip())


def _comment(effect: Effect) -> str:
    req = effect.request
    when = req.effective_date.isoformat() if req.effective_date else "(no date)"
    lines = [
        f"Archived by the offboarding sync: {display_name(req.client_name)} cancelled "
        f"(Takedown Request {req.name or req.id}), effective {when}.",
        f"Reason: {' '.join(req.reason.split()) or 'not given'}",
    ]
    if req.link:
        lines.append(f"Request: {req.link}")
    lines.append(MARKER.format(request_id=req.id))
    return "\n".join(lines)


def _undo_comment(effect: Effect) -> str:
    req = effect.request
    why = effect.params.get("why", "") or f"the request is now '{req.status}'"
    return "\n".join(
        [
            f"Reopened by the offboarding sync: the cancellation of "
            f"{' '.join(req.client_name.split())} (Takedown Request {req.name or req.id}) was "
            f"undone ({' '.join(why.split())}).",
            UNDO_MARKER.format(request_id=req.id),
        ]
    )
