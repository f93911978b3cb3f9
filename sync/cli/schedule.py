"""`[schedule] cron` as an APScheduler trigger: what `serve` runs on, and the page's next run.

Apart from `serve` so the runner (which writes the page after a run) can read the schedule the
way `serve` does without importing `serve`, which imports the runner.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sync.errors import ConfigError


def cron_trigger(expr: str, timezone: str) -> object:
    """A crontab line; six fields mean seconds first (handy for tests and demos)."""
    from apscheduler.triggers.cron import CronTrigger  # noqa: PLC0415 - only when a schedule is read

    fields = expr.split()
    tz = ZoneInfo(timezone)
    try:
        if len(fields) == 6:
            second, minute, hour, day, month, dow = fields
            return CronTrigger(
                second=second,
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=dow,
                timezone=tz,
            )
        return CronTrigger.from_crontab(expr, timezone=tz)
    except ValueError as exc:
        raise ConfigError(f"not a valid cron expression {expr!r}: {exc}", key="schedule") from None
