"""Customer profiles for demo data: names, industries, regions, USCCs, contacts, tags.

One `ProfileFactory` draws every customer from one seeded random stream, in order, so a
seed gives the same customers whatever the chunk size. Each customer comes with a
`CustomerPlan`: what the activity generators need to know about it (its segment, the
amount its last 12 months of orders add up to, how long it has been quiet).
"""

import math
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

from app.customers.normalise import USCC_CHARSET, size_from_employees, uscc_check_char
from app.demo.draws import Draws, Weighted, random_uuid, seeded_random
from app.demo.segments import BLOCK, SEGMENTS, Segment
from app.demo.vocabulary import (
    BRAND_CHARS,
    CITIES,
    CONTACT_TITLES,
    DUPLICATE_SPELLINGS,
    GIVEN_NAME_CHARS,
    INDUSTRY_WORDS,
    LEGAL_SUFFIXES,
    SOURCE_TAGS,
    SURNAMES,
    UNKNOWN_INDUSTRIES,
)

CUSTOMER_COLUMNS: Final = (
    "id",
    "tenant_id",
    "code",
    "name",
    "industry",
    "employees",
    "size",
    "annual_revenue",
    "region",
    "stage",
    "uscc",
    "contact_name",
    "contact_title",
    "cooperation_since",
    "tags",
)

# Share of customers with one deliberately broken or missing field, for the data-quality
# report to find; and of customers that simply have no USCC on file.
DEFECT_PERCENT: Final = 2.5
NO_USCC_PERCENT: Final = 3
DEFECTS: Final = (
    "missing_industry",
    "unknown_industry",
    "bad_uscc_checksum",
    "malformed_uscc",
    "missing_contact",
    "missing_region",
    "missing_employees",
)
_GIVEN_CHARS: Final = tuple(dict.fromkeys(GIVEN_NAME_CHARS))


def customer_code(index: int) -> str:
    """客户编号 of the index-th demo customer (CUS0000001 …)."""
    return f"CUS{index + 1:07d}"


@dataclass(slots=True)
class CustomerPlan:
    """A generated customer as the activity generators see it (days counted back from as_of)."""

    index: int
    id: uuid.UUID
    segment: Segment
    amount_12m_cents: int
    orders_12m: int
    order_quiet: int
    contact_quiet: int
    # Activity happens only on days k < active_days (cooperation or lead age).
    active_days: int


@dataclass(slots=True)
class _Company:
    city: int
    name: str
    uscc: str | None
    industry: str | None


