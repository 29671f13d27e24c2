"""The field catalog: every field a rule may reference, with its type, unit and labels.

Built-in fields are data here (profile fields of the customer and metrics computed from
activity as of a date); tenants add custom fields, which the caller loads and passes to
`FieldCatalog`. Rule editors build their screens from this, and the rule language
type-checks conditions against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal

FieldKind = Literal["profile", "metric", "custom"]
FieldType = Literal["number", "integer", "date", "string", "enum", "boolean", "string_list"]
FieldUnit = Literal["CNY", "count", "days", "months", "employees"]

FIELD_TYPES: Final[tuple[FieldType, ...]] = (
    "number",
    "integer",
    "date",
    "string",
    "enum",
    "boolean",
    "string_list",
)

# What an integer field holds: PostgreSQL's bigint, as which SQL compares it.
INTEGER_MIN: Final = -(2**63)
INTEGER_MAX: Final = 2**63 - 1
# What a number field holds: far beyond any amount in CNY or any ratio a float can say
# (0.1 + 0.2 has 17 places), yet bounded, so every "万元" of it stays exact in Decimal's
# 28 digits and SQL never sees a vast scale.
NUMBER_DIGITS: Final = 18
"""Most digits before the decimal point."""
NUMBER_PLACES: Final = 20
"""Most digits after the decimal point (trailing zeros aside)."""

# Every operator of the rule language, in the order editors should offer them.
OPERATORS: Final[tuple[str, ...]] = (
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "in",
    "not_in",
    "contains",
    "within_last_days",
    "not_within_last_days",
    "is_null",
    "is_not_null",
)

_NULL_OPS: Final = ("is_null", "is_not_null")
_ORDERED_OPS: Final = ("eq", "ne", "gt", "gte", "lt", "lte", "between")
_OPERATORS_BY_TYPE: Final[dict[FieldType, tuple[str, ...]]] = {
    "number": (*_ORDERED_OPS, "in", "not_in", *_NULL_OPS),
    "integer": (*_ORDERED_OPS, "in", "not_in", *_NULL_OPS),
    "date": (*_ORDERED_OPS, "within_last_days", "not_within_last_days", *_NULL_OPS),
    "string": ("eq", "ne", "in", "not_in", "contains", *_NULL_OPS),
    "enum": ("eq", "ne", "in", "not_in", *_NULL_OPS),
    "boolean": ("eq", "ne", *_NULL_OPS),
    "string_list": ("contains", *_NULL_OPS),
}


def operators_for(field_type: FieldType) -> tuple[str, ...]:
    """The operators a condition on a field of `field_type` may use."""
    return _OPERATORS_BY_TYPE[field_type]


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field rules can reference."""

    key: str
    kind: FieldKind
    type: FieldType
    unit: FieldUnit | None
    label_zh: str
    label_en: str
    description_zh: str = ""
    description_en: str = ""
    enum_values: tuple[str, ...] | None = None
    aliases_zh: tuple[str, ...] = ()

    def label(self, locale: str = "zh-CN") -> str:
        """The label in `locale` ("en" or zh-CN)."""
        return self.label_en if locale == "en" else self.label_zh


def _profile(
    key: str,
    type_: FieldType,
    label_zh: str,
    label_en: str,
    description_zh: str,
    description_en: str,
    *,
    unit: FieldUnit | None = None,
    enum_values: tuple[str, ...] | None = None,
    aliases_zh: tuple[str, ...] = (),
) -> FieldDef:
    return FieldDef(
        key,
        "profile",
        type_,
        unit,
        label_zh,
        label_en,
        description_zh,
        description_en,
        enum_values,
        aliases_zh,
    )


def _metric(
    key: str,
    type_: FieldType,
    unit: FieldUnit | None,
    label_zh: str,
    label_en: str,
    description_zh: str,
    description_en: str,
    aliases_zh: tuple[str, ...] = (),
) -> FieldDef:
    return FieldDef(
        key,
        "metric",
        type_,
        unit,
        label_zh,
        label_en,
        description_zh,
        description_en,
        None,
        aliases_zh,
    )


