"""Cron expressions in a time zone: checked when a schedule is saved, and the next time
each comes round.

croniter does the calendar (ranges, steps, names, `L`, `@monthly`). It is given naive
wall-clock times of the zone rather than aware ones: fed an aware datetime it fires a
daily `30 1 * * *` twice on the night the clocks go back (01:30 summer time, then 01:30
winter time). Counting wall-clock times, each comes once; a time that happens twice fires
the first time, and a time the clocks skip (02:30 on the night they go forward, in a
zone that jumps from 02:00 to 03:00) is read with the offset before the jump, so it fires
at 03:30, the same while later as 02:30 would have been.
"""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter

from app.core.errors import InvalidInput
from app.core.i18n import Text

# The shape the spec documents for `cron` (app/schedules/schemas.py): five fields of
# numbers, names, `*`, `?`, `L`, `#`, ranges, steps and lists, separated by spaces or
# tabs, or an `@` nickname. Checked first, so nothing outside the documented pattern is
# taken (Python's split() also splits on characters JSON Schema's `\s` does not match).
CRON_PATTERN = r"^[ \t]*(?:@[a-z]+|[0-9A-Za-z*?,/#-]+(?:[ \t]+[0-9A-Za-z*?,/#-]+){4})[ \t]*$"
CRON_SHAPE = re.compile(CRON_PATTERN)

# Enough for a minute-by-minute expression to get past a repeated hour (whose times,
# read the first time round, are already behind `after` the second time round).
_MAX_SKIPPED = 24 * 60


class InvalidCron(InvalidInput):
    """422 at body.cron, saying what is wrong in Chinese first."""

    def __init__(self, expression: str, why: Text) -> None:
        super().__init__(
            Text(
                f"cron 表达式 “{expression}” 无效:{why.zh}",
                f"Invalid cron expression “{expression}”: {why.en}",
            ),
            errors=[{"loc": ["body", "cron"], "msg": why.en, "type": "invalid_cron"}],
        )


def checked_cron(expression: str, zone: str, now: datetime) -> str:
    """The expression with its spaces normalised; InvalidCron unless it is five fields
    (minute hour day month weekday) or an `@` nickname that croniter reads and that comes
    round at some time after `now`."""
    fields = expression.split()
    normal = " ".join(fields)
    nickname = len(fields) == 1 and fields[0].startswith("@")
    if len(fields) != 5 and not nickname:
        raise InvalidCron(
            normal,
            Text(
                f"应为 5 个字段(分 时 日 月 周),实为 {len(fields)} 个",
                f"expected 5 fields (minute hour day month weekday), got {len(fields)}",
            ),
        )
    if not CRON_SHAPE.fullmatch(expression) or not croniter.is_valid(normal):
        raise InvalidCron(
            normal,
            Text(
                "无法解析(字段取值:分 0–59,时 0–23,日 1–31,月 1–12,周 0–7)",
                "cannot be parsed (minute 0–59, hour 0–23, day 1–31, month 1–12, weekday 0–7)",
            ),
        )
    if next_fire(normal, zone, now) is None:
        raise InvalidCron(normal, Text("永远不会触发", "never comes round"))
    return normal


def next_fire(expression: str, zone: str, after: datetime) -> datetime | None:
    """The first time strictly after `after` (aware) that the expression names, as a wall
    clock in `zone` reads; in UTC. None if it never comes."""
    tz = ZoneInfo(zone)
    local = after.astimezone(tz).replace(tzinfo=None)
    try:
        times = croniter(expression, local)
        for _ in range(_MAX_SKIPPED):
            wall: datetime = times.get_next(datetime)
            candidate = wall.replace(tzinfo=tz)  # fold=0: the first of a repeated time
            if candidate > after:
                return candidate.astimezone(UTC)
    except CroniterError:
        return None
    return None
