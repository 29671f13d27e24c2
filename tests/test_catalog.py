"""The built-in field catalog and lookups by key, label and alias."""

import pytest

from app.catalog import (
    BUILTIN_CATALOG,
    BUILTIN_FIELDS,
    FIELD_TYPES,
    FieldCatalog,
    FieldDef,
    operators_for,
)

METRICS = [
    *(f"order_amount_{n}m" for n in (1, 3, 6, 12)),
    *(f"order_count_{n}m" for n in (1, 3, 6, 12)),
    "avg_order_amount_12m", "last_order_date", "days_since_last_order", "last_contact_date",
    "days_since_last_contact", "interactions_30d", "interactions_90d", "interactions_6m",
    "inquiries_90d", "inquiries_6m", "unreplied_outreach_90d", "complaints_6m",
    "major_complaints_6m", "cooperation_months",
]  # fmt: skip


def test_every_metric_of_the_design_is_in_the_catalog() -> None:
    assert sorted(k for k, f in BUILTIN_FIELDS.items() if f.kind == "metric") == sorted(METRICS)


@pytest.mark.parametrize(
    ("key", "type_", "unit", "label"),
    [
        ("order_amount_12m", "number", "CNY", "近12个月交易金额"),
        ("order_amount_6m", "number", "CNY", "近6个月订单金额"),
        ("order_count_6m", "integer", "count", "近6个月订单频次"),
        ("interactions_6m", "integer", "count", "近6个月互动"),
        ("days_since_last_contact", "integer", "days", "距上次联系天数"),
        ("complaints_6m", "integer", "count", "近6个月投诉次数"),
        ("major_complaints_6m", "integer", "count", "近6个月重大投诉次数"),
        ("cooperation_months", "integer", "months", "合作时长"),
        ("last_order_date", "date", None, "最近下单日期"),
        ("industry", "string", None, "所属行业"),
        ("size", "enum", None, "企业规模"),
        ("stage", "enum", None, "客户阶段"),
        ("employees", "integer", "employees", "员工人数"),
        ("annual_revenue", "number", "CNY", "年营收"),
        ("tags", "string_list", None, "客户标签"),
    ],
)
def test_builtin_fields(key: str, type_: str, unit: str | None, label: str) -> None:
    field = BUILTIN_FIELDS[key]
    assert (field.type, field.unit, field.label_zh) == (type_, unit, label)
    assert field.label_en
    assert field.description_zh
    assert field.description_en


def test_enum_values() -> None:
    assert BUILTIN_FIELDS["size"].enum_values == ("small", "medium", "large")
    assert BUILTIN_FIELDS["stage"].enum_values == ("potential", "signed")


def test_operators_by_type() -> None:
    assert operators_for("number") == (
        "eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in", "is_null", "is_not_null",
    )  # fmt: skip
    assert "within_last_days" in operators_for("date")
    assert "in" not in operators_for("date")
    assert operators_for("string") == ("eq", "ne", "in", "not_in", "contains", "is_null",
                                       "is_not_null")  # fmt: skip
    assert operators_for("boolean") == ("eq", "ne", "is_null", "is_not_null")
    assert operators_for("string_list") == ("contains", "is_null", "is_not_null")
    assert all(operators_for(t) for t in FIELD_TYPES)


def test_lookup_by_key_label_or_alias() -> None:
    assert BUILTIN_CATALOG.resolve("order_amount_12m") is BUILTIN_FIELDS["order_amount_12m"]
    assert BUILTIN_CATALOG.resolve("近12个月交易金额") is BUILTIN_FIELDS["order_amount_12m"]
    assert BUILTIN_CATALOG.resolve("近12个月订单金额") is BUILTIN_FIELDS["order_amount_12m"]
    assert BUILTIN_CATALOG.resolve("年交易额") is BUILTIN_FIELDS["order_amount_12m"]
    assert BUILTIN_CATALOG.resolve("近6个月订单金额") is BUILTIN_FIELDS["order_amount_6m"]
    assert BUILTIN_CATALOG.resolve("nope") is None
    assert BUILTIN_CATALOG.get("近12个月交易金额") is None


def test_custom_fields_join_the_catalog() -> None:
    vip = FieldDef("attr_vip", "custom", "boolean", None, "VIP客户", "VIP")
    catalog = FieldCatalog([vip])
    assert catalog.resolve("VIP客户") is vip
    assert "attr_vip" in catalog
    assert len(catalog) == len(BUILTIN_FIELDS) + 1


@pytest.mark.parametrize(
    "field",
    [
        FieldDef("order_amount_12m", "custom", "number", "CNY", "重复", "Dup"),
        FieldDef("attr_x", "custom", "number", "CNY", "年交易额", "Clash"),
        FieldDef("attr_y", "metric", "number", "CNY", "新指标", "Not custom"),
    ],
)
def test_ambiguous_or_misdeclared_custom_fields_are_refused(field: FieldDef) -> None:
    with pytest.raises(ValueError, match=r"already defined|names both|kind 'custom'"):
        FieldCatalog([field])
