"""The tenant's today: the default `as_of` of everything computed as of a date."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.core.auth import Principal


def tenant_today(principal: Principal) -> date:
    """Today in the tenant's time zone."""
    return datetime.now(ZoneInfo(principal.tenant_time_zone)).date()
