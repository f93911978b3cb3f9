"""Scenarios: a whole agency (Salesforce org, five spreadsheets, two Trello boards) as one JSON
file that seeds the emulators.

Format (documented for users in docs/operations/sandbox.md)::

    {"description": "...",
     "salesforce": <SalesforceEmulator seed>,
     "google": {"spreadsheets": <GoogleEmulator spreadsheets>},
     "trello": {"boards": <TrelloEmulator boards>}}

Dates may be written relative to the day the sandbox is first seeded: `{today}`, `{today+10}`,
`{today-3}` anywhere inside a string become ISO dates (`2026-12-05`), so a bundled scenario stays
realistic whenever it is used. Credentials are not part of a scenario: the sandbox adds its own
fake ones when it seeds.

`build_agency()` makes the bundled scenario (and, with bigger numbers, the benchmark's);
`connectors.emulators.scenarios.loading` reads a scenario file, generated ones included.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

BUNDLED = Path(__file__).parent / "agency.json"
_TOKEN = re.compile(r"\{today(?:([+-])(\d+))?\}")

SALESFORCE_INSTANCE = "agency.my.salesforce.com"
APPROVERS = {
    "amy": ("005000000000AMY", "Amy Retention"),
    "jeremy": ("005000000000JBL", "Jeremy Bliesner"),
    "dustin": ("005000000000DHU", "Dustin Hunter"),
    "finance": ("005000000000FIN", "Finance Team"),
}

DEALERS = [
    "Lone Star Powersports",
    "Blue Ridge RV Center",
    "Coastal Marine & Motorsports",
    "High Desert Harley-Davidson",
    "Prairie Trail Outfitters",
    "Summit Cycle Works",
    "Gulf Breeze Boats",
    "Ironhorse Motorsports",
    "Big Sky RV Sales",
    "Tri-County Polaris",
    "Riverbend Yamaha",
    "Mountain View Kawasaki",
    "Sunset Coast Campers",
    "Northwoods Sled & ATV",
    "Lakeside Pontoon Co.",
    "Red Rock Off-Road",
    "Pine Valley Trailers",
    "Evergreen Honda Powersports",
    "Bayou Bass Boats",
    "Copper State Motorcycles",
    "Keystone RV World",
    "Granite Peak Ski-Doo",
    "Thunder Road Customs",
    "Heartland Golf Carts",
    "Cascade Marine",
    "Desert Sun RV",
    "Tidewater Outboards",
    "Black Hills Powersports",
    "Magnolia Motorsports",
    "Great Lakes RV",
    "Silver Creek Can-Am",
    "Sawtooth Snowmobiles",
    "Canyon Country Cycles",
    "Harbor Point Yachts",
    "Badlands ATV Supply",
    "Golden Valley Campers",
    "Seaside Jet Ski Rentals",
    "Hilltop Suzuki",
    "Rolling Plains Trailers",
    "Twin Rivers Marine",
]


def account_id(n: int) -> str:
    return f"001A0000{n:07d}AAA"


def request_id(n: int) -> str:
    return f"a0T50000{n:07d}AAA"


def platform_of(client: int) -> str:
    """The agency's clients alternate between the two platforms: every third one is on ARI."""
    return "DS" if client % 3 else "ARI"


def takedown(n: int, client: int, rtype: str, **fields: Any) -> dict[str, Any]:
    """One Takedown Request record for client number `client`, approved, effective in ten
    days; `fields` override any of it (by the sandbox config's field names)."""
    rec: dict[str, Any] = {
        "Id": request_id(n),
        "Name": f"TR-{n:05d}",
        "Account__c": account_id(client),
        "Request_Type__c": rtype,
        "Status__c": "Approved",
        "Effective_Date__c": "{today+10}",
        "Reason__c": "reducing marketing budget",
        "Platform__c": platform_of(client),
        "Leaving_Platform__c": False,
        "Credit_Amount__c": 0,
        "Product_Change_Notes__c": "",
        "New_Package_Or_Budget__c": "",
        "Services__c": "TDA",
        "Sync_Status__c": None,
        "Sync_Message__c": None,
    }
    rec.update(fields)
    return rec


def _step(who: str, status: str, when: str) -> dict[str, Any]:
    uid, name = APPROVERS[who]
    return {
        "StepStatus": status,
        "ActorId": uid,
        "Actor": {"Name": name},
        "CreatedDate": when,
        "Comments": "",
    }


def chain(*who: str, day: str = "{today-1}") -> list[dict[str, Any]]:
    """Submitted by Amy, then approved by each of `who` in order, a minute apart."""
    steps = [_step("amy", "Started", f"{day}T14:00:00.000+0000")]
    for i, w in enumerate(who, 1):
        steps.append(_step(w, "Approved", f"{day}T14:{i:02d}:00.000+0000"))
    return steps


