"""Orders, interactions and complaints of demo customers, generated lazily per customer.

Days are counted back from `as_of` (k = 0 is as_of itself); a month window of N months
holds k < `day_spans[N]`, matching the metrics' rule `as_of − N months < d ≤ as_of`.
Each table has its own random streams (content and ids), consumed in customer order, so
a seed gives the same rows whatever the chunk size and however the tables interleave.

Times of day are drawn in tenant-local business hours (08:00–22:00) and `*_on` is that
local day: the row's instant and its local date agree by construction, and no time falls
in a daylight-saving gap (those are at night) for tenants in zones that have them.
"""

import uuid
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from app.demo.draws import Draws, random_uuid, seeded_random
from app.demo.profiles import CustomerPlan
from app.demo.vocabulary import (
    INBOUND_SUMMARIES,
    INQUIRY_SUMMARIES,
    MAJOR_COMPLAINTS,
    MINOR_COMPLAINTS,
    OUTBOUND_SUMMARIES,
    UNREPLIED_SUMMARIES,
)
from app.facts.metrics import months_before

ORDER_COLUMNS: Final = (
    "id",
    "tenant_id",
    "customer_id",
    "external_id",
    "amount",
    "ordered_at",
    "ordered_on",
    "status",
)
INTERACTION_COLUMNS: Final = (
    "id",
    "tenant_id",
    "customer_id",
    "external_id",
    "occurred_at",
    "occurred_on",
    "channel",
    "direction",
    "replied",
    "is_inquiry",
    "summary",
)
COMPLAINT_COLUMNS: Final = (
    "id",
    "tenant_id",
    "customer_id",
    "external_id",
    "occurred_at",
    "occurred_on",
    "severity",
    "summary",
)

# Orders that are not revenue (cancelled/refunded) come on top of the planned amounts, so
# the segment's tier holds; the metrics ignore them.
VOID_ORDER_PERCENT: Final = 2.5
_OUTBOUND_CHANNELS: Final = ("phone", "phone", "visit", "email", "wechat", "wechat", "meeting")
_INBOUND_CHANNELS: Final = ("phone", "wechat", "email", "online")


def day_spans(as_of: date) -> dict[int, int]:
    """For N in 1, 3, 6, 12, 24: the number of days in the N-month window ending at as_of."""
    return {n: (as_of - months_before(as_of, n)).days for n in (1, 3, 6, 12, 24)}


