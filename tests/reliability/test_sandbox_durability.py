"""The sandbox keeps what it is told: a `python -m sync --sandbox` process killed at any moment,
or read by other commands while it runs, loses nothing the emulators acknowledged.

Every trial starts from a copy of one seeded sandbox folder and is compared with one
uninterrupted run of the same folder: the sheets, boards and Salesforce records (minus clock
times), the outbox (each message exactly once) and the ledger must end the same.

- Killed after its N-th durable write: a wrapper runs the real CLI (`runpy` of the `sync`
  package, as `python -m sync` does) and SIGKILLs itself right before or right after the N-th
  file it publishes in the sandbox folder (`os.replace` of an emulator's state, `os.link` of an
  outbox message); "before" leaves a written, fsynced temporary file that was never renamed, a
  torn write. N and before/after come from a seeded random generator, so each trial is
  repeatable. One trial in four instead kills the literal `python -m sync` after a random delay.
- Then the same command runs again (in-process, to keep the test fast). A message the killed run
  handed over without hearing back is the documented "unconfirmed" case: the test does what the
  ops lead does, checks the outbox for it, and runs `resolve KEY --sent` or `--resend`.
- `log`, `status`, `sandbox show` and a (lock-refused) run, as separate processes, three at a
  time for as long as a slowed-down run goes on, lose nothing either.

Why the kill test takes longer than most (about 28 s of CPU, children included): the issue asks
for at least 20 kills of a real process, and each trial starts an interpreter.
"""

from __future__ import annotations

import io
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from sync.cli import app as cli
from sync.sandbox.agency import saved_state
from sync.state.ledger import Ledger
from tests.support.fixtures.common import REPO
from tests.support.reliability import core_requests, scenario

pytestmark = pytest.mark.slow  # random kills of real processes

# How many random kills (OFFBOARDING_SYNC_KILL_TRIALS): CI runs at least the default 24; a
# soak raises it, a quick local check may lower it.
TRIALS = int(os.environ.get("OFFBOARDING_SYNC_KILL_TRIALS", "24"))
KEPT = ("world", "outbox", "ledger")
AS_OF = "2026-11-25"  # the day the template sandbox is seeded and every run plans for
PROBLEM_LINE = re.compile(r"^\d+\. ")
SYNC_LOG_TAB = "Sync Log"  # one row per finished run: it counts runs, not effects

# The real CLI, with a kill switch on the files it publishes in the sandbox folder.
WRAPPER = r"""
import atexit, os, runpy, signal, sys, threading, time
box = os.path.realpath(os.environ["KILL_BOX"]) + os.sep
at, when = int(os.environ.get("KILL_AT", "0")), os.environ.get("KILL_WHEN", "after")
seen, times = [0], []
real_replace, real_link = os.replace, os.link

counting = threading.Lock()  # writes publish from more than one thread (Trello's overlap)

def publish(real, src, dst, **kw):
    inside = os.path.realpath(os.fspath(dst)).startswith(box)
    mine = 0
    if inside:
        with counting:
            seen[0] += 1
            mine = seen[0]
            times.append(time.time())
        if mine == at and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
    result = real(src, dst, **kw)
    if inside and mine == at and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)
    return result

os.replace = lambda src, dst, **kw: publish(real_replace, src, dst, **kw)
os.link = lambda src, dst, **kw: publish(real_link, src, dst, **kw)
if os.environ.get("COUNT_FILE"):
    atexit.register(lambda: open(os.environ["COUNT_FILE"], "w").write(
        f"[{seen[0]}, {times[0] if times else 0}, {times[-1] if times else 0}]"))
if os.environ.get("SLOW_REQUESTS"):
    from connectors.emulators.base import Emulator
    real_dispatch, pause = Emulator.dispatch, float(os.environ["SLOW_REQUESTS"])
    def slow(self, req):
        time.sleep(pause)
        return real_dispatch(self, req)
    Emulator.dispatch = slow
runpy.run_module("sync", run_name="__main__", alter_sys=True)
"""


