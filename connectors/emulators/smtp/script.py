"""Scripted SMTP answers: what the emulated relay says to one command, one recipient at a time.

Why: a real relay answers each command on its own, and each recipient on its own: it can
accept one address and refuse the next (550 no such user, 452 mailbox full), refuse the
greeting (421, 554), the sender, the DATA command, or the message after its content, or drop
the connection at any of those points. The sync must turn each of those answers into the right
outcome per recipient, so a test (or a sandbox scenario) must be able to say exactly that.

    script.add(Answer("rcpt", 550, "5.1.1 No such user", rcpt="b@example.com", times=-1))
    script.add(Answer("connect", 421, "4.3.2 Service not available"))
    script.add(Answer("after_data", drop=True, store=True))      # kept, never confirmed

Stages, in the order of a transaction: "connect" (the greeting), "mail", "rcpt", "data" (the
DATA command itself, before any content is sent), "after_data" (the reply to the content). An
answer is used `times` times (-1: every time) and then forgotten; the first matching answer
wins. `rcpt` narrows a "rcpt" answer to one address (case-insensitive). `drop` closes the
connection instead of answering; with `store` (after_data only) the message is kept first.

A scenario gives the same as JSON: `{"smtp": {"answers": [{"stage": "rcpt", "code": 550,
"text": "5.1.1 No such user", "rcpt": "b@example.com", "times": -1}]}}`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, cast

Stage = Literal["connect", "mail", "rcpt", "data", "after_data"]
STAGES: tuple[str, ...] = ("connect", "mail", "rcpt", "data", "after_data")


@dataclass
class Answer:
    stage: Stage
    code: int = 0
    text: str = ""
    rcpt: str = ""
    times: int = 1
    drop: bool = False
    store: bool = False

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"not an SMTP stage: {self.stage!r} (expected one of {STAGES})")
        if not self.drop and not 200 <= self.code <= 599:
            raise ValueError(f"an SMTP answer needs a code from 200 to 599, not {self.code}")
        if self.rcpt and self.stage != "rcpt":
            raise ValueError("`rcpt` narrows only a 'rcpt' answer")
        if self.store and not (self.drop and self.stage == "after_data"):
            raise ValueError("`store` goes only with a drop after DATA")
        if self.times == 0 or self.times < -1:
            raise ValueError(f"`times` is a positive count or -1 (always), not {self.times}")

    @property
    def line(self) -> str:
        """The reply line as the relay sends it."""
        return f"{self.code} {self.text}".rstrip()

    def matches(self, stage: str, rcpt: str) -> bool:
        return self.stage == stage and (not self.rcpt or self.rcpt.casefold() == rcpt.casefold())


@dataclass
class Script:
    """The scripted answers of one emulator; thread-safe (aiosmtpd answers in its own thread)."""

    answers: list[Answer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)

    def take(self, stage: str, rcpt: str = "") -> Answer | None:
        """The answer for this command, if one is scripted (and count it as used)."""
        with self._lock:
            for n, answer in enumerate(self.answers):
                if answer.matches(stage, rcpt):
                    if answer.times > 0:
                        answer.times -= 1
                        if answer.times == 0:
                            del self.answers[n]
                    return answer
        return None

    def clear(self) -> None:
        with self._lock:
            self.answers.clear()

    def load(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Answers from a scenario's JSON list; an unknown key or a bad value is refused."""
        known = {f.name for f in fields(Answer)}
        for n, item in enumerate(items):
            extra = set(item) - known
            if extra:
                raise ValueError(f"smtp.answers[{n}]: unknown key(s) {sorted(extra)}")
            try:
                self.add(Answer(**cast(dict[str, Any], dict(item))))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"smtp.answers[{n}]: {exc}") from None