_PROFILE_FIELDS: Final[tuple[FieldDef, ...]] = (
    _profile("code", "string", "客户编号", "Customer code", "系统唯一标识", "Unique customer code"),
    _profile("name", "string", "客户名称", "Customer name", "企业全称", "Full company name"),
    _profile(
        "industry",
        "string",
        "所属行业",
        "Industry",
        "层级行业编码,如“制造业-电子”;等于为精确匹配",
        "Hierarchical industry code such as 制造业-电子; eq matches exactly",
        aliases_zh=("行业",),
    ),
    _profile(
        "size",
        "enum",
        "企业规模",
        "Company size",
        "小型 <50 人 / 中型 50–200 人 / 大型 >200 人",
        "small <50 / medium 50–200 / large >200 employees",
        enum_values=("small", "medium", "large"),
        aliases_zh=("规模",),
    ),
    _profile(
        "employees",
        "integer",
        "员工人数",
        "Employees",
        "员工人数",
        "Number of employees",
        unit="employees",
    ),
    _profile(
        "annual_revenue",
        "number",
        "年营收",
        "Annual revenue",
        "企业年营业收入(元)",
        "Annual revenue of the company (CNY)",
        unit="CNY",
        aliases_zh=("年营业收入",),
    ),
    _profile(
        "region",
        "string",
        "所在地区",
        "Region",
        "客户所在地区",
        "Region",
        aliases_zh=("地区", "区域"),
    ),
    _profile(
        "stage",
        "enum",
        "客户阶段",
        "Stage",
        "潜在客户或已签约客户",
        "Potential or signed",
        enum_values=("potential", "signed"),
        aliases_zh=("阶段",),
    ),
    _profile(
        "uscc",
        "string",
        "统一社会信用代码",
        "Unified social credit code",
        "统一社会信用代码",
        "Unified social credit code (USCC)",
    ),
    _profile(
        "contact_name", "string", "联系人", "Contact name", "主要联系人姓名", "Main contact's name"
    ),
    _profile(
        "contact_title",
        "string",
        "联系人职务",
        "Contact title",
        "主要联系人职务",
        "Main contact's job title",
        aliases_zh=("职务",),
    ),
    _profile(
        "tags",
        "string_list",
        "客户标签",
        "Tags",
        "客户标签,如“老客户”“重点”",
        "Customer tags",
        aliases_zh=("标签",),
    ),
)

_MONTH_WINDOWS: Final = (1, 3, 6, 12)


def _order_metrics() -> tuple[FieldDef, ...]:
    fields: list[FieldDef] = []
    for n in _MONTH_WINDOWS:
        months_en = "1 month" if n == 1 else f"{n} months"
        window_zh = f"近{n}个月"
        # The seeds call the 12-month sum 交易金额 / 年交易额 and the shorter ones 订单金额.
        amount_aliases: tuple[str, ...]
        if n == 12:
            amount_label, amount_aliases = (
                f"{window_zh}交易金额",
                (
                    f"{window_zh}订单金额",
                    "年交易额",
                    "年交易金额",
                    "年订单金额",
                ),
            )
        else:
            amount_label, amount_aliases = f"{window_zh}订单金额", (f"{window_zh}交易金额",)
        fields.append(
            _metric(
                f"order_amount_{n}m",
                "number",
                "CNY",
                amount_label,
                f"Order amount ({months_en})",
                f"{window_zh}有效订单金额合计(元)",
                f"Sum of order amounts, last {months_en}",
                amount_aliases,
            )
        )
        fields.append(
            _metric(
                f"order_count_{n}m",
                "integer",
                "count",
                f"{window_zh}订单频次",
                f"Orders ({months_en})",
                f"{window_zh}订单笔数",
                f"Number of orders, last {months_en}",
                (f"{window_zh}订单数", f"{window_zh}交易频次", f"{window_zh}交易次数"),
            )
        )
    return tuple(fields)


