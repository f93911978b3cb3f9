"""The email connector, sending with the real smtplib to the aiosmtpd emulator."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connectors.email.connector import PLACEHOLDERS, EmailConnector, Template, message_id
from connectors.emulators.smtp.server import SmtpEmulator
from connectors.retry import RetryPolicy
from sync.clock import wall_now
from sync.config import defaults
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
from sync.errors import ConfigError
from tests.support.fixtures.common import RecordingJournal
from tests.support.fixtures.smtp import with_smtp

TODAY = dt.date(2026, 11, 25)


def request(**overrides: Any) -> TakedownRequest:
    values: dict[str, Any] = {
        "id": "a0B000000000001AAA",
        "name": "TR-0001",
        "account_id": "001000000000001AAA",
        "client_name": "Acme Motors",
        "type": RequestType.CANCELLATION,
        "raw_type": "Cancellation",
        "status": "Approved",
        "approved": True,
        "effective_date": dt.date(2026, 12, 1),
        "raw_effective_date": "2026-12-01",
        "reason": "reducing marketing budget",
        "platform": Platform.DS,
        "raw_platform": "DS",
        "link": "https://agency.my.salesforce.com/lightning/r/Takedown_Request__c/a0B1/view",
    }
    values.update(overrides)
    return TakedownRequest(**values)


def notice(req: TakedownRequest) -> Effect:
    return Effect(req.id, EffectKind.SIMPLIFI_NOTICE, "simplifi", TODAY, req)


def digest(req: TakedownRequest) -> Effect:
    return Effect(req.id, EffectKind.MANAGER_DIGEST, "tda_manager", TODAY, req)


def reminder(req: TakedownRequest, team: str, offset: int) -> Effect:
    assert req.effective_date is not None
    due = req.effective_date - dt.timedelta(days=offset)
    params = {"offset_days": str(offset), "team": team, "due_on": due.isoformat()}
    return Effect(req.id, EffectKind.REMINDER, f"{team}:{offset}d", due, req, params)


def run(connector: EmailConnector, journal: RecordingJournal, *effects: Effect) -> list[Outcome]:
    return list(connector.apply(list(effects), journal))


def run_closing(
    connector: EmailConnector, journal: RecordingJournal, *effects: Effect
) -> list[Outcome]:
    """`run`, then the end of the run: the connector's SMTP session is closed."""
    try:
        return run(connector, journal, *effects)
    finally:
        connector.close()


def test_simplifi_notice_has_the_process_pages_sentence(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator, journal: RecordingJournal
) -> None:
    effect = notice(request())
    [outcome] = run(email_connector, journal, effect)
    assert outcome.status is OutcomeStatus.APPLIED
    [sent] = smtp_emulator.messages
    assert sent.rcpt_tos == ("west@simpli.fi",)
    assert sent.mail_from == "offboarding-sync@agency.example"
    msg = sent.message
    assert msg["To"] == "west@simpli.fi"
    assert msg["Subject"] == "Cancellation notice: Acme Motors, effective December 1, 2026"
    assert (
        "Please be advised Acme Motors will cancel, effective December 1, 2026, for reducing "
        "marketing budget." in sent.body
    )
    assert msg["Message-ID"] == message_id(
        f"effect:{effect.key}", "offboarding-sync@agency.example"
    )
    assert journal.sent == [effect.key]
    assert sent.path is not None
    assert sent.path.read_bytes() == sent.data


def test_message_id_is_stable_across_two_renders_of_the_same_effect(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator, journal: RecordingJournal
) -> None:
    run(email_connector, journal, notice(request()))
    run(email_connector, journal, notice(request()))
    run(email_connector, journal, notice(request(id="a0B000000000002AAA")))
    ids = [m.message["Message-ID"] for m in smtp_emulator.messages]
    assert ids[0] == ids[1]
    assert ids[2] != ids[0]


def test_a_crash_in_journal_sending_sends_nothing_and_the_journal_saw_sending(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator
) -> None:
    class CrashingJournal(RecordingJournal):
        def sending(self, effects: Sequence[Effect], message_id: str) -> None:
            super().sending(effects, message_id)
            raise RuntimeError("disk full")

    journal = CrashingJournal()
    effect = notice(request())
    with pytest.raises(RuntimeError, match="disk full"):
        run(email_connector, journal, effect)
    assert journal.sent == [effect.key]
    assert smtp_emulator.messages == []


