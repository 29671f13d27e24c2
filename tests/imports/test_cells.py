"""Cell parsing: the shortcuts agree with the normalisation functions they stand for."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.customers.normalise import NormalisationError, normalise_text, parse_amount
from app.imports import cells
from app.imports.columns import ORDERS, SPECS, header_key


def _outcome(parse: object, value: object) -> object:
    try:
        return parse(value)  # type: ignore[operator]
    except NormalisationError as exc:
        return exc.code


@given(
    st.one_of(
        st.from_regex(r"\A[0-9]{1,17}(\.[0-9]{0,3})?\Z"),
        st.text(alphabet="0123456789.,¥万元-０１２ ", max_size=20),
    )
)
def test_the_plain_amount_shortcut_gives_exactly_what_parse_amount_gives(text: str) -> None:
    assert _outcome(cells.amount, text) == _outcome(parse_amount, text)


@given(st.one_of(st.text(), st.text(alphabet=" \t\x1fAb1-_\u3000\u200b")))
def test_the_text_shortcut_gives_exactly_what_normalise_text_gives(value: str) -> None:
    assert cells.text(value) == normalise_text(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("¥125,000", "125000.00"), ("12.5万", "125000.00"), ("12.5万元", "125000.00"),
     ("1,250,000元", "1250000.00"), ("１２３４.５", "1234.50"), ("125000.00", "125000.00")],
)  # fmt: skip
def test_amounts_in_the_seeds_spellings(text: str, expected: str) -> None:
    assert cells.amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2024-03-05", "2024-03-05"), ("2024/3/5", "2024-03-05"), ("2024年3月5日", "2024-03-05"),
     (45356, "2024-03-05"), ("２０２４-０３-０５", "2024-03-05"),
     (dt.datetime(2024, 3, 5, 14, 30), "2024-03-05T14:30:00"),
     (dt.datetime(2024, 3, 5), "2024-03-05"), ("2024-03-05 00:00", "2024-03-05"),
     ("2024-03-05 14:30", "2024-03-05T14:30:00"),
     ("2024-03-05T14:30+08:00", "2024-03-05T14:30:00+08:00")],
)  # fmt: skip
def test_moments_keep_a_time_of_day_when_there_is_one(value: object, expected: str) -> None:
    read = cells.moment(value)
    assert (read.isoformat(), type(read)) == (expected, dt.datetime if "T" in expected else dt.date)


def test_codes_typed_as_numbers_in_excel_read_back_as_text() -> None:
    read = (cells.text(1001), cells.text(1001.0), cells.text(" Ｃ００１ "))
    assert read == ("1001", "1001", "C001")


def test_tags_split_on_the_chinese_enumeration_comma_and_commas() -> None:
    assert cells.tags("老客户、重点客户, 老客户,,VIP") == ["老客户", "重点客户", "VIP"]


def test_headers_match_with_units_required_marks_and_full_width_forms() -> None:
    for written in ("订单金额(元)", "*订单金额", "订单金额（元）", " 订单 金额 ", "AMOUNT", "金额"):
        assert ORDERS.by_header[header_key(written)].field == "amount", written


def test_every_column_is_reachable_by_its_header_field_name_and_synonyms() -> None:
    for spec in SPECS.values():
        for column in spec.columns:
            for name in column.names:
                assert spec.by_header[header_key(name)] is column, (spec.entity, name)