class ProfileFactory:
    """Draws demo customers one after another: call `next_customer` for index 0, 1, 2 …"""

    def __init__(self, tenant_id: uuid.UUID, seed: int, as_of: date, day_spans: dict[int, int]):
        self.tenant_id = tenant_id
        self.as_of = as_of
        self.span_24m = day_spans[24]
        # Content depends on the seed only; ids also on the tenant, because customer ids
        # are primary keys across tenants and the same seed may be loaded into two.
        self.draw = Draws(seeded_random(seed, "customers"))
        self.id_rng = seeded_random(seed, tenant_id, "customer-ids")
        self.cities = Weighted(range(len(CITIES)), (city[2] for city in CITIES))
        self.industries = Weighted(range(len(INDUSTRY_WORDS)), (i[1] for i in INDUSTRY_WORDS))
        self.suffixes = Weighted(*zip(*LEGAL_SUFFIXES, strict=True))
        self.titles = Weighted(*zip(*CONTACT_TITLES, strict=True))
        self.used_names: set[tuple[int, int, int, int]] = set()
        # Companies a later duplicate entry may copy: (city index, stem, uscc, industry).
        self.recent: deque[tuple[int, str, str | None, str | None]] = deque(maxlen=500)
        self.schedule: list[Segment] = []

    def next_customer(self, index: int) -> tuple[tuple[Any, ...], CustomerPlan]:
        """The COPY row (`CUSTOMER_COLUMNS`) and the plan of customer `index`."""
        draw = self.draw
        if index % BLOCK == 0:
            self.schedule = [s for s in SEGMENTS for _ in range(s.per_block)]
            draw.rng.shuffle(self.schedule)
        segment = self.schedule[index % BLOCK]
        if segment.key == "duplicate" and self.recent:
            company = self._duplicate_of_recent()
        else:
            company = self._new_company()

        employees = max(3, int(segment.employees_median * math.exp(draw.rng.gauss(0.0, 0.8))))
        low, high = segment.amount_12m
        amount_12m = math.exp(draw.rng.uniform(math.log(low), math.log(high))) if low else 0.0
        # Spend with us is a fraction of the customer's own revenue; revenue in whole 万.
        revenue = max(employees * draw.between(20, 150), amount_12m * draw.between(8, 25) / 1e4)
        order_quiet = draw.inclusive(segment.order_quiet)
        contact_quiet = draw.inclusive(segment.contact_quiet)
        since_days = self._cooperation_days(segment, max(order_quiet, contact_quiet))
        if since_days is not None:
            active_days = min(self.span_24m, since_days)
        else:  # a lead is as old as its first contact
            active_days = min(self.span_24m, contact_quiet + draw.between(30, 700))
        plan = CustomerPlan(
            index=index,
            id=random_uuid(self.id_rng),
            segment=segment,
            amount_12m_cents=int(amount_12m * 100),
            orders_12m=draw.inclusive(segment.orders_12m),
            order_quiet=order_quiet,
            contact_quiet=contact_quiet,
            active_days=max(active_days, contact_quiet + 1, order_quiet + 1),
        )
        # Not every signed customer has its start date on file; metrics then count from
        # the first order.
        recorded_since = since_days is not None and (
            segment.since_days is not None or draw.chance(90)
        )
        values: dict[str, Any] = {
            "id": plan.id,
            "tenant_id": self.tenant_id,
            "code": customer_code(index),
            "name": company.name,
            "industry": company.industry,
            "employees": employees,
            "size": size_from_employees(employees),
            "annual_revenue": Decimal((int(revenue) + 1) * 10_000),
            "region": CITIES[company.city][1],
            "stage": segment.stage,
            "uscc": company.uscc,
            "contact_name": self._person(),
            "contact_title": self.titles.pick(draw),
            "cooperation_since": (
                self.as_of - timedelta(since_days)
                if recorded_since and since_days is not None
                else None
            ),
            "tags": self._tags(segment, since_days),
        }
        if draw.chance(DEFECT_PERCENT):
            self._break_one_field(values, company.city)
        return tuple(values[column] for column in CUSTOMER_COLUMNS), plan

    def _break_one_field(self, values: dict[str, Any], city: int) -> None:
        """Leave out or spoil one field, as a careless import would (数据验证 finds it)."""
        draw = self.draw
        defect = draw.pick(DEFECTS)
        if defect == "missing_industry":
            values["industry"] = None
        elif defect == "unknown_industry":
            values["industry"] = draw.pick(UNKNOWN_INDUSTRIES)
        elif defect == "bad_uscc_checksum":
            values["uscc"] = self._uscc(city, wrong_check=True)
        elif defect == "malformed_uscc":
            values["uscc"] = self._uscc(city)[:17] + draw.pick(("", "O", "I"))
        elif defect == "missing_contact":
            values["contact_name"] = values["contact_title"] = None
        elif defect == "missing_region":
            values["region"] = None
        else:  # size stays consistent: unknown along with the head count
            values["employees"] = values["size"] = values["annual_revenue"] = None

    # ------------------------------------------------------------------ names and codes

    def _new_company(self) -> _Company:
        draw = self.draw
        while True:
            city = self.cities.pick(draw)
            industry_index = self.industries.pick(draw)
            code, _, words = INDUSTRY_WORDS[industry_index]
            word_index = draw.between(0, len(words))
            first = draw.between(0, len(BRAND_CHARS))
            second = draw.between(0, len(BRAND_CHARS))
            key = (city, industry_index * 16 + word_index, first, second)
            # Names are unique by construction, so the only duplicates in the data set are
            # the deliberate ones.
            if first != second and key not in self.used_names:
                self.used_names.add(key)
                break
        stem = f"{CITIES[city][0]}{BRAND_CHARS[first]}{BRAND_CHARS[second]}{words[word_index]}"
        uscc = None if draw.chance(NO_USCC_PERCENT) else self._uscc(city)
        # Some records carry only the top-level industry (制造业), still a listed code.
        industry = code.split("-")[0] if draw.chance(3) else code
        self.recent.append((city, stem, uscc, industry))
        return _Company(city, stem + self.suffixes.pick(draw), uscc, industry)

    def _duplicate_of_recent(self) -> _Company:
        draw = self.draw
        city, stem, uscc, industry = draw.pick(self.recent)
        city_name = CITIES[city][0]
        spelling = draw.pick(DUPLICATE_SPELLINGS)
        name = spelling.format(stem=stem, city=city_name, rest=stem.removeprefix(city_name))
        # Another channel may not have recorded the code or the industry.
        return _Company(
            city, name, uscc if draw.chance(50) else None, industry if draw.chance(70) else None
        )

    def _uscc(self, city: int, *, wrong_check: bool = False) -> str:
        """统一社会信用代码: 9 (工商) 1 (企业), division code, organisation code, check."""
        draw = self.draw
        division = f"{CITIES[city][3]}{draw.between(1, 19):02d}"
        organisation = "".join(draw.pick(USCC_CHARSET) for _ in range(8))
        first17 = f"91{division}{organisation}{_organisation_check(organisation)}"
        check = uscc_check_char(first17)
        if wrong_check:
            shift = USCC_CHARSET.index(check) + draw.between(1, len(USCC_CHARSET))
            check = USCC_CHARSET[shift % len(USCC_CHARSET)]
        return first17 + check

    def _person(self) -> str:
        draw = self.draw
        given = draw.pick(_GIVEN_CHARS)
        if draw.chance(70):
            given += draw.pick(_GIVEN_CHARS)
        return draw.pick(SURNAMES) + given

    # ------------------------------------------------------------------ relationship

    def _cooperation_days(self, segment: Segment, quiet: int) -> int | None:
        """How many days ago cooperation started (None for prospects)."""
        if segment.stage == "potential":
            return None
        if segment.since_days is not None:
            return self.draw.inclusive(segment.since_days)
        if self.draw.chance(60):
            days = self.draw.inclusive((730, 3650))  # 老客户
        else:
            days = self.draw.inclusive((200, 729))
        # Cooperation began well before the customer went quiet.
        return max(days, quiet + 60)

    def _tags(self, segment: Segment, since_days: int | None) -> list[str]:
        draw = self.draw
        tags = []
        if since_days is not None and since_days >= 730:
            tags.append("老客户")
        if since_days is not None and since_days <= 180:
            tags.append("新客户")
        if segment.key_account and draw.chance(80):
            tags.append("重点客户")
        if segment.key == "complaining":
            tags.append("投诉记录")
        if segment.stage == "potential" and draw.chance(50):
            tags.append("意向客户")
        if draw.chance(25):
            tags.append(draw.pick(SOURCE_TAGS))
        return tags


def _organisation_check(code8: str) -> str:
    """GB 11714 check character of an 8-character organisation code (0–9 or X)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    values = (int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in code8)
    check = 11 - sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return {10: "X", 11: "0"}.get(check, str(check))
