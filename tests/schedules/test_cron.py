"""Cron times in a time zone (pure): the next fire is always later, none is skipped, and
each wall-clock time fires once even on the nights the clocks change."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import example, given
from hypothesis import strategies as st

from app.schedules.cron import next_fire

ZONES = ["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"]

minutes = st.one_of(st.just("*"), st.integers(0, 59).map(str), st.sampled_from(["*/15", "0,30"]))
hours = st.one_of(st.just("*"), st.integers(0, 23).map(str), st.sampled_from(["1-3", "*/6"]))
days = st.one_of(st.just("*"), st.integers(1, 28).map(str), st.just("L"))
weekdays = st.one_of(st.just("*"), st.integers(0, 6).map(str))
expressions = st.builds(lambda m, h, d, w: f"{m} {h} {d} * {w}", minutes, hours, days, weekdays)
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@given(expressions, st.sampled_from(ZONES), instants, st.floats(0, 1))
def test_the_next_fire_is_later_and_no_fire_lies_between(
    expression: str, zone: str, after: datetime, fraction: float
) -> None:
    fire = next_fire(expression, zone, after)
    assert fire is not None
    assert fire > after
    # Asked from any moment before it, the answer is the same fire: nothing in between.
    between = after + (fire - after) * fraction
    if between < fire:
        assert next_fire(expression, zone, between) == fire


@given(expressions, st.sampled_from(ZONES), instants)
@example("* 2 * * *", "America/New_York", datetime(2026, 3, 8, tzinfo=UTC))  # a skipped hour
def test_the_next_fire_reads_as_the_expression_on_the_zones_clock(
    expression: str, zone: str, after: datetime
) -> None:
    fire = next_fire(expression, zone, after)
    assert fire is not None
    local = fire.astimezone(ZoneInfo(zone))
    wall = local.replace(tzinfo=None)
    if croniter.match(expression, wall):
        return
    # A time the clocks skipped: it fires as far after the jump as it was after the last
    # time before the jump, so the wall time it was meant for matches — and that wall time
    # did not exist. (The fire itself may read back as a real time: "* 2 * * *" in New York
    # on 2026-03-08 fires at 03:00 EDT; the test took that for an ordinary fire before.)
    shift = local.utcoffset() - (local - timedelta(hours=3)).utcoffset()
    meant = wall - shift
    assert shift > timedelta(0)
    assert croniter.match(expression, meant)
    zoned = meant.replace(tzinfo=ZoneInfo(zone))
    assert zoned.astimezone(UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None) != meant


def _wall_times(expression: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    times, now = [], start
    while (now := next_fire(expression, zone, now)) is not None and now < end:
        times.append(now)
    return times


def test_a_repeated_hour_fires_each_wall_time_once_and_a_skipped_one_an_hour_on() -> None:
    ny = ZoneInfo("America/New_York")
    fall = _wall_times("30 1 * * *", "America/New_York", datetime(2026, 10, 31, tzinfo=ny),
                       datetime(2026, 11, 3, tzinfo=ny))  # fmt: skip
    assert [t.astimezone(ny).isoformat() for t in fall] == [
        "2026-10-31T01:30:00-04:00",
        "2026-11-01T01:30:00-04:00",  # the first 01:30 of the night; not the second
        "2026-11-02T01:30:00-05:00",
    ]
    spring = _wall_times("30 2 * * *", "America/New_York", datetime(2026, 3, 7, tzinfo=ny),
                         datetime(2026, 3, 10, tzinfo=ny))  # fmt: skip
    assert [t.astimezone(ny).isoformat() for t in spring] == [
        "2026-03-07T02:30:00-05:00",
        "2026-03-08T03:30:00-04:00",  # 02:30 does not exist that night
        "2026-03-09T02:30:00-04:00",
    ]
    hourly = _wall_times("0 * * * *", "America/New_York", datetime(2026, 11, 1, 0, 30, tzinfo=ny),
                         datetime(2026, 11, 1, 3, 30, tzinfo=ny))  # fmt: skip
    assert [t.astimezone(ny).strftime("%H:%M%z") for t in hourly] == [
        "01:00-0400", "02:00-0500", "03:00-0500"  # 01:00 comes round once
    ]  # fmt: skip


def test_shanghai_has_no_daylight_saving_nine_is_always_one_utc() -> None:
    fires = _wall_times("0 9 1 * *", "Asia/Shanghai", datetime(2026, 1, 1, tzinfo=UTC),
                        datetime(2027, 1, 1, tzinfo=UTC))  # fmt: skip
    assert len(fires) == 12
    assert {(f.day, f.hour, f.minute) for f in fires} == {(1, 1, 0)}