_OTHER_METRICS: Final[tuple[FieldDef, ...]] = (
    _metric(
        "avg_order_amount_12m",
        "number",
        "CNY",
        "近12个月平均订单金额",
        "Average order amount (12 months)",
        "近12个月单笔订单平均金额(元)",
        "Average order amount over the last 12 months",
        ("平均订单金额", "单笔订单规模"),
    ),
    _metric(
        "last_order_date",
        "date",
        None,
        "最近下单日期",
        "Last order date",
        "最近一笔订单的日期",
        "Date of the most recent order",
        ("最近订单日期", "最近交易日期"),
    ),
    _metric(
        "days_since_last_order",
        "integer",
        "days",
        "距上次下单天数",
        "Days since last order",
        "距最近一笔订单的天数",
        "Days since the most recent order",
        ("距上次订单天数",),
    ),
    _metric(
        "last_contact_date",
        "date",
        None,
        "最近联系时间",
        "Last contact date",
        "最近一次与客户沟通的日期",
        "Date of the most recent interaction",
        ("最近联系日期", "最近沟通时间"),
    ),
    _metric(
        "days_since_last_contact",
        "integer",
        "days",
        "距上次联系天数",
        "Days since last contact",
        "距最近一次沟通的天数",
        "Days since the most recent interaction",
        ("距上次沟通天数",),
    ),
    _metric(
        "interactions_30d",
        "integer",
        "count",
        "近30天互动",
        "Interactions (30 days)",
        "近30天沟通互动次数(拜访、电话、邮件)",
        "Interactions in the last 30 days",
        ("近30天互动次数",),
    ),
    _metric(
        "interactions_90d",
        "integer",
        "count",
        "近90天互动",
        "Interactions (90 days)",
        "近90天沟通互动次数",
        "Interactions in the last 90 days",
        ("近90天互动次数",),
    ),
    _metric(
        "interactions_6m",
        "integer",
        "count",
        "近6个月互动",
        "Interactions (6 months)",
        "近6个月沟通互动次数",
        "Interactions in the last 6 months",
        ("近6个月互动次数", "近6个月互动频次"),
    ),
    _metric(
        "inquiries_90d",
        "integer",
        "count",
        "近90天咨询次数",
        "Inquiries (90 days)",
        "近90天客户主动咨询次数",
        "Inquiries by the customer in the last 90 days",
        ("近90天主动咨询",),
    ),
    _metric(
        "inquiries_6m",
        "integer",
        "count",
        "近6个月咨询次数",
        "Inquiries (6 months)",
        "近6个月客户主动咨询次数",
        "Inquiries by the customer in the last 6 months",
        ("近6个月主动咨询",),
    ),
    _metric(
        "unreplied_outreach_90d",
        "integer",
        "count",
        "近90天未回复联系次数",
        "Unreplied outreach (90 days)",
        "近90天我方联系而客户未回复的次数",
        "Outbound contacts without a reply in the last 90 days",
        ("近90天未回复沟通",),
    ),
    _metric(
        "complaints_6m",
        "integer",
        "count",
        "近6个月投诉次数",
        "Complaints (6 months)",
        "近6个月投诉次数(0 为无)",
        "Complaints in the last 6 months",
        ("投诉记录数", "近6个月投诉"),
    ),
    _metric(
        "major_complaints_6m",
        "integer",
        "count",
        "近6个月重大投诉次数",
        "Major complaints (6 months)",
        "近6个月重大投诉次数",
        "Major complaints in the last 6 months",
        ("重大投诉记录数", "近6个月重大投诉"),
    ),
    _metric(
        "cooperation_months",
        "integer",
        "months",
        "合作时长",
        "Cooperation (months)",
        "自首笔订单起的合作月数",
        "Months since the first order",
        ("合作月数",),
    ),
)

BUILTIN_FIELDS: Final[dict[str, FieldDef]] = {
    f.key: f for f in (*_PROFILE_FIELDS, *_order_metrics(), *_OTHER_METRICS)
}


class FieldCatalog:
    """The fields of one tenant: the built-ins plus its custom fields.

    Looks fields up by key or by a Chinese label or alias, so text rules can say
    `近12个月交易金额 >= 50万`.
    """

    def __init__(self, custom: Iterable[FieldDef] = ()) -> None:
        self._by_key: dict[str, FieldDef] = dict(BUILTIN_FIELDS)
        for f in custom:
            if f.kind != "custom":
                raise ValueError(f"custom field {f.key!r} must have kind 'custom'")
            if f.key in self._by_key:
                raise ValueError(f"field key {f.key!r} is already defined")
            self._by_key[f.key] = f
        self._by_name: dict[str, FieldDef] = {}
        for f in self._by_key.values():
            for name in (f.label_zh, *f.aliases_zh):
                other = self._by_name.get(name)
                # Two fields answering to one name would make text rules ambiguous.
                if other is not None and other.key != f.key:
                    raise ValueError(f"label {name!r} names both {other.key!r} and {f.key!r}")
                self._by_name[name] = f

    def get(self, key: str) -> FieldDef | None:
        """The field with this key, or None."""
        return self._by_key.get(key)

    def resolve(self, name: str) -> FieldDef | None:
        """The field named `name`: its key first, then its Chinese label or an alias."""
        return self._by_key.get(name) or self._by_name.get(name)

    def names(self) -> Iterator[str]:
        """Every Chinese label and alias (for the text lexer's longest match)."""
        return iter(self._by_name)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[FieldDef]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)


BUILTIN_CATALOG: Final = FieldCatalog()
