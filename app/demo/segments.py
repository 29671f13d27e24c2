"""The kinds of customer the demo data contains, and how often.

Each segment is shaped so that one class of the seed guides certainly occurs:

- seed 000 价值: 高价值 (≥50万), 中价值 (10–50万), 低价值 (<10万); 活跃度: last contact or
  order within 1 month / 1–3 months / longer; 风险: 流失预警 (no orders for 3 months and no
  contact for 90 days, or outreach unanswered), 投诉客户 (≥2 complaints in 6 months, some
  major), 稳定客户.
- seed 002 分级: 核心 (12 months ≥50万 and ≥10 interactions in 6 months), 潜力 (20–50万 or
  inquiries), 普通 (5–20万, 3–9 interactions), 低价值 (<5万), and the borderline cases
  around 50万 / 10 interactions its review step is about.
- seed 001: 战略客户 (≥1000万 a year), 重点客户 (500–1000万), 普通客户.

Segments are dealt out in blocks of `BLOCK` customers (each block holds exactly
`per_block` of each, shuffled), so every segment occurs in any data set of one block or
more, with the same proportions at every size.
"""

from dataclasses import dataclass
from typing import Final

BLOCK: Final = 200

Range = tuple[int, int]


@dataclass(frozen=True)
class Segment:
    """One kind of customer: ranges the generator draws from (inclusive)."""

    key: str
    per_block: int
    stage: str = "signed"
    # What the orders of the last 12 months add up to (元); drawn log-uniformly.
    amount_12m: Range = (0, 0)
    orders_12m: Range = (0, 0)
    # Orders in months 13–24 relative to the last 12 months (percent).
    prior_percent: Range = (40, 100)
    interactions_6m: Range = (0, 0)
    inquiries_6m: Range = (0, 0)
    # Days before as_of with no order / no interaction at all.
    order_quiet: Range = (0, 0)
    contact_quiet: Range = (0, 0)
    # Outreach more recent than the order silence goes unanswered (流失预警 by 沟通未回复).
    unanswered_since_orders_stopped: bool = False
    # Every interaction is outreach that nobody answered (cold leads).
    never_answers: bool = False
    complaints_6m: Range = (0, 0)
    major_complaint_percent: int = 0
    employees_median: int = 60
    # Cooperation started this many days ago (new customers); None: the usual spread.
    since_days: Range | None = None
    key_account: bool = False