class ActivityFactory:
    """The activity of demo customers, one table at a time, for chunks of `CustomerPlan`s."""

    def __init__(self, tenant_id: uuid.UUID, seed: int, as_of: date, time_zone: str) -> None:
        self.tenant_id = tenant_id
        self.spans = day_spans(as_of)
        zone = ZoneInfo(time_zone)
        # Local midnight and date of every day k, and every second of a day, made once:
        # a row's instant is then one list lookup and one addition.
        self.days = [as_of - timedelta(days=k) for k in range(self.spans[24] + 1)]
        self.midnights = [datetime(d.year, d.month, d.day, tzinfo=zone) for d in self.days]
        self.seconds = [timedelta(seconds=s) for s in range(86_400)]
        self.draws = {
            table: Draws(seeded_random(seed, table))
            for table in ("orders", "interactions", "complaints")
        }
        self.id_rngs = {
            table: seeded_random(seed, tenant_id, f"{table}-ids") for table in self.draws
        }

    def _at(self, k: int, draw: Draws, first_hour: int, last_hour: int) -> datetime:
        """A local time between the hours on day k."""
        return self.midnights[k] + self.seconds[draw.between(first_hour * 3600, last_hour * 3600)]

    # ------------------------------------------------------------------ orders

    def orders(self, plans: Iterable[CustomerPlan]) -> Iterator[tuple[Any, ...]]:
        """Order rows (`ORDER_COLUMNS`): the planned 12-month amount, then months 13–24."""
        draw, id_rng, tenant = self.draws["orders"], self.id_rngs["orders"], self.tenant_id
        span_12m = self.spans[12]
        for plan in plans:
            if not plan.orders_12m:
                continue
            quiet, active = plan.order_quiet, plan.active_days
            recent = (quiet, min(span_12m, active))
            if recent[0] < recent[1]:
                ratio = draw.inclusive(plan.segment.prior_percent) / 100
                prior_cents = int(plan.amount_12m_cents * ratio * (0.8 + 0.4 * draw.random()))
                batches = [
                    (recent, plan.orders_12m, plan.amount_12m_cents, True),
                    (
                        (max(quiet, span_12m), active),
                        round(plan.orders_12m * ratio),
                        prior_cents,
                        False,
                    ),
                ]
            else:
                # Quiet for more than a year: what it bought lies further back.
                batches = [((quiet, active), plan.orders_12m, plan.amount_12m_cents, True)]
            number = 0
            code = f"SO-{plan.index + 1:07d}-"
            for (low, high), count, cents, pin_latest in batches:
                if count <= 0 or low >= high:
                    continue
                for position, amount in enumerate(_split(draw, cents, count)):
                    # The latest order is exactly `quiet` days ago.
                    k = low if pin_latest and position == 0 else draw.between(low, high)
                    number += 1
                    yield (
                        random_uuid(id_rng),
                        tenant,
                        plan.id,
                        f"{code}{number:03d}",
                        amount,
                        self._at(k, draw, 9, 18),
                        self.days[k],
                        _order_status(draw, k),
                    )
                    if draw.chance(VOID_ORDER_PERCENT):
                        number += 1
                        k = draw.between(low, high)
                        yield (
                            random_uuid(id_rng),
                            tenant,
                            plan.id,
                            f"{code}{number:03d}",
                            amount,
                            self._at(k, draw, 9, 18),
                            self.days[k],
                            draw.pick(("cancelled", "refunded")),
                        )

    # ------------------------------------------------------------------ interactions

    def interactions(self, plans: Iterable[CustomerPlan]) -> Iterator[tuple[Any, ...]]:
        """Interaction rows (`INTERACTION_COLUMNS`): contact, outreach and 询价."""
        draw, id_rng = self.draws["interactions"], self.id_rngs["interactions"]
        tenant, span_6m = self.tenant_id, self.spans[6]
        for plan in plans:
            segment = plan.segment
            quiet, active = plan.contact_quiet, plan.active_days
            count = draw.inclusive(segment.interactions_6m)
            kinds = [False] * count + [True] * draw.inclusive(segment.inquiries_6m)
            draw.rng.shuffle(kinds)
            window = (quiet, min(span_6m, active))
            if window[0] >= window[1]:
                # Quiet for more than six months: its contacts lie further back.
                window = (quiet, active)
            earlier = [False] * draw.between(0, count // 2 + 2) if count else []
            batches = [(window, kinds, True), ((max(quiet, span_6m), active), earlier, False)]
            unanswered_below = plan.order_quiet if segment.unanswered_since_orders_stopped else 0
            number = 0
            code = f"IX-{plan.index + 1:07d}-"
            for (low, high), batch, pin_latest in batches:
                if low >= high:
                    continue
                for position, is_inquiry in enumerate(batch):
                    # The latest contact is exactly `quiet` days ago.
                    k = low if pin_latest and position == 0 else draw.between(low, high)
                    number += 1
                    if segment.never_answers or k < unanswered_below:
                        row = _unanswered(draw)
                    else:
                        row = _interaction(draw, is_inquiry)
                    yield (
                        random_uuid(id_rng),
                        tenant,
                        plan.id,
                        f"{code}{number:03d}",
                        self._at(k, draw, 8, 20),
                        self.days[k],
                        *row,
                    )

    # ------------------------------------------------------------------ complaints

    def complaints(self, plans: Iterable[CustomerPlan]) -> Iterator[tuple[Any, ...]]:
        """Complaint rows (`COMPLAINT_COLUMNS`): the segment's recent ones, a few old ones."""
        draw, id_rng = self.draws["complaints"], self.id_rngs["complaints"]
        tenant, span_6m = self.tenant_id, self.spans[6]
        for plan in plans:
            segment = plan.segment
            severities = ["minor"] * draw.inclusive(segment.complaints_6m)
            if severities and draw.chance(segment.major_complaint_percent):
                severities[0] = "major"
            recent_high = min(span_6m, plan.active_days)
            days = [draw.between(0, recent_high) for _ in severities]
            # Signed customers sometimes complained long ago (outside the 6-month window).
            if segment.stage == "signed" and plan.active_days > span_6m and draw.chance(4):
                severities.append("major" if draw.chance(20) else "minor")
                days.append(draw.between(span_6m, plan.active_days))
            for number, (k, severity) in enumerate(zip(days, severities, strict=True), 1):
                texts = MAJOR_COMPLAINTS if severity == "major" else MINOR_COMPLAINTS
                yield (
                    random_uuid(id_rng),
                    tenant,
                    plan.id,
                    f"CP-{plan.index + 1:07d}-{number:03d}",
                    self._at(k, draw, 8, 22),
                    self.days[k],
                    severity,
                    draw.pick(texts),
                )


def _split(draw: Draws, cents: int, count: int) -> list[Decimal]:
    """`count` positive amounts (元, 2 places) adding up to exactly `cents`."""
    weights = [0.3 + 1.4 * draw.random() for _ in range(count)]
    total = sum(weights)
    parts = [max(100, int(cents * w / total)) for w in weights]
    parts[-1] = max(100, cents - sum(parts[:-1]))
    return [Decimal(part).scaleb(-2) for part in parts]


def _order_status(draw: Draws, k: int) -> str:
    # Fresh orders are still in progress; older ones are done.
    if k < 7:
        return draw.pick(("pending", "paid", "completed"))
    return "completed" if draw.chance(97) else "paid"


def _unanswered(draw: Draws) -> tuple[Any, ...]:
    """channel, direction, replied, is_inquiry, summary of outreach nobody answered."""
    return (
        draw.pick(("phone", "wechat", "email")),
        "outbound",
        False,
        False,
        draw.pick(UNREPLIED_SUMMARIES),
    )


def _interaction(draw: Draws, is_inquiry: bool) -> tuple[Any, ...]:
    """channel, direction, replied, is_inquiry, summary of an ordinary interaction."""
    if is_inquiry:
        return (draw.pick(_INBOUND_CHANNELS), "inbound", None, True, draw.pick(INQUIRY_SUMMARIES))
    if draw.chance(65):
        if draw.chance(88):
            return (
                draw.pick(_OUTBOUND_CHANNELS),
                "outbound",
                True,
                False,
                draw.pick(OUTBOUND_SUMMARIES),
            )
        return _unanswered(draw)
    return (draw.pick(_INBOUND_CHANNELS), "inbound", None, False, draw.pick(INBOUND_SUMMARIES))