@pytest.mark.parametrize("after_store", [False, True])
def test_a_connection_dropped_after_data_is_unconfirmed_unretried_and_the_journal_saw_sending(
    email_connector: EmailConnector,
    smtp_emulator: SmtpEmulator,
    smtp_sleeps: list[float],
    journal: RecordingJournal,
    after_store: bool,
) -> None:
    smtp_emulator.drop_next(after_store=after_store)
    effect = notice(request())
    [outcome] = run(email_connector, journal, effect)
    # Unconfirmed (the ledger keeps it at "sending" for a person), never FAILED: a failed
    # effect is retried next run, and this message may already be in the recipient's inbox.
    assert outcome.status is OutcomeStatus.UNCONFIRMED
    assert "may or may not have delivered it" in outcome.message
    assert journal.sent == [effect.key]
    assert smtp_sleeps == []  # never resent blindly: the server may have it
    assert len(smtp_emulator.messages) == (1 if after_store else 0)


def test_a_newline_in_the_client_name_cannot_add_a_header(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator, journal: RecordingJournal
) -> None:
    evil = request(client_name="Acme\r\nBcc: thief@evil.example\nX-Injected: yes")
    outcomes = run(email_connector, journal, notice(evil), digest(evil))
    assert [o.status for o in outcomes] == [OutcomeStatus.APPLIED] * 2
    assert len(smtp_emulator.messages) == 2
    for sent in smtp_emulator.messages:
        msg = sent.message
        assert msg["Bcc"] is None
        assert msg["X-Injected"] is None
        assert "thief@evil.example" not in sent.rcpt_tos
        assert "\n" not in msg["Subject"]
        header_block = sent.data.split(b"\r\n\r\n", 1)[0]
        assert b"\r\nBcc:" not in header_block
        assert b"\r\nX-Injected:" not in header_block
    assert (
        "Acme Bcc: thief@evil.example X-Injected: yes"
        in smtp_emulator.messages[0].message["Subject"]
    )


def test_the_digest_lists_every_request_in_one_message(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator, journal: RecordingJournal
) -> None:
    cancel = request()
    pause = request(
        id="a0B000000000002AAA",
        name="TR-0002",
        client_name="Beta Boats",
        type=RequestType.PAUSE,
        raw_type="Contract Pause",
        effective_date=dt.date(2027, 1, 15),
        reason="seasonal closure",
        product_change_notes="Pause all TDA campaigns.\nKeep SEO running.",
    )
    change = request(
        id="a0B000000000003AAA",
        name="TR-0003",
        client_name="Gamma RV",
        type=RequestType.CHANGE,
        raw_type="Contract Change",
        reason="budget cut",
        new_package="OTT, $1,500/month",
        credit_amount=Decimal("250"),
    )
    effects = [digest(change), digest(cancel), digest(pause)]
    outcomes = run(email_connector, journal, *effects)
    assert [o.status for o in outcomes] == [OutcomeStatus.APPLIED] * 3
    [sent] = smtp_emulator.messages
    assert sent.rcpt_tos == ("tda-manager@agency.example",)
    assert sent.message["Subject"] == (
        "TDA: 3 newly approved takedown request(s), November 25, 2026"
    )
    body = sent.body
    for text in (
        "* Acme Motors: Cancellation, effective December 1, 2026",
        "Reason: reducing marketing budget",
        "* Beta Boats: Contract Pause, effective January 15, 2027",
        "Product change notes: Pause all TDA campaigns.\n    Keep SEO running.",
        "* Gamma RV: Contract Change, effective December 1, 2026",
        "New package / budget: OTT, $1,500/month",
        "Request: TR-0003 https://agency.my.salesforce.com/lightning/r/Takedown_Request__c/a0B1/view",
    ):
        assert text in body
    keys = sorted(e.key for e in effects)
    assert sent.message["Message-ID"] == message_id(
        "digest:" + "\n".join(keys), "offboarding-sync@agency.example"
    )
    assert sorted(journal.sent) == keys


def test_a_digest_entry_missing_its_client_name_fails_alone(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator, journal: RecordingJournal
) -> None:
    bad = request(id="a0B000000000002AAA", client_name="  ", reason="Beta reason")
    outcomes = run(email_connector, journal, digest(request()), digest(bad))
    by_key = {o.key: o for o in outcomes}
    assert by_key[digest(bad).key].status is OutcomeStatus.FAILED
    assert "no client name" in by_key[digest(bad).key].message
    assert by_key[digest(request()).key].status is OutcomeStatus.APPLIED
    [sent] = smtp_emulator.messages
    assert "Beta reason" not in sent.body
    assert journal.sent == [digest(request()).key]


