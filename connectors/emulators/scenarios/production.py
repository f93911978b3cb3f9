"""A production-like agency for rehearsing the go-live: two years of history people handled.

`scenarios/production.json` is a few lines (`{"generate": "production", "seed": 14}`); the data
is generated here when a sandbox is seeded, deterministically from the seed, with dates relative
to the seeding day (T):

- 300 clients on DS and ARI; about 400 requests approved over the two years before T, of every
  type, each handled by people: Planner and Offboarding rows, tracker statuses and removed rows,
  Monthly Sheet rows, archived Trello cards. A few are half done (a row missing, a card still
  open): people's unfinished business, which the sync must not take over by itself.
- Still open on T: four requests approved on T, one of them half done by people that morning
  (Planner row and tracker status already there), and two waiting for approval.

The Salesforce fields, spreadsheet ids, tabs and headers and board ids are those of
`config/sandbox.toml`, so the same mapping serves both. `OPEN` names the open requests, and
`DONE_BY_PEOPLE_TODAY` the effects people already did for them, for the tests.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from connectors.emulators.scenarios.scenario import (
    APPROVERS,
    SALESFORCE_INSTANCE,
    account_id,
    build_agency,
    request_id,
)

CLIENTS = 300
HISTORY_DAYS = 730
PREFIXES = (
    "Blue Ridge",
    "Lone Star",
    "Coastal",
    "High Desert",
    "Prairie",
    "Summit",
    "Gulf Breeze",
    "Ironhorse",
    "Big Sky",
    "Tri-County",
    "Riverbend",
    "Mountain View",
    "Sunset Coast",
    "Northwoods",
    "Lakeside",
    "Red Rock",
    "Pine Valley",
    "Evergreen",
    "Bayou",
    "Copper State",
    "Keystone",
    "Granite Peak",
    "Thunder Road",
    "Heartland",
    "Cascade",
)
SUFFIXES = (
    "RV Center",
    "Powersports",
    "Marine",
    "Motorsports",
    "Outfitters",
    "Cycle Works",
    "Boats",
    "Yamaha",
    "Polaris",
    "Kawasaki",
    "Campers",
    "Trailers",
)
REASONS = (
    "reducing marketing budget",
    "switching service to SEM",
    "closing the dealership",
    "moving to an in-house agency",
    "unhappy with lead volume",
    "seasonal slowdown",
)
# Requests approved on T (the go-live day): name -> (client, type).
OPEN = {
    "TR-09001": (290, "Cancellation"),
    "TR-09002": (291, "Contract Pause"),
    "TR-09003": (292, "Contract Change"),
    "TR-09004": (293, "Cancellation"),
}
# What people already did on T for TR-09004 (effect key suffixes), before the sync saw it.
DONE_BY_PEOPLE_TODAY = ("planner_add/planner", "tracker_status/ds_tracker")


def client_name(i: int) -> str:
    return f"{PREFIXES[i % len(PREFIXES)]} {SUFFIXES[(i // len(PREFIXES)) % len(SUFFIXES)]}"


def platform(i: int) -> str:
    return "DS" if i % 3 else "ARI"


def build_production(today: date, seed: int = 14) -> dict[str, Any]:
    """The whole org as an emulator seed, dates already resolved against `today`."""
    rnd = random.Random(seed)
    base = build_agency(clients=0)
    sf, sheets = base["salesforce"], base["google"]["spreadsheets"]
    tabs = {sid: next(iter(s["sheets"].values())) for sid, s in sheets.items()}
    ds, ari = tabs["sandbox-ds-tracker"], tabs["sandbox-ari-tracker"]
    planner, monthly = tabs["sandbox-planner"], tabs["sandbox-monthly"]
    offboarding = tabs["sandbox-offboarding"]
    del planner[1:]  # the bundled agency's one old row
    accounts, requests, approvals = [], [], {}
    tda, design = base["trello"]["boards"][0], base["trello"]["boards"][1]
    cf = tda["customFields"][0]["id"]
    tda["cards"], design["cards"] = [], []
    rows: dict[int, list[str]] = {}
    for i in range(CLIENTS):
        name, plat = client_name(i), platform(i)
        accounts.append(
            {"Id": account_id(i), "Name": name, "Platform__c": plat, "TDA_Status__c": "Active"}
        )
        row = (
            [name, account_id(i), "Dana Whitfield", "$1,000", "Active", "", "", ""]
            if plat == "DS"
            else [account_id(i), name, "Active", "$1,000", "", "", ""]
        )
        rows[i] = row
        (ds if plat == "DS" else ari).append(row)
        tda["cards"].append(
            {
                "name": name,
                "desc": "Monthly TDA campaign.",
                "customFieldItems": [{"idCustomField": cf, "value": {"text": account_id(i)}}],
            }
        )
        if i % 2 == 0:
            design["cards"].append({"name": name, "desc": "Banner set, 5 sizes."})
    cancelled: set[int] = set()
    n = 0
    for day in range(HISTORY_DAYS, 0, -1):
        if rnd.random() > 0.55:
            continue
        n += 1
        client = rnd.randrange(CLIENTS - 20)  # the last 20 are kept for today
        if client in cancelled:
            continue
        rtype = rnd.choices(["Cancellation", "Contract Pause", "Contract Change"], [4, 4, 3])[0]
        approved = today - timedelta(days=day)
        effective = approved + timedelta(days=rnd.randrange(5, 31))
        half_done = n % 53 == 0
        rec = _request(n, client, rtype, approved, effective, rnd.choice(REASONS))
        requests.append(rec)
        approvals[rec["Id"]] = _chain(approved)
        _people_did(rec, client, rows[client], effective < today, half_done, locals())
        if rtype == "Cancellation":
            cancelled.add(client)
    for name, (client, rtype) in OPEN.items():
        number = int(name[3:])
        rec = _request(number, client, rtype, today, today + timedelta(days=14), REASONS[0])
        requests.append(rec)
        approvals[rec["Id"]] = _chain(today)
    for number, client in ((9005, 294), (9006, 295)):
        rec = _request(
            number,
            client,
            "Cancellation",
            today,
            today + timedelta(days=20),
            REASONS[1],
            Status__c="Pending Approval",
        )
        requests.append(rec)
    # TR-09004, half done by people this morning: Planner row and tracker status.
    half = next(r for r in requests if r["Name"] == "TR-09004")
    planner.append(_planner_row(half, 293))
    rows[293][4], rows[293][6] = "Cancelled", half["Effective_Date__c"]
    sf["records"] = {"Takedown_Request__c": requests, "Account": accounts}
    sf["approvals"] = approvals
    sf["instance"] = SALESFORCE_INSTANCE
    return {
        "description": "A production-like agency: two years of requests handled by people, a "
        "few half done, four approved today and two waiting for approval.",
        "salesforce": sf,
        "google": base["google"],
        "trello": base["trello"],
    }


def _request(
    n: int, client: int, rtype: str, approved: date, effective: date, reason: str, **kw: Any
) -> dict[str, Any]:
    rec = {
        "Id": request_id(n),
        "Name": f"TR-{n:05d}",
        "Account__c": account_id(client),
        "Request_Type__c": rtype,
        "Status__c": "Approved",
        "Effective_Date__c": effective.isoformat(),
        "Reason__c": reason,
        "Platform__c": platform(client),
        "Leaving_Platform__c": False,
        "Credit_Amount__c": 0,
        "Product_Change_Notes__c": "",
        "New_Package_Or_Budget__c": "Budget cut to $500/month"
        if rtype == "Contract Change"
        else "",
        "Services__c": "TDA",
        "Sync_Status__c": None,
        "Sync_Message__c": None,
        "SystemModstamp": f"{approved.isoformat()}T16:00:00.000+0000",
    }
    rec.update(kw)
    return rec


def _chain(day: date) -> list[dict[str, Any]]:
    steps = []
    for minute, (who, status) in enumerate(
        (("amy", "Started"), ("jeremy", "Approved"), ("dustin", "Approved"))
    ):
        uid, name = APPROVERS[who]
        steps.append(
            {
                "StepStatus": status,
                "ActorId": uid,
                "Actor": {"Name": name},
                "CreatedDate": f"{day.isoformat()}T09:{minute:02d}:00.000+0000",
                "Comments": "",
            }
        )
    return steps


def _planner_row(rec: dict[str, Any], client: int) -> list[str]:
    return [
        rec["Id"],
        client_name(client),
        rec["Request_Type__c"],
        rec["Effective_Date__c"],
        rec["Reason__c"],
        "",
        "added by hand",
    ]


def _people_did(
    rec: dict[str, Any],
    client: int,
    row: list[str],
    past: bool,
    half_done: bool,
    ctx: dict[str, Any],
) -> None:
    """The chores people did for one historical request (fewer when `half_done`)."""
    rtype, eff = rec["Request_Type__c"], rec["Effective_Date__c"]
    ds = platform(client) == "DS"
    status_col, pause_col, cancel_col = (4, 5, 6) if ds else (2, 5, 4)
    if rtype == "Contract Change":
        ctx["monthly"].append(
            [rec["Id"], client_name(client), rec["New_Package_Or_Budget__c"], eff, ""]
        )
        return
    ctx["planner"].append(_planner_row(rec, client))
    if half_done:
        return  # the rest never happened: the tracker, the boards, the offboarding sheet
    if rtype == "Contract Pause":
        row[status_col], row[pause_col] = "Paused", eff
        return
    row[status_col], row[cancel_col] = "Cancelled", eff
    ctx["offboarding"].append(
        [rec["Id"], "", rec["Account__c"], platform(client), eff, rec["Reason__c"], "", "ops"]
    )
    if past:
        tracker = ctx["ds"] if ds else ctx["ari"]
        tracker.remove(row)
        for board in (ctx["tda"], ctx["design"]):
            for card in board["cards"]:
                if card["name"] == client_name(client):
                    card["closed"] = True
