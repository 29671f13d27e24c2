"""The tenant's today (the default `as_of` of everything computed as of a date) and its
time zone."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.core.auth import Principal


def tenant_zone(principal: Principal) -> ZoneInfo:
    """The tenant's time zone: its days and its wall-clock times are read in it."""
    return ZoneInfo(principal.tenant_time_zone)


def tenant_today(principal: Principal) -> date:
    """Today in the tenant's time zone."""
    return datetime.now(tenant_zone(principal)).date()
