"""The Trello connector, driving the real py-trello against the Trello emulator."""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

import pytest

from connectors.emulators.trello.server import TrelloEmulator
from connectors.trello.connector import TrelloConnector
from sync.config.model import Config
from sync.core.domain import (
    Effect,
    EffectKind,
    Outcome,
    OutcomeStatus,
    Platform,
    RequestType,
    TakedownRequest,
)
from tests.support.fixtures.common import RecordingJournal
from tests.support.fixtures.trello import trello_seed

ACCOUNT = "001000000000001AAA"
OTHER_ACCOUNT = "001000000000002AAA"


def request(**overrides: Any) -> TakedownRequest:
    values: dict[str, Any] = {
        "id": "a0B000000000001AAA",
        "name": "TR-0001",
        "account_id": ACCOUNT,
        "client_name": "Acme Motors",
        "type": RequestType.CANCELLATION,
        "raw_type": "Cancellation",
        "status": "Approved",
        "approved": True,
        "effective_date": date(2026, 11, 20),
        "raw_effective_date": "2026-11-20",
        "reason": "reducing marketing budget",
        "platform": Platform.DS,
        "raw_platform": "DS",
        "link": "https://agency.my.salesforce.com/lightning/r/Takedown_Request__c/a0B1/view",
        "approved_at": datetime(2026, 11, 2, 15, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return TakedownRequest(**values)


def archive(req: TakedownRequest, board: str = "tda") -> Effect:
    assert req.effective_date is not None
    return Effect(req.id, EffectKind.TRELLO_ARCHIVE, board, req.effective_date, req)


def run(connector: TrelloConnector, journal: RecordingJournal, *effects: Effect) -> list[Outcome]:
    return list(connector.apply(list(effects), journal))


def seed(emulator: TrelloEmulator, config: Config, **cards: list[dict[str, Any]]) -> None:
    emulator.seed(trello_seed(config, cards))


def test_matches_by_account_id_custom_field_archives_and_comments_why(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    seed(
        trello_emulator,
        config,
        tda=[
            {"id": "c1", "name": "ACME - dealer group campaign", "account": ACCOUNT},
            {"id": "c2", "name": "Someone Else", "account": OTHER_ACCOUNT},
        ],
    )
    [outcome] = run(trello_connector, journal, archive(request()))
    assert outcome.status is OutcomeStatus.APPLIED
    assert "ACME - dealer group campaign" in outcome.message
    card = trello_emulator.card("c1")
    assert card["closed"] is True
    [comment] = [c["text"] for c in card["comments"]]
    assert "TR-0001" in comment
    assert "2026-11-20" in comment
    assert "reducing marketing budget" in comment
    assert "Acme Motors" in comment
    assert trello_emulator.card("c2")["closed"] is False
    assert journal.sent == []  # archives are checkable; nothing is declared "sending"


def test_matches_by_account_id_in_the_description_even_in_15_character_form(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    seed(
        trello_emulator,
        config,
        tda=[{"id": "c1", "name": "Dealer #12", "desc": f"SF account: {ACCOUNT[:15]}\nBudget 2k"}],
    )
    [outcome] = run(trello_connector, journal, archive(request()))
    assert outcome.status is OutcomeStatus.APPLIED
    assert trello_emulator.card("c1")["closed"] is True


def test_matches_by_exact_title_ignoring_case_and_spaces(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    seed(
        trello_emulator,
        config,
        tda=[{"id": "c1", "name": "  acme   MOTORS "}, {"id": "c2", "name": "Acme Motorsports"}],
    )
    [outcome] = run(trello_connector, journal, archive(request()))
    assert outcome.status is OutcomeStatus.APPLIED
    assert trello_emulator.card("c1")["closed"] is True
    assert trello_emulator.card("c2")["closed"] is False


def test_two_title_matches_without_an_id_go_to_a_person_and_nothing_is_archived(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    seed(
        trello_emulator,
        config,
        tda=[{"id": "c1", "name": "Acme Motors"}, {"id": "c2", "name": "ACME MOTORS"}],
    )
    [outcome] = run(trello_connector, journal, archive(request()))
    assert outcome.status is OutcomeStatus.NEEDS_PERSON
    assert "'Acme Motors' (https://trello.com/c/" in outcome.message
    assert "'ACME MOTORS' (https://trello.com/c/" in outcome.message
    assert trello_emulator.writes() == 0


def test_a_card_of_another_account_with_the_same_title_is_left_alone(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    seed(
        trello_emulator, config, tda=[{"id": "c1", "name": "Acme Motors", "account": OTHER_ACCOUNT}]
    )
    [outcome] = run(trello_connector, journal, archive(request()))
    assert outcome.status is OutcomeStatus.SKIPPED
    assert trello_emulator.card("c1")["closed"] is False


def test_every_card_with_the_account_id_is_archived_and_an_id_less_namesake_is_reported(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    seed(
        trello_emulator,
        config,
        tda=[
            {"id": "c1", "name": "Acme - search", "account": ACCOUNT},
            {"id": "c2", "name": "Acme - display", "desc": f"account {ACCOUNT}"},
            {"id": "c3", "name": "Acme Motors"},
        ],
    )
    [outcome] = run(trello_connector, journal, archive(request()))
    assert outcome.status is OutcomeStatus.APPLIED
    assert outcome.message.startswith("archived 2 card(s)")
    assert "left open" in outcome.message
    assert [trello_emulator.card(c)["closed"] for c in ("c1", "c2", "c3")] == [True, True, False]


def test_no_card_is_skipped_not_failed(
    config: Config, trello_connector: TrelloConnector, journal: RecordingJournal
) -> None:
    [outcome] = run(trello_connector, journal, archive(request()))
    assert outcome.status is OutcomeStatus.SKIPPED
    assert outcome.message == "no card for Acme Motors on board tda"


def test_titles_that_only_mention_the_client_go_to_a_person(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    seed(trello_emulator, config, tda=[{"id": "c1", "name": "Acme Motors - banner refresh"}])
    [outcome] = run(trello_connector, journal, archive(request()))
    assert outcome.status is OutcomeStatus.NEEDS_PERSON
    assert "Acme Motors - banner refresh" in outcome.message
    assert trello_emulator.writes() == 0


def test_an_already_archived_card_is_already_done_with_no_write(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    seed(
        trello_emulator,
        config,
        tda=[
            {
                "id": "c1",
                "name": "Acme Motors",
                "account": ACCOUNT,
                "closed": True,
                "dateLastActivity": "2026-11-20T09:00:00.000Z",
                "comments": ["Archived by the offboarding sync ...\nsync-ref: a0B000000000001AAA"],
            }
        ],
    )
    [outcome] = run(trello_connector, journal, archive(request()))
    assert outcome.status is OutcomeStatus.ALREADY_DONE
    assert trello_emulator.writes() == 0
    assert trello_emulator.count("GET", r"/cards/closed$") == 1


def test_a_crash_between_archive_and_comment_is_repaired_on_the_next_run(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    seed(trello_emulator, config, tda=[{"id": "c1", "name": "Acme Motors", "account": ACCOUNT}])
    trello_emulator.add_fault("500", method="POST", path="/actions/comments", times=-1)
    [first] = run(trello_connector, journal, archive(request()))
    assert first.status is OutcomeStatus.FAILED
    assert "could not add the comment" in first.message
    assert trello_emulator.card("c1")["closed"] is True
    trello_emulator.clear_faults()
    [second] = run(trello_connector, journal, archive(request()))
    assert second.status is OutcomeStatus.ALREADY_DONE
    assert "added the missing comment" in second.message
    [comment] = trello_emulator.card("c1")["comments"]
    assert "sync-ref: a0B000000000001AAA" in comment["text"]
    [third] = run(trello_connector, journal, archive(request()))
    assert third.status is OutcomeStatus.ALREADY_DONE
    assert len(trello_emulator.card("c1")["comments"]) == 1


def test_a_pause_never_archives(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    seed(trello_emulator, config, tda=[{"id": "c1", "name": "Acme Motors", "account": ACCOUNT}])
    pause = request(type=RequestType.PAUSE, raw_type="Contract Pause")
    [outcome] = run(trello_connector, journal, archive(pause))
    assert outcome.status is OutcomeStatus.FAILED
    assert "refusing to archive" in outcome.message
    assert trello_emulator.card("c1")["closed"] is False
    assert trello_emulator.count() == 0


def test_a_429_is_retried_after_retry_after_then_succeeds(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    trello_sleeps: list[float],
    journal: RecordingJournal,
) -> None:
    seed(trello_emulator, config, tda=[{"id": "c1", "name": "Acme Motors", "account": ACCOUNT}])
    trello_emulator.add_fault("429", path=r"/batch$", times=1, retry_after=2)
    [outcome] = run(trello_connector, journal, archive(request()))
    assert outcome.status is OutcomeStatus.APPLIED
    assert outcome.retries == 1
    assert trello_sleeps == [2.0]
    assert trello_emulator.card("c1")["closed"] is True


def test_a_board_that_keeps_failing_fails_its_effects_without_rereading(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    trello_emulator.add_fault("503", path=r"/batch$", times=-1)
    outcomes = run(
        trello_connector,
        journal,
        archive(request()),
        archive(request(id="a0B000000000002AAA", client_name="Beta Boats", account_id="")),
    )
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED] * 2
    assert "could not read board 'tda'" in outcomes[1].message
    assert trello_emulator.count("GET", r"/batch$") == 4  # one read, retried to the bound
    assert trello_emulator.count("GET", r"/cards/open$") == 0


def test_bad_credentials_fail_every_effect_after_one_call(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    snapshot = trello_emulator.snapshot()
    snapshot["credentials"][0]["token"] = "rotated"
    trello_emulator.seed(snapshot)
    outcomes = run(trello_connector, journal, archive(request()), archive(request(), "design"))
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED] * 2
    assert "invalid token" in outcomes[0].message
    assert config.trello.token_env in outcomes[1].message
    assert trello_emulator.count() == 1
    assert "test-trello-token" not in outcomes[0].message


def test_many_effects_read_each_board_once(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    clients = [(f"a0B{i:012d}AAA", f"001{i:012d}AAA", f"Client {i:02d}") for i in range(30)]
    filler = [{"name": f"Other {i}", "account": f"009{i:012d}AAA"} for i in range(200)]
    seed(
        trello_emulator,
        config,
        tda=[{"name": name, "account": acct} for _, acct, name in clients] + filler,
        design=[{"name": name} for _, _, name in clients[:20]],
    )
    effects = [
        archive(request(id=rid, account_id=acct, client_name=name), board)
        for rid, acct, name in clients
        for board in ("tda", "design")
    ]
    outcomes = run(trello_connector, journal, *effects)
    statuses = [o.status for o in outcomes]
    assert statuses.count(OutcomeStatus.APPLIED) == 50
    assert statuses.count(OutcomeStatus.SKIPPED) == 10
    # Both boards' custom fields and open cards: one /1/batch call (four routes).
    assert trello_emulator.count("GET", r"/batch$") == 1
    assert trello_emulator.count("GET", r"/cards/open$") == 0
    assert trello_emulator.count("GET", r"/customFields$") == 0
    # Only the design board had clients with no open card; its archived cards are read once.
    assert trello_emulator.count("GET", r"/cards/closed$") == 1
    assert trello_emulator.count("GET", r"/search") == 0
    assert trello_emulator.writes() == 100  # one archive + one comment per card


def test_the_same_client_twice_in_one_run_is_already_done_the_second_time(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    seed(trello_emulator, config, tda=[{"id": "c1", "name": "Acme Motors", "account": ACCOUNT}])
    second = request(id="a0B000000000009AAA", name="TR-0009")
    outcomes = run(trello_connector, journal, archive(request()), archive(second))
    assert [o.status for o in outcomes] == [OutcomeStatus.APPLIED, OutcomeStatus.ALREADY_DONE]
    assert trello_emulator.writes() == 2


def test_an_unknown_board_fails_clearly(
    config: Config, trello_connector: TrelloConnector, journal: RecordingJournal
) -> None:
    [outcome] = run(trello_connector, journal, archive(request(), "marketing"))
    assert outcome.status is OutcomeStatus.FAILED
    assert "'marketing' is not in trello.boards" in outcome.message


def test_missing_credentials_say_which_variable(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(config.trello.api_key_env, raising=False)
    with pytest.raises(Exception, match=config.trello.api_key_env):
        TrelloConnector(dataclasses.replace(config))


def test_a_card_naming_another_account_in_its_description_is_never_a_title_match(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    """Issue 15 defect 1: a card titled exactly like the client, whose description carries a
    different account's id (Smith Motors East's card, titled "Smith Motors"), is that other
    client's card: never archived for this one."""
    seed(
        trello_emulator,
        config,
        tda=[
            {
                "id": "c1",
                "name": "Acme Motors",
                "desc": f"Salesforce account: {OTHER_ACCOUNT} (Acme Motors East)",
            }
        ],
    )
    [outcome] = run(trello_connector, journal, archive(request()))
    assert outcome.status is OutcomeStatus.SKIPPED
    assert trello_emulator.card("c1")["closed"] is False
    assert trello_emulator.writes() == 0


def test_a_title_in_decomposed_unicode_matches_the_composed_client_name(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    """Issue 15 defect 4: "Crème Brûlée Boats" typed in NFD on the card, NFC in Salesforce."""
    name = "Crème Brûlée Boats"
    seed(
        trello_emulator,
        config,
        tda=[{"id": "c1", "name": unicodedata.normalize("NFD", "  " + name.upper() + " ")}],
    )
    req = request(client_name=unicodedata.normalize("NFC", name), account_id="")
    [outcome] = run(trello_connector, journal, archive(req))
    assert outcome.status is OutcomeStatus.APPLIED, outcome.message
    assert trello_emulator.card("c1")["closed"] is True


def test_the_token_travels_in_the_authorization_header_unsigned_and_never_in_a_url(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    """Trello documents `Authorization: OAuth oauth_consumer_key=..., oauth_token=...`; an
    OAuth1 signature per request is work Trello does not need for an API token."""
    seed(trello_emulator, config, tda=[{"id": "c1", "name": "Acme Motors", "account": ACCOUNT}])
    sent: list[Any] = []
    trello_connector._session.hooks["response"].append(lambda r, *_, **__: sent.append(r.request))
    [outcome] = run(trello_connector, journal, archive(request()))
    assert outcome.status is OutcomeStatus.APPLIED
    assert len(sent) >= 3  # the board's cards and fields, the archive, the comment
    for prepared in sent:
        assert "token=" not in prepared.url, prepared.url
        auth = prepared.headers.get("Authorization", "")
        assert auth.startswith("OAuth oauth_consumer_key="), prepared.url
        assert "oauth_token=" in auth
        assert "oauth_signature" not in auth


def test_every_card_id_of_the_batch_is_on_disk_before_the_first_archive(
    config: Config, trello_emulator: TrelloEmulator, trello_connector: TrelloConnector
) -> None:
    """`undo` reopens what the before-images name even after a crash, so the ids of all the
    cards a batch will archive are recorded, in one step, before its first write."""
    seed(
        trello_emulator,
        config,
        tda=[
            {"id": "c1", "name": "Acme Motors", "account": ACCOUNT},
            {"id": "c2", "name": "Beta Boats", "account": OTHER_ACCOUNT},
        ],
    )
    steps: list[tuple[int, dict[str, dict[str, object]]]] = []

    class Watching(RecordingJournal):
        def before_images(self, images: Any) -> None:
            steps.append((trello_emulator.writes(), {e.key: dict(i) for e, i in images}))
            super().before_images(images)

    beta = request(id="a0B000000000002AAA", client_name="Beta Boats", account_id=OTHER_ACCOUNT)
    outcomes = run(trello_connector, Watching(), archive(request()), archive(beta))
    assert [o.status for o in outcomes] == [OutcomeStatus.APPLIED] * 2
    [(writes_then, images)] = steps
    assert writes_then == 0
    assert sorted(images.values(), key=str) == [{"cards": ["c1"]}, {"cards": ["c2"]}]


def test_a_second_request_for_the_same_card_waits_for_the_first_ones_archive(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    """Two requests name one client: the first archives its card; the second is not done
    again. If the first one's archive fails, the second is not reported as done either."""
    seed(trello_emulator, config, tda=[{"id": "c1", "name": "Acme Motors", "account": ACCOUNT}])
    trello_emulator.add_fault("503", method="PUT", path=r"^/1/cards/", times=-1)
    second = request(id="a0B000000000009AAA", name="TR-0009")
    first, again = run(trello_connector, journal, archive(request()), archive(second))
    assert first.status is OutcomeStatus.FAILED
    assert again.status is OutcomeStatus.FAILED
    assert "did not finish" in again.message
    assert trello_emulator.card("c1")["closed"] is False


def test_undo_leaves_a_card_the_sync_never_archived_without_a_word(
    config: Config,
    trello_emulator: TrelloEmulator,
    trello_connector: TrelloConnector,
    journal: RecordingJournal,
) -> None:
    """A crash between recording a batch's card ids and archiving one of them leaves an open
    card without the archive's comment: undoing has nothing to reverse on it."""
    seed(trello_emulator, config, tda=[{"id": "c1", "name": "Acme Motors", "account": ACCOUNT}])
    req = request()
    assert req.effective_date is not None
    undo = Effect(
        req.id, EffectKind.UNDO_TRELLO, "tda", req.effective_date, req, params={"cards": "c1"}
    )
    [outcome] = run(trello_connector, journal, undo)
    assert outcome.status is OutcomeStatus.ALREADY_DONE
    assert trello_emulator.card("c1")["comments"] == []
    assert trello_emulator.writes() == 0
