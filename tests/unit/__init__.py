"""Pure parts, no network and no clock: the planner, approval, undo planning, the
Sheets and Trello deciding, SOQL text."""