def sandbox_args(box: Path) -> list[str]:
    return ["--sandbox", "--sandbox-dir", str(box)]


def start(box: Path, *args: str, wrapped: bool = True, **env: str) -> subprocess.Popen[str]:
    argv = ["-c", WRAPPER] if wrapped else ["-m", "sync"]
    return subprocess.Popen(
        [sys.executable, *argv, *sandbox_args(box), *args],
        cwd=REPO,
        env={**os.environ, "KILL_BOX": str(box), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def in_process(box: Path, *args: str) -> tuple[int, str]:
    """`python -m sync --sandbox ... ARGS` in this process (no interpreter start: fast)."""
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main([*sandbox_args(box), *args])
    finally:  # cli.main points the root logger at stderr; give pytest its own back
        root.handlers[:] = handlers
        root.setLevel(level)
    return code, out.getvalue() + err.getvalue()


# ----- what a sandbox folder holds ---------------------------------------------------------------
def world(box: Path) -> dict[str, Any]:
    """The emulators' data as saved in the folder, minus what differs between two correct runs
    (clock times, ids the server picks, the per-run Sync Log rows)."""
    emulators = saved_state(box)
    records = emulators["salesforce"].snapshot()["records"]
    books = emulators["google"].snapshot()["spreadsheets"]
    boards = emulators["trello"].snapshot()["boards"]
    for recs in records.values():
        for rec in recs:
            for stamp in ("CreatedDate", "SystemModstamp", "LastModifiedDate"):
                rec.pop(stamp, None)
    for book in books.values():
        book["sheets"] = {
            title: tab["rows"] if isinstance(tab, dict) else tab
            for title, tab in book["sheets"].items()
            if title != SYNC_LOG_TAB
        }
    for board in boards:
        for card in board["cards"]:
            card.pop("dateLastActivity", None)
            card["comments"] = [c["text"] for c in card["comments"]]
    return {"salesforce": records, "google": books, "trello": boards}


def messages(box: Path) -> list[Any]:
    return [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted((box / "outbox").glob("*.eml"))
    ]


def outbox(box: Path) -> Counter[tuple[str, str, str]]:
    """Every message an effect sent (they name their effects in a header), by Message-ID,
    subject and recipients: a resend counts twice."""
    return Counter(
        (str(m["Message-ID"]), str(m["Subject"]), str(m["To"]))
        for m in messages(box)
        if m["X-Offboarding-Sync-Effects"]
    )


def alerted(box: Path) -> set[str]:
    """The problems the ops lead was alerted about. Alerts are not effects: one is sent, then
    recorded, so a kill in between repeats it, and an unconfirmed send is a problem too."""
    return {
        line.split(". ", 1)[1]
        for m in messages(box)
        if not m["X-Offboarding-Sync-Effects"]
        for line in str(m.get_body(preferencelist=("plain",)).get_content()).splitlines()
        if PROBLEM_LINE.match(line)
    }


def ledger(box: Path) -> dict[str, str]:
    opened = Ledger.open_readonly(box / "state" / "ledger.sqlite3")
    if opened is None:
        return {}
    try:
        return {k: str(v) for k, v in opened.states().items()}
    finally:
        opened.close()


def end_state(box: Path) -> dict[str, Any]:
    return {
        "world": world(box),
        "outbox": outbox(box),
        "ledger": ledger(box),
        "alerted": alerted(box),
    }


def settle_unconfirmed(box: Path) -> list[str]:
    """What the ops lead does with an unconfirmed send: look for the message in the mailbox
    (its X-Offboarding-Sync-Effects header names the effects it carries), then resolve it."""
    delivered = {
        key for m in messages(box) for key in str(m["X-Offboarding-Sync-Effects"] or "").split()
    }
    done: list[str] = []
    # One `resolve` settles every effect a message carried (a digest carries several).
    while sending := sorted(k for k, state in ledger(box).items() if state == "sending"):
        key = sending[0]
        how = "--sent" if key in delivered else "--resend"
        code, text = in_process(box, "resolve", key, how)
        assert code == 0, text
        done.append(f"{key} {how}")
        assert len(done) <= len(ledger(box)), done
    return done


def finish(box: Path) -> list[str]:
    """Run again, settling unconfirmed sends (then run once more, for the resent messages and
    the write-backs they held back)."""
    settled: list[str] = []
    for _ in range(3):
        code, text = in_process(box, "--as-of", AS_OF)
        assert "Traceback" not in text, text
        assert code in (0, 1), text  # 1: an unconfirmed send, reported
        now = settle_unconfirmed(box)
        if not now:
            break
        settled += now
    return settled


# ----- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sandbox seeded with a cancellation, a pause and a contract change that make every
    kind of write due today (a small scenario keeps 24 trials fast), never run."""
    folder = tmp_path_factory.mktemp("template")
    scenario(folder, core_requests(), today=date.fromisoformat(AS_OF))
    box = folder / "box"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sync",
            *sandbox_args(box),
            "--scenario",
            str(folder / "scenario.json"),
            "--as-of",
            AS_OF,
            "sandbox",
            "show",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return box


@pytest.fixture(scope="module")
def baseline(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One uninterrupted run: its end state, how many files it published, how long it took."""
    box = tmp_path_factory.mktemp("baseline") / "box"
    shutil.copytree(template, box)
    count = box.parent / "count"
    began = time.time()
    child = start(box, "--as-of", AS_OF, COUNT_FILE=str(count))
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, out + err
    assert "applied" in out
    code, text = in_process(box, "--as-of", AS_OF)
    assert code == 0, text
    assert " 0 applied, 0 failed" in text, text  # nothing left to do
    state = end_state(box)
    assert len(state["outbox"]) >= 5
    assert max(state["outbox"].values()) == 1
    writes, first, last = json.loads(count.read_text())
    # When the first and the last of its writes happened (state files and delivered messages,
    # each published by os.replace or os.link, which the wrapper times), counted from the
    # process's start: the window the timed kills aim at. Both ends come from time.time() (a
    # file's mtime is not used: under libfaketime it is the real time, not the shifted one).
    window = (max(0.0, first - began), max(0.0, last - began))
    return {**state, "writes": writes, "window": window}


# ----- the tests ---------------------------------------------------------------------------------
def test_a_sandbox_run_killed_at_random_moments_ends_as_an_uninterrupted_one(
    template: Path, baseline: dict[str, Any], tmp_path: Path, sandbox_env: None
) -> None:
    writes = baseline["writes"]
    assert writes >= 15  # every emulator change and every message is its own durable write
    killed, unconfirmed, torn = 0, 0, 0
    for seed in range(TRIALS):
        rng = random.Random(seed)
        box = tmp_path / f"t{seed}"
        shutil.copytree(template, box)
        if seed % 4 == 3:
            what = "timed"
            child = start(box, "--as-of", AS_OF, wrapped=False)
            first, last = baseline["window"]
            time.sleep(rng.uniform(first, last + 0.1))
            child.send_signal(signal.SIGKILL)
        else:
            at, when = rng.randint(1, writes), rng.choice(["before", "after"])
            what = f"write {at} {when}"
            child = start(box, "--as-of", AS_OF, KILL_AT=str(at), KILL_WHEN=when)
        out, err = child.communicate(timeout=120)
        if child.returncode == -signal.SIGKILL:
            killed += 1
        else:
            assert what == "timed", (what, child.returncode, out, err)
            assert child.returncode == 0, (what, out, err)  # the delay outlasted the run
        torn += any(p.name.endswith(".tmp") for p in box.rglob(".*"))
        settled = finish(box)
        unconfirmed += bool(settled)
        assert not any(p.name.endswith(".tmp") for p in box.rglob(".*"))  # swept on reopening
        state = end_state(box)
        assert state["world"] == baseline["world"], (seed, what, settled)
        assert state["outbox"] == baseline["outbox"], (seed, what, settled)
        assert state["ledger"] == baseline["ledger"], (seed, what, settled)
        assert state["alerted"] >= baseline["alerted"], (seed, what, settled)
        shutil.rmtree(box)
    assert killed >= 20
    assert torn >= 3  # kills mid-write really happened (and left only a stray temp file)
    assert unconfirmed >= 1  # and at least one left a message unconfirmed


def check_reader(name: str, reader: subprocess.Popen[str]) -> None:
    out, err = reader.communicate(timeout=120)
    assert reader.returncode in (0, 4), (name, reader.returncode, out, err)  # 4: lock refused
    assert "Traceback" not in err, err


def test_log_status_show_and_a_refused_run_during_a_run_lose_nothing(
    template: Path, baseline: dict[str, Any], tmp_path: Path
) -> None:
    box = tmp_path / "box"
    shutil.copytree(template, box)
    # Each emulator request takes 20 ms longer, so the run lasts long enough to be read.
    child = start(box, "--as-of", AS_OF, SLOW_REQUESTS="0.02")
    lock = box / "state" / "run.lock"
    while f'"pid": {child.pid},' not in (lock.read_text() if lock.exists() else ""):
        assert child.poll() is None, child.communicate()
        time.sleep(0.01)  # readers start once the run holds its lock (and so is running)
    commands = [["log"], ["status"], ["sandbox", "show"], ["--as-of", AS_OF]]
    # Three readers in flight for as long as the run goes on: each loaded the data as it was
    # when it started, and ends while the run keeps changing it (or just after it ended).
    started: Counter[str] = Counter()
    running: list[tuple[str, subprocess.Popen[str]]] = []
    while child.poll() is None:
        for name, reader in [r for r in running if r[1].poll() is not None]:
            running.remove((name, reader))
            check_reader(name, reader)
        if len(running) < 3:
            command = commands[sum(started.values()) % len(commands)]
            started[command[0]] += 1
            running.append((command[0], start(box, *command, wrapped=False)))
        time.sleep(0.02)
    for name, reader in running:
        check_reader(name, reader)
    assert len(started) == len(commands), started
    out, err = child.communicate()
    assert child.returncode == 0, out + err
    state = end_state(box)
    assert {k: state[k] for k in KEPT} == {k: baseline[k] for k in KEPT}
    assert state["alerted"] == baseline["alerted"]


# Two writers at once: each process adds comments to one card through the emulator's HTTP API.
WRITER = r"""
import sys
from pathlib import Path
import requests
from sync.sandbox.agency import SANDBOX_SECRETS, open_sandbox
box, who, card = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
auth = {"key": SANDBOX_SECRETS["SANDBOX_TRELLO_API_KEY"],
        "token": SANDBOX_SECRETS["SANDBOX_TRELLO_TOKEN"]}
with open_sandbox(box) as sandbox:
    url = sandbox.emulators["trello"].base_url + f"/1/cards/{card}/actions/comments"
    for n in range(15):
        answer = requests.post(url, params={**auth, "text": f"{who}-{n}"}, timeout=30)
        answer.raise_for_status()
"""


def test_two_processes_writing_one_sandbox_never_overwrite_each_other(
    template: Path, tmp_path: Path
) -> None:
    box = tmp_path / "box"
    shutil.copytree(template, box)
    card = saved_state(box)["trello"].snapshot()["boards"][0]["cards"][0]["id"]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(box), who, card],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("a", "b")
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, out + err
    comments = saved_state(box)["trello"].card(card)["comments"]
    texts = Counter(c["text"] for c in comments)
    assert texts == Counter(f"{who}-{n}" for who in ("a", "b") for n in range(15))


def test_read_only_commands_never_write_the_emulators_files(
    template: Path, tmp_path: Path, sandbox_env: None
) -> None:
    box = tmp_path / "box"
    shutil.copytree(template, box)

    def files() -> dict[str, tuple[bytes, int]]:
        return {
            p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in (box / "emulators").glob("*.json")
        }

    before = files()
    assert len(before) == 3
    for command in (["log"], ["status"], ["sandbox", "show"], ["check"], ["--dry-run"]):
        code, text = in_process(box, *command)
        assert code in (0, 1), (command, text)
        assert "Traceback" not in text
    assert files() == before
