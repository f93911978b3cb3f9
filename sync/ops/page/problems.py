"""What needs a person: each problem once, with its cause and the command that settles it.

A problem is a finding the ledger holds, an effect that needs a person or keeps failing, or a
message a crash left unconfirmed (one problem per message: a digest carries several requests'
effects, and one `resolve` settles them all). The command is ready to copy: every argument that
came from a person's typing (a request name) is shell-quoted, so a name like `$(rm -rf ~)`
stays a name when pasted into a terminal.
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sync.core.domain import EffectState, Finding
from sync.core.records import EffectRow
from sync.core.wording import describe_kind
from sync.ops.page.facts import split_label

UNCONFIRMED_SEND = "unconfirmed_send"


@dataclass(frozen=True)
class Command:
    text: str
    when: str  # when to run it, e.g. "if it went out"


@dataclass(frozen=True)
class Problem:
    key: str  # stable: "finding:<request>:<code>", "effect:<key>", "message:<id>"
    request_id: str
    label: str
    name: str
    client: str
    kind: str  # "needs_person", "failed" or "unconfirmed": said in words on the page
    cause: str
    advice: str
    commands: tuple[Command, ...]
    also: tuple[str, ...] = ()  # other requests the same problem covers (a digest)


_FIX_IN_SALESFORCE = "Fix it in Salesforce as the cause says; the next run picks it up."


def needs_person(
    rows: Iterable[EffectRow],
    findings: Iterable[Finding],
    labels: Mapping[str, Mapping[str, str]],
    *,
    message_of: Mapping[str, str],
    sync: Sequence[str] = ("python", "-m", "sync"),
) -> list[Problem]:
    """Every open problem once, failures last. `message_of` maps an unconfirmed effect's key to
    its Message-ID; `sync` is how the CLI is called here (with `--sandbox` for the sandbox)."""
    cli = _Cli(tuple(sync))
    rows = list(rows)
    sending: dict[str, list[EffectRow]] = defaultdict(list)
    for r in rows:
        if r.state is EffectState.SENDING:
            sending[message_of.get(r.key) or r.key].append(r)
    with_sending = {r.request_id for rs in sending.values() for r in rs}
    out: list[Problem] = []
    for f in findings:
        if not f.needs_person or (f.code == UNCONFIRMED_SEND and f.request_id in with_sending):
            continue  # the unconfirmed message below says it, with the exact key
        label = f.label or labels.get(f.request_id, {}).get("label", "") or f.request_id
        name, client = split_label(label, f.request_id)
        advice, commands = _for_finding(f.code, name or f.request_id, cli)
        out.append(
            Problem(
                f"finding:{f.request_id}:{f.code}",
                f.request_id, label, name, client, "needs_person", f.message, advice, commands,
            )
        )  # fmt: skip
    for msg, rs in sending.items():
        first = rs[0]
        label = _label(first.request_id, labels)
        name, client = split_label(label, first.request_id)
        others = sorted({_label(r.request_id, labels) for r in rs[1:]} - {label})
        what = describe_kind(first.kind, first.target)
        out.append(
            Problem(
                f"message:{msg}",
                first.request_id,
                label,
                name,
                client,
                "unconfirmed",
                f"{what}: a message was being sent when a run stopped, and may or may not have "
                "gone out",
                "Check the sent mail (or ask the recipient), then settle it: one command settles "
                "every effect the message carried.",
                (
                    Command(cli("resolve", first.key, "--sent"), "if it went out"),
                    Command(cli("resolve", first.key, "--resend"), "if it did not"),
                ),
                tuple(others),
            )
        )
    for r in rows:
        if r.state not in (EffectState.NEEDS_PERSON, EffectState.FAILED):
            continue
        label = _label(r.request_id, labels)
        name, client = split_label(label, r.request_id)
        what = describe_kind(r.kind, r.target)
        failed = r.state is EffectState.FAILED
        out.append(
            Problem(
                f"effect:{r.key}",
                r.request_id,
                label,
                name,
                client,
                "failed" if failed else "needs_person",
                f"{what}: {'failed ' + str(r.attempts) + 'x: ' if failed else ''}{r.last_error}",
                "The sync tries again on every run; fix what the cause names first."
                if failed
                else "The sync will not guess here. Fix what the cause says, then run it again.",
                (Command(cli("--only", name or r.request_id), "to try this request now"),),
            )
        )
    order = {"unconfirmed": 0, "needs_person": 1, "failed": 2}
    return sorted(out, key=lambda p: (order[p.kind], p.label, p.key))


def _label(request_id: str, labels: Mapping[str, Mapping[str, str]]) -> str:
    return labels.get(request_id, {}).get("label", "") or request_id


class _Cli:
    def __init__(self, sync: tuple[str, ...]) -> None:
        self._sync = sync

    def __call__(self, *args: str) -> str:
        return shlex.join([*self._sync, *args])


def _for_finding(code: str, who: str, cli: _Cli) -> tuple[str, tuple[Command, ...]]:
    """What to do about one kind of finding, and the command that settles it."""
    again = Command(cli("--only", who), "once it is fixed, to act now")
    if code == "withdrawn_after_action":
        return (
            "The request was withdrawn after the sync acted; nothing was undone. Decide: reverse "
            "the sync's own work with one command, or leave it as it is.",
            (Command(cli("undo", who), "to reverse what the sync did"),),
        )
    if code == "effective_date_long_past":
        return (
            "Its effective date passed long before the sync first saw it. Say who handles it.",
            (
                Command(cli("adopt", "--only", who), "if people handled it"),
                Command(cli("--only", who, "--allow-backlog"), "to have the sync do it now"),
            ),
        )
    if code == "internal_error":
        return (
            "A bug in the sync, not in the data: report it with this command's output.",
            (Command(cli("-vv", "--only", who), "to capture the details"),),
        )
    if code == UNCONFIRMED_SEND:
        return ("Check the sent mail, then settle it as `status` says.", (
            Command(cli("status"), "to see the message's key"),))  # fmt: skip
    if code == "reapproved_without_new_round":
        return ("Resubmit the request for approval in Salesforce.", (again,))
    return (_FIX_IN_SALESFORCE, (again,))
