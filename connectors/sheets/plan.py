"""Pure deciding for Google Sheets: which writes one spreadsheet read calls for, effect by effect.

Split from `connectors.sheets.connector` so that deciding can be tested without a network: none
of this package calls Google. `plan_book` takes one read (`connectors.sheets.book`), decides
each effect (`connectors.sheets.rows` for the forward effects, `connectors.sheets.undo` for the
reversals; rows are located by key, never by a remembered row number) and collects the writes of
the one atomic `spreadsheets.batchUpdate` (`connectors.sheets.writes` builds its body). The
connector does the reads, the write and the retries around it.
"""

from __future__ import annotations

from connectors.base import Journal
from connectors.sheets import undo as sheets_undo
from connectors.sheets.book import BookPlan, Tab, Verdict, find_tab
from connectors.sheets.rows import ADD_COLUMNS, EffectRows
from sync.config.model import Config, SheetConfig
from sync.core.domain import Effect, EffectKind, Outcome, OutcomeStatus

ORDER = (
    EffectKind.PLANNER_ADD,
    EffectKind.MONTHLY_RECORD,
    EffectKind.OFFBOARDING_ADD,
    EffectKind.TRACKER_STATUS,
    EffectKind.NINJACAT_FLAG,
    EffectKind.TRACKER_REMOVE,
    # Reversals last: a restored row goes back after this run's own removals.
    EffectKind.UNDO_MARK,
    EffectKind.UNDO_TRACKER,
)


# ----- deciding ------------------------------------------------------------------------------
def plan_book(
    cfg: Config,
    group: list[tuple[Effect, str, SheetConfig]],
    book: dict[str, Tab],
    base: dict[str, Tab] | None,
    journal: Journal,
    attempted: set[str],
) -> BookPlan:
    """Decide every effect on `book`; `base` (the first read) shows what people changed."""
    plan = BookPlan(sheet_ids={t.sheet_id for b in (book, base or {}) for t in b.values()})
    for effect, name, sheet in group:
        try:
            done, message = _plan_one(cfg, plan, effect, name, sheet, book, base, journal)
        except Verdict as stop:
            if effect.kind is EffectKind.OFFBOARDING_ADD:
                plan.failed_adds[effect.request_id] = stop.message
            plan.decided[effect.key] = Outcome(effect.key, stop.status, stop.message)
            continue
        if not done:
            plan.pending[effect.key] = message
        elif effect.key in attempted:  # our own earlier attempt in this run landed
            plan.decided[effect.key] = Outcome(effect.key, OutcomeStatus.APPLIED, message)
        else:
            plan.decided[effect.key] = Outcome(effect.key, OutcomeStatus.ALREADY_DONE, message)
    return plan


def _plan_one(
    cfg: Config,
    plan: BookPlan,
    effect: Effect,
    name: str,
    sheet: SheetConfig,
    book: dict[str, Tab],
    base: dict[str, Tab] | None,
    journal: Journal,
) -> tuple[bool, str]:
    """Queue one effect's writes in `plan`: (already done?, what was or will be done)."""
    where = f"{name} sheet (spreadsheet {sheet.spreadsheet_id}, tab '{sheet.tab}')"
    tab = find_tab(book, sheet.tab)
    if tab is None:
        raise Verdict(OutcomeStatus.FAILED, f"{where}: the tab is missing (renamed?)")
    ctx = EffectRows(cfg, effect, name, sheet, tab, where, base)
    if effect.kind in ADD_COLUMNS:
        return ctx.add_row(plan)
    if effect.kind is EffectKind.TRACKER_STATUS:
        return ctx.tracker_status(plan, book)
    if effect.kind is EffectKind.NINJACAT_FLAG:
        return ctx.ninja_cat(plan)
    if effect.kind is EffectKind.UNDO_MARK:
        return sheets_undo.mark(ctx, plan, journal.today)
    if effect.kind is EffectKind.UNDO_TRACKER:
        return sheets_undo.restore(ctx, plan, book)
    return ctx.remove(plan, book, journal)
