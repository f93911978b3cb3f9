"""Reading a scenario file: a JSON agency with relative dates, or a generated one.

Kept apart from `scenario` (the format and the bundled agency) because a generated scenario
(`{"generate": "production"}`) is built by `production`, which itself builds on `scenario`:
here both are imported at the top, and neither imports this module.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from connectors.emulators.scenarios.production import build_production
from connectors.emulators.scenarios.scenario import resolve_dates


def load_scenario(path: Path, today: date) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and data.get("generate") == "production":
        # Too big to bundle as data: generated at seed time, the same for the same seed.
        return build_production(today, seed=int(data.get("seed", 14)))
    if not isinstance(data, dict) or not {"salesforce", "google", "trello"} <= set(data):
        raise ValueError(
            f"{path}: a scenario is a JSON object with 'salesforce', 'google' and 'trello'"
        )
    resolved: dict[str, Any] = resolve_dates(data, today)
    return resolved