def build_agency(
    *,
    clients: int = 40,
    extra_requests: int = 0,
    extra_tracker_rows: int = 0,
    extra_cards: int = 0,
) -> dict[str, Any]:
    """The bundled agency; the extras grow it for the benchmark (mixed request types)."""
    names = [
        DEALERS[i % len(DEALERS)] + (f" #{i // len(DEALERS) + 1}" if i >= len(DEALERS) else "")
        for i in range(clients)
    ]
    platform = [platform_of(i) for i in range(clients)]
    accounts = [
        {
            "Id": account_id(i),
            "Name": names[i],
            "Platform__c": platform[i],
            "TDA_Status__c": "Active",
        }
        for i in range(clients)
    ]
    requests: list[dict[str, Any]] = []
    approvals: dict[str, list[dict[str, Any]]] = {}

    def add(
        n: int, client: int, rtype: str, steps: list[dict[str, Any]] | None, **fields: Any
    ) -> None:
        rec = takedown(n, client, rtype, **fields)
        requests.append(rec)
        if steps is not None:
            approvals[rec["Id"]] = steps

    full = chain("jeremy", "dustin")
    add(
        1,
        1,
        "Cancellation",
        full,
        Services__c="TDA;SEO",
        Product_Change_Notes__c="Cancel all TDA campaigns; SEO continues until month end.",
    )
    add(
        2,
        0,
        "Cancellation",
        full,
        Effective_Date__c="{today-2}",
        Leaving_Platform__c=True,
        Reason__c="switching service to SEM",
        Product_Change_Notes__c="Client leaves the ARI platform entirely.",
    )
    add(
        3,
        2,
        "Contract Pause",
        full,
        Effective_Date__c="{today+5}",
        Reason__c="seasonal closure",
        Product_Change_Notes__c="Pause for the winter season.",
    )
    add(
        4,
        4,
        "Contract Change",
        full,
        Effective_Date__c="{today+1}",
        Reason__c="retention offer accepted",
        New_Package_Or_Budget__c="OTT Advertising add-on, $1,500/month",
        Product_Change_Notes__c="Adds OTT from next month.",
    )
    add(
        5,
        5,
        "Contract Change",
        full,
        Reason__c="budget cut",
        New_Package_Or_Budget__c="Budget cut: $3,000 to $2,000/month",
        Product_Change_Notes__c="Lower budget, same targeting.",
    )
    add(
        6,
        7,
        "Cancellation",
        chain("jeremy", "dustin", "finance"),
        Credit_Amount__c=250,
        Effective_Date__c="{today+3}",
        Reason__c="unhappy with lead volume",
        Product_Change_Notes__c="Credit of $250 for the unused half month.",
    )
    # Needs a person: a credit is issued but Finance never approved.
    add(7, 8, "Cancellation", full, Credit_Amount__c=400, Reason__c="closing the dealership")
    # Needs a person: approved out of order.
    add(8, 10, "Contract Pause", chain("dustin", "jeremy"), Effective_Date__c="{today+7}")
    # Not approved yet: the sync leaves it alone.
    add(9, 11, "Cancellation", chain("jeremy"), Status__c="Pending Approval")
    # Needs a person: approved without an effective date.
    add(10, 13, "Cancellation", full, Effective_Date__c=None)
    # Approved after its effective date: everything runs at once, and the log says so.
    add(
        11,
        14,
        "Cancellation",
        full,
        Effective_Date__c="{today-1}",
        Reason__c="moving to an in-house agency",
    )
    for k in range(extra_requests):
        n = 100 + k
        client = (k * 7 + 17) % clients
        rtype = ("Cancellation", "Contract Pause", "Contract Change")[k % 3]
        add(
            n,
            client,
            rtype,
            full,
            Effective_Date__c=f"{{today{(k % 20) - 5:+d}}}",
            New_Package_Or_Budget__c="Budget change" if rtype == "Contract Change" else "",
        )

    tracker_header_ds = [
        "Client",
        "Salesforce Account ID",
        "Account Manager",
        "Monthly Budget",
        "Status",
        "Pause Date",
        "Cancel Date",
        "Notes",
    ]
    tracker_header_ari = [
        "Salesforce Account ID",
        "Client",
        "Status",
        "Monthly Budget",
        "Cancel Date",
        "Pause Date",
        "Campaign Notes",
    ]
    ds_rows = [tracker_header_ds]
    ari_rows = [tracker_header_ari]
    managers = ["Dana Whitfield", "Marco Ruiz", "Priya Shah", "Tom Becker"]
    for i in range(clients):
        budget = f"${(i % 6 + 1) * 500:,}"
        if platform[i] == "DS":
            ds_rows.append([names[i], account_id(i), managers[i % 4], budget, "Active", "", "", ""])
        else:
            ari_rows.append([account_id(i), names[i], "Active", budget, "", "", ""])
    for k in range(extra_tracker_rows):
        row_n = clients + k
        ds_rows.append(
            [
                f"Bench Dealer {row_n}",
                account_id(row_n),
                managers[k % 4],
                "$500",
                "Active",
                "",
                "",
                "",
            ]
        )

    spreadsheets = {
        "sandbox-ds-tracker": {"title": "DS TDA Client Tracker", "sheets": {"Clients": ds_rows}},
        "sandbox-ari-tracker": {"title": "ARI TDA Client Tracker", "sheets": {"Clients": ari_rows}},
        "sandbox-planner": {
            "title": "Digital Marketing Ops Planner",
            "sheets": {
                "Cancellations & Pauses": [
                    [
                        "Request ID",
                        "Client",
                        "Type",
                        "Effective Date",
                        "Reason",
                        "Request Link",
                        "Ops Notes",
                    ],
                    [
                        "a0T500000000001ZZZ",
                        "Old Town Cycles",
                        "Cancellation",
                        "2026-01-15",
                        "sold the business",
                        "",
                        "done in January",
                    ],
                ],
                "Sync Log": [["Run", "Started (UTC)", "Finished (UTC)", "Summary"]],
            },
        },
        "sandbox-monthly": {
            "title": "TDA Monthly Sheet",
            "sheets": {
                "Contract Changes": [
                    [
                        "Request ID",
                        "Client",
                        "New Package / Budget",
                        "Effective Date",
                        "Product Change Notes",
                    ]
                ]
            },
        },
        "sandbox-offboarding": {
            "title": "DigMS Offboarding Sheet",
            "sheets": {
                "Offboarding": [
                    [
                        "Request ID",
                        "Client",
                        "Salesforce Account ID",
                        "Platform",
                        "Effective Date",
                        "Reason",
                        "Ninja Cat",
                        "Checked By",
                    ]
                ]
            },
        },
    }

    cf = "5f00000000000000000cf001"
    tda_cards: list[dict[str, Any]] = []
    design_cards: list[dict[str, Any]] = []
    for i in range(clients):
        if i % 4 == 0:
            tda_cards.append(
                {
                    "name": names[i],
                    "desc": "Monthly TDA campaign.",
                    "customFieldItems": [{"idCustomField": cf, "value": {"text": account_id(i)}}],
                }
            )
        elif i % 4 == 1:
            tda_cards.append(
                {"name": f"{names[i]} - campaigns", "desc": f"Salesforce account: {account_id(i)}"}
            )
        else:
            tda_cards.append({"name": names[i].upper(), "desc": "Geo-fence and retargeting."})
        if i % 2 == 0:
            design_cards.append({"name": names[i], "desc": "Banner set, 5 sizes."})
    for k in range(extra_cards):
        tda_cards.append({"name": f"Bench card {k}", "desc": "filler"})
    boards = [
        {
            "id": "5f00000000000000000000a1",
            "name": "Targeted Digital Advertising",
            "lists": [
                {"id": "5f000000000000000000a1l1", "name": "Active Campaigns"},
                {"id": "5f000000000000000000a1l2", "name": "Paused"},
            ],
            "customFields": [{"id": cf, "name": "Salesforce Account ID", "type": "text"}],
            "cards": tda_cards,
        },
        {
            "id": "5f00000000000000000000b2",
            "name": "Digital Marketing Graphic Design",
            "lists": [{"id": "5f000000000000000000b2l1", "name": "In Progress"}],
            "customFields": [],
            "cards": design_cards,
        },
    ]
    users = [
        {
            "username": f"{key}@agency.sandbox",
            "password": "not-used",
            "security_token": "not-used",
            "user_id": uid,
            "name": name,
        }
        for key, (uid, name) in APPROVERS.items()
    ]
    return {
        "description": "A small TDA agency: DS and ARI trackers, the Planner, Monthly and "
        "Offboarding sheets, two Trello boards, and approved requests of every type, including "
        "some that need a person.",
        "salesforce": {
            "instance": SALESFORCE_INSTANCE,
            "users": users,
            "records": {"Takedown_Request__c": requests, "Account": accounts},
            "approvals": approvals,
            "limits": {"DailyApiRequests": {"Max": 15000, "Remaining": 15000}},
        },
        "google": {"spreadsheets": spreadsheets},
        "trello": {"boards": boards},
    }


def resolve_dates(value: Any, today: date) -> Any:
    """Replace `{today±N}` inside every string of a scenario."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            days = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
            return (today + timedelta(days=days)).isoformat()

        return _TOKEN.sub(sub, value)
    if isinstance(value, list):
        return [resolve_dates(v, today) for v in value]
    if isinstance(value, dict):
        return {k: resolve_dates(v, today) for k, v in value.items()}
    return value


if __name__ == "__main__":  # regenerate the bundled scenario
    BUNDLED.parent.mkdir(exist_ok=True)
    BUNDLED.write_text(json.dumps(build_agency(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {BUNDLED}")