def test_an_empty_reason_is_sent_as_none_given_in_the_notice_and_the_digest(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator, journal: RecordingJournal
) -> None:
    """Issue 15 defect 5, decided once: no reason never holds a message back."""
    bare = request(reason=" ")
    outcomes = run(email_connector, journal, notice(bare), digest(bare))
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    notice_mail, digest_mail = smtp_emulator.messages
    assert ", for (none given)." in " ".join(notice_mail.body.split())
    assert "Reason: (none given)" in digest_mail.body


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("client_name", " \n ", "no client name"),
        ("effective_date", None, "no effective date"),
    ],
)
def test_a_notice_missing_a_value_fails_and_sends_nothing(
    email_connector: EmailConnector,
    smtp_emulator: SmtpEmulator,
    journal: RecordingJournal,
    field: str,
    value: object,
    words: str,
) -> None:
    [outcome] = run(email_connector, journal, notice(request(**{field: value})))
    assert outcome.status is OutcomeStatus.FAILED
    assert words in outcome.message
    assert smtp_emulator.messages == []
    assert journal.sent == []


def test_a_notice_for_a_pause_is_refused(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator, journal: RecordingJournal
) -> None:
    pause = request(type=RequestType.PAUSE, raw_type="Contract Pause")
    [outcome] = run(email_connector, journal, notice(pause))
    assert outcome.status is OutcomeStatus.FAILED
    assert smtp_emulator.messages == []


def test_reminders_go_to_their_team_with_days_left(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator
) -> None:
    req = request()  # effective December 1, 2026
    journal = RecordingJournal(today=dt.date(2026, 11, 24))
    outcomes = run(
        email_connector, journal, reminder(req, "tda_team", 7), reminder(req, "seo_team", 7)
    )
    assert [o.status for o in outcomes] == [OutcomeStatus.APPLIED] * 2
    [tda] = smtp_emulator.by_recipient("tda-team@agency.example")
    [seo] = smtp_emulator.by_recipient("seo-team@agency.example")
    assert tda.message["Subject"] == (
        "Reminder: Acme Motors Cancellation effective December 1, 2026 (in 7 days)"
    )
    assert "Hello TDA team," in tda.body
    assert "Hello SEO team," in seo.body
    assert (
        "The Cancellation for Acme Motors takes effect on December 1, 2026, in 7 days." in tda.body
    )
    assert "late" not in tda.body
    assert tda.message["Message-ID"] != seo.message["Message-ID"]


def test_a_late_reminder_says_it_is_late_and_when_it_was_due(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator
) -> None:
    journal = RecordingJournal(today=dt.date(2026, 11, 30))
    [outcome] = run(email_connector, journal, reminder(request(), "tda_team", 7))
    assert outcome.status is OutcomeStatus.APPLIED
    body = smtp_emulator.messages[0].body
    assert "takes effect on December 1, 2026, tomorrow." in body
    assert "this reminder is late; it was due on November 24, 2026." in body


def test_a_4xx_is_retried_and_then_accepted_once(
    email_connector: EmailConnector,
    smtp_emulator: SmtpEmulator,
    smtp_sleeps: list[float],
    journal: RecordingJournal,
) -> None:
    smtp_emulator.fail_next(451, "4.3.0 Mailbox busy, try later")
    effect = notice(request())
    [outcome] = run(email_connector, journal, effect)
    assert outcome.status is OutcomeStatus.APPLIED
    assert len(smtp_sleeps) == 1
    assert len(smtp_emulator.messages) == 1
    assert journal.sent == [effect.key]


def test_a_5xx_fails_with_the_servers_text_and_is_not_retried(
    email_connector: EmailConnector,
    smtp_emulator: SmtpEmulator,
    smtp_sleeps: list[float],
    journal: RecordingJournal,
) -> None:
    smtp_emulator.fail_next(554, "5.7.1 Message rejected as spam", stage="data")
    [outcome] = run(email_connector, journal, notice(request()))
    assert outcome.status is OutcomeStatus.FAILED
    assert "554 5.7.1 Message rejected as spam" in outcome.message
    assert smtp_sleeps == []
    assert smtp_emulator.messages == []


def test_an_unreachable_server_fails_before_sending_is_recorded(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator, journal: RecordingJournal
) -> None:
    smtp_emulator.stop()
    outcomes = run(email_connector, journal, notice(request()), reminder(request(), "tda_team", 7))
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED] * 2
    assert "cannot reach the SMTP server" in outcomes[0].message
    assert journal.sent == []