SEGMENTS: Final[tuple[Segment, ...]] = (
    # seed 001 战略客户: ≥1000万 a year; seed 000 高价值 / 高活跃 / 稳定.
    Segment(
        "strategic",
        1,
        amount_12m=(10_000_000, 30_000_000),
        orders_12m=(30, 60),
        prior_percent=(60, 100),
        interactions_6m=(15, 30),
        inquiries_6m=(0, 2),
        order_quiet=(0, 10),
        contact_quiet=(0, 14),
        complaints_6m=(0, 1),
        employees_median=3000,
        key_account=True,
    ),
    # seed 001 重点客户: 500–1000万.
    Segment(
        "key_account",
        2,
        amount_12m=(5_000_000, 9_900_000),
        orders_12m=(20, 40),
        prior_percent=(60, 100),
        interactions_6m=(12, 25),
        inquiries_6m=(0, 2),
        order_quiet=(0, 14),
        contact_quiet=(0, 14),
        complaints_6m=(0, 1),
        employees_median=1200,
        key_account=True,
    ),
    # seed 002 核心客户: ≥50万 in 12 months and ≥10 interactions in 6; a few with a major
    # complaint, which seed 000 says keeps them out of 高价值.
    Segment(
        "core",
        10,
        amount_12m=(500_000, 4_900_000),
        orders_12m=(10, 25),
        prior_percent=(50, 100),
        interactions_6m=(10, 20),
        inquiries_6m=(0, 2),
        order_quiet=(0, 25),
        contact_quiet=(0, 25),
        complaints_6m=(0, 1),
        major_complaint_percent=7,
        employees_median=400,
        key_account=True,
    ),
    # 金额达标但互动不足: seed 002's example of a case for manual review.
    Segment(
        "core_few_contacts",
        2,
        amount_12m=(500_000, 2_000_000),
        orders_12m=(8, 20),
        prior_percent=(50, 100),
        interactions_6m=(4, 9),
        order_quiet=(0, 30),
        contact_quiet=(5, 40),
        employees_median=300,
        key_account=True,
    ),
    # Around the 50万 / 10-interaction thresholds: borderline results.
    Segment(
        "borderline",
        2,
        amount_12m=(475_000, 525_000),
        orders_12m=(8, 16),
        interactions_6m=(8, 12),
        inquiries_6m=(0, 1),
        order_quiet=(0, 30),
        contact_quiet=(0, 30),
        employees_median=200,
    ),
    # seed 002 潜力客户: 20–50万, often asking about new products.
    Segment(
        "potential",
        20,
        amount_12m=(200_000, 490_000),
        orders_12m=(6, 14),
        interactions_6m=(4, 9),
        inquiries_6m=(1, 3),
        order_quiet=(0, 45),
        contact_quiet=(0, 45),
        complaints_6m=(0, 1),
        employees_median=150,
    ),
    # seed 002 普通客户: 5–20万, 3–9 interactions; activity spread over all three tiers.
    Segment(
        "regular",
        54,
        amount_12m=(50_000, 195_000),
        orders_12m=(3, 9),
        interactions_6m=(3, 9),
        order_quiet=(0, 85),
        contact_quiet=(0, 85),
        complaints_6m=(0, 1),
        employees_median=80,
    ),
    # seed 002 低价值客户: <5万, hardly any contact.
    Segment(
        "low",
        30,
        amount_12m=(3_000, 48_000),
        orders_12m=(1, 4),
        prior_percent=(30, 100),
        interactions_6m=(0, 2),
        order_quiet=(0, 150),
        contact_quiet=(20, 200),
        employees_median=20,
    ),
    # seed 000 流失预警: no orders for 3+ months, no contact for 90+ days.
    Segment(
        "dormant",
        14,
        amount_12m=(30_000, 400_000),
        orders_12m=(3, 10),
        prior_percent=(80, 150),
        interactions_6m=(1, 4),
        order_quiet=(100, 330),
        contact_quiet=(91, 300),
        employees_median=60,
    ),
    # seed 000 流失预警: 连续3个月无订单且沟通未回复.
    Segment(
        "dormant_unanswered",
        6,
        amount_12m=(30_000, 300_000),
        orders_12m=(3, 10),
        prior_percent=(80, 150),
        interactions_6m=(2, 5),
        order_quiet=(95, 250),
        contact_quiet=(5, 60),
        unanswered_since_orders_stopped=True,
        employees_median=60,
    ),
    # seed 000 投诉客户: ≥2 complaints in 6 months, half with a major one.
    Segment(
        "complaining",
        10,
        amount_12m=(50_000, 800_000),
        orders_12m=(4, 14),
        interactions_6m=(3, 10),
        order_quiet=(0, 60),
        contact_quiet=(0, 30),
        complaints_6m=(2, 4),
        major_complaint_percent=50,
        employees_median=120,
    ),
    # 新客户: signed in the last three months.
    Segment(
        "new",
        8,
        amount_12m=(10_000, 300_000),
        orders_12m=(1, 4),
        prior_percent=(0, 0),
        interactions_6m=(2, 6),
        inquiries_6m=(0, 2),
        order_quiet=(0, 10),
        contact_quiet=(0, 10),
        employees_median=60,
        since_days=(15, 90),
    ),
    # 潜在客户 with 询价: seed 002's 潜力 "有新需求主动咨询" without any order.
    Segment(
        "prospect",
        30,
        stage="potential",
        interactions_6m=(0, 4),
        inquiries_6m=(1, 4),
        contact_quiet=(0, 120),
        employees_median=80,
    ),
    # Cold leads: outreach nobody answered.
    Segment(
        "cold_lead",
        10,
        stage="potential",
        interactions_6m=(0, 2),
        contact_quiet=(30, 400),
        never_answers=True,
        employees_median=40,
    ),
    # The same company entered again through another channel (剔除重复数据).
    Segment(
        "duplicate",
        1,
        stage="potential",
        interactions_6m=(0, 2),
        inquiries_6m=(0, 1),
        contact_quiet=(0, 200),
        employees_median=60,
    ),
)

SEGMENTS_BY_KEY: Final = {segment.key: segment for segment in SEGMENTS}

assert sum(segment.per_block for segment in SEGMENTS) == BLOCK, "a block deals every customer"