def test_login_when_the_server_requires_auth(
    config: Config,
    smtp_emulator: SmtpEmulator,
    journal: RecordingJournal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    smtp_emulator.require_auth("sync-bot", "s3cret")
    monkeypatch.setenv("TEST_SMTP_USER", "sync-bot")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    cfg = with_smtp(  # a local test server: the password may go in clear, if said so
        config,
        smtp_emulator,
        username_env="TEST_SMTP_USER",
        password_env="TEST_SMTP_PASSWORD",
        allow_cleartext_login=True,
    )
    [ok] = run_closing(EmailConnector(cfg), journal, notice(request()))
    assert ok.status is OutcomeStatus.APPLIED
    assert len(smtp_emulator.messages) == 1

    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
    other = RecordingJournal()
    [bad] = run_closing(EmailConnector(cfg), other, notice(request()))
    assert bad.status is OutcomeStatus.FAILED
    assert "refused the login" in bad.message
    assert "wrong" not in bad.message
    assert other.sent == []

    no_login = with_smtp(config, smtp_emulator)
    [refused] = run_closing(EmailConnector(no_login), RecordingJournal(), notice(request()))
    assert refused.status is OutcomeStatus.FAILED
    assert "530" in refused.message
    assert len(smtp_emulator.messages) == 1


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, trusted through SSL_CERT_FILE in the tests."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    # The real time: OpenSSL checks a certificate against the machine's clock (sync/clock.py).
    now = wall_now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file = folder / "cert.pem"
    key_file = folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_paths_with_login(
    config: Config,
    tmp_path: Path,
    certificate: tuple[str, str],
    journal: RecordingJournal,
    monkeypatch: pytest.MonkeyPatch,
    security: str,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])
    monkeypatch.setenv("TEST_SMTP_USER", "sync-bot")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    with SmtpEmulator(tmp_path / "outbox", tls=certificate, implicit_tls=security == "ssl") as smtp:
        smtp.require_auth("sync-bot", "s3cret")
        cfg = with_smtp(
            config,
            smtp,
            security=security,
            username_env="TEST_SMTP_USER",
            password_env="TEST_SMTP_PASSWORD",
        )
        [outcome] = run_closing(EmailConnector(cfg), journal, notice(request()))
        assert outcome.status is OutcomeStatus.APPLIED, outcome.message
        assert len(smtp.messages) == 1


def test_send_alert_goes_to_the_ops_lead_with_a_stable_message_id(
    email_connector: EmailConnector, smtp_emulator: SmtpEmulator
) -> None:
    email_connector.send_alert("trello:auth", "Trello refused\nthe token", "Check TRELLO_TOKEN.")
    email_connector.send_alert("trello:auth", "Trello refused the token", "Still failing.")
    first, second = smtp_emulator.messages
    assert first.rcpt_tos == ("digital-ops-lead@agency.example",)
    assert first.message["Subject"] == "[offboarding sync] Trello refused the token"
    assert "Check TRELLO_TOKEN." in first.body
    assert first.message["Message-ID"] == second.message["Message-ID"]


def test_a_template_with_an_unknown_placeholder_stops_at_start_up(
    email_config: Config, tmp_path: Path
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    path = folder / "simplifi_notice.txt"
    path.write_text(defaults.template("simplifi_notice").read_text(encoding="utf-8"))
    path.write_text(path.read_text() + "\nSee ${clinet}\n")
    cfg = dataclasses.replace(
        email_config, email=dataclasses.replace(email_config.email, templates_dir=str(folder))
    )
    with pytest.raises(ConfigError, match=r"simplifi_notice.txt.*\$\{clinet\}"):
        EmailConnector(cfg)


def test_the_shipped_templates_load_and_fill_every_placeholder(email_config: Config) -> None:
    EmailConnector(email_config, retry=RetryPolicy(sleep=lambda _: None)).close()
    folder = email_config.resolve(email_config.email.templates_dir)
    for name in ("simplifi_notice", "manager_digest", "reminder", "alert"):
        tpl = Template.load(folder, name)
        values = {p: f"<{p}>" for p in PLACEHOLDERS[name]}
        subject, body = tpl.render(values)
        assert subject.strip(), name
        assert body.strip(), name
        assert "${" not in subject + body, name  # every placeholder it uses was filled
        used = {p for p in PLACEHOLDERS[name] if f"<{p}>" in subject + body}
        assert used, f"{name} uses none of its placeholders"
