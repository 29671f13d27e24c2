"""Tests for value normalisation (数据标准化) and the standard industry hierarchy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.customers.industries import (
    INDUSTRY_LABELS_EN,
    STANDARD_INDUSTRIES,
    industry_matches_prefix,
    industry_parent,
)
from app.customers.normalise import (
    SIZE_LABELS,
    USCC_CHARSET,
    NormalisationError,
    normalise_company_name,
    normalise_text,
    parse_amount,
    parse_bool,
    parse_date,
    parse_size,
    parse_stage,
    size_from_employees,
    uscc_check_char,
    validate_uscc,
)

KNOWN_VALID_USCC = "91350100M000100Y43"
_FULL_WIDTH = str.maketrans("0123456789,.-", "０１２３４５６７８９，．－")


def to_full_width(text: str) -> str:
    """Spell digits and punctuation the way a Chinese IME in full-width mode types them."""
    return text.translate(_FULL_WIDTH)


# ---------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2024, 3, 5), dt.date(2024, 3, 5)),
        (dt.datetime(2024, 3, 5, 23, 59), dt.date(2024, 3, 5)),
        ("2024-03-05", dt.date(2024, 3, 5)),
        ("2024/3/5", dt.date(2024, 3, 5)),
        ("2024.3.5", dt.date(2024, 3, 5)),
        ("2024年3月5日", dt.date(2024, 3, 5)),
        ("20240305", dt.date(2024, 3, 5)),
        ("2024-03-05T10:20:30", dt.date(2024, 3, 5)),
        ("2024-03-05 10:20", dt.date(2024, 3, 5)),
        ("2024-03-05T23:30:00+08:00", dt.date(2024, 3, 5)),
        ("2024-03-05T23:30:00.123Z", dt.date(2024, 3, 5)),
        ("２０２４年３月５日", dt.date(2024, 3, 5)),
        ("２０２４－０３－０５", dt.date(2024, 3, 5)),
        ("\u3000 2024-03-05 \t", dt.date(2024, 3, 5)),
        ("2024 年 3 月 5 日", dt.date(2024, 3, 5)),
    ],
)
def test_supported_date_spellings_parse_to_the_same_day(value: object, expected: dt.date) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, dt.date(1900, 1, 1)),
        (59, dt.date(1900, 2, 28)),
        (61, dt.date(1900, 3, 1)),
        (45000, dt.date(2023, 3, 15)),
        (45000.75, dt.date(2023, 3, 15)),
        (Decimal("45000"), dt.date(2023, 3, 15)),
        ("45000", dt.date(2023, 3, 15)),
        ("４５０００", dt.date(2023, 3, 15)),
        (2958465, dt.date(9999, 12, 31)),
    ],
)
def test_excel_serial_numbers_use_the_1900_date_system(serial: object, expected: dt.date) -> None:
    assert parse_date(serial) == expected


def test_eight_digit_integer_is_read_as_yyyymmdd_not_as_a_serial() -> None:
    assert parse_date(20240305) == dt.date(2024, 3, 5)


@pytest.mark.parametrize(
    "value",
    [
        60,  # Excel's phantom 1900-02-29
        0,
        -1,
        2958466,
        float("nan"),
        float("inf"),
        True,
        "2024",  # a bare year must not become serial 2024 (1905-07-16)
        "2024-02-30",
        "2023-02-29",
        "2024-13-01",
        "2024/3-5",
        "2024-03-05T25:00",
        "20241301",
        "24-03-05",
        "05/03/2024",
        "",
        "   ",
        "abc",
        "2024年13月1日",
        None,
        [2024, 3, 5],
    ],
)
def test_unrecognised_or_impossible_dates_are_rejected(value: object) -> None:
    with pytest.raises(NormalisationError) as raised:
        parse_date(value)
    assert raised.value.code == "invalid_date"
    assert raised.value.message_zh
    assert raised.value.message_en


DATE_FORMATTERS: list[Callable[[dt.date], str]] = [
    lambda d: d.isoformat(),
    lambda d: f"{d.year:04d}/{d.month}/{d.day}",
    lambda d: f"{d.year:04d}.{d.month}.{d.day}",
    lambda d: f"{d.year:04d}年{d.month}月{d.day}日",
    lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}",
    lambda d: dt.datetime.combine(d, dt.time(13, 45, 7)).isoformat(),
    lambda d: to_full_width(f"{d.year:04d}年{d.month}月{d.day}日"),
    lambda d: to_full_width(d.isoformat()),
]


@given(
    day=st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)),
    format_date=st.sampled_from(DATE_FORMATTERS),
)
def test_a_date_formatted_in_any_supported_format_parses_back_to_itself(
    day: dt.date, format_date: Callable[[dt.date], str]
) -> None:
    assert parse_date(format_date(day)) == day


@given(day=st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)))
def test_an_excel_serial_computed_for_a_date_parses_back_to_that_date(day: dt.date) -> None:
    serial = (day - dt.date(1899, 12, 30)).days
    assert parse_date(serial) == day
    assert parse_date(float(serial) + 0.5) == day


# ---------------------------------------------------------------------------- amounts


def test_amount_with_wan_suffix_is_multiplied_by_ten_thousand() -> None:
    assert parse_amount("12.5万") == Decimal("125000.00")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("125000.00", "125000.00"),
        ("¥125,000", "125000.00"),
        ("￥125,000", "125000.00"),
        ("RMB 1000", "1000.00"),
        ("rmb1000", "1000.00"),
        ("12.5万元", "125000.00"),
        ("1,250,000元", "1250000.00"),
        ("1.2亿", "120000000.00"),
        ("１２５，０００．５", "125000.50"),
        ("￥１２．５万", "125000.00"),
        (" 1 000 ", "1000.00"),
        ("-100", "-100.00"),
        ("－１００", "-100.00"),
        ("-¥100", "-100.00"),
        ("¥-100", "-100.00"),
        ("+100", "100.00"),
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("-0.001", "0.00"),
        ("1.23456万", "12345.60"),
        (125000, "125000.00"),
        (Decimal("99.995"), "100.00"),
        (0.1, "0.10"),
        (1.005, "1.01"),  # via str(), so the binary 1.00499999… never shows up
    ],
)
def test_supported_amount_spellings_are_quantised_to_cents(value: object, expected: str) -> None:
    result = parse_amount(value)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "",
        "   ",
        "1,2,3",
        "12,34",
        "1.2.3",
        "NaN",
        "Infinity",
        "1e5",
        "--100",
        "-¥-100",
        "万",
        "¥",
        "12.5万万",
        float("nan"),
        float("inf"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1E+100"),
        "1" * 17,
        True,
        None,
    ],
)
def test_garbage_amounts_are_rejected(value: object) -> None:
    with pytest.raises(NormalisationError) as raised:
        parse_amount(value)
    assert raised.value.code == "invalid_amount"


@given(st.decimals(min_value=-(10**15), max_value=10**15, places=2, allow_nan=False))
def test_a_two_place_decimal_round_trips_through_its_string_form(amount: Decimal) -> None:
    assert parse_amount(str(amount)) == amount


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_thousands_separated_and_currency_prefixed_amounts_parse_to_the_same_value(
    amount: Decimal,
) -> None:
    assert parse_amount(f"¥{amount:,}") == amount
    assert parse_amount(to_full_width(f"{amount:,}") + "元") == amount


# ---------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  上海华信  ", "上海华信"),
        ("ＡＢＣ　１２３", "ABC 123"),
        ("a \t\n b", "a b"),
        ("\u200b华信\ufeff", "华信"),
        ("", None),
        ("  \u3000 ", None),
        (None, None),
    ],
)
def test_text_is_nfkc_trimmed_and_collapsed(value: str | None, expected: str | None) -> None:
    assert normalise_text(value) == expected


@given(st.text())
def test_normalising_text_twice_changes_nothing(value: str) -> None:
    once = normalise_text(value)
    assert normalise_text(once) == once


# ---------------------------------------------------------------------------- USCC


def test_the_known_valid_uscc_validates_and_its_check_char_is_computed() -> None:
    assert validate_uscc(KNOWN_VALID_USCC) == KNOWN_VALID_USCC
    assert uscc_check_char(KNOWN_VALID_USCC[:17]) == "3"


def test_uscc_is_upper_cased_and_full_width_folded_before_validation() -> None:
    assert validate_uscc(" 91350100m000100y43 ") == KNOWN_VALID_USCC
    assert validate_uscc(to_full_width("91350100") + "Ｍ000100Ｙ43") == KNOWN_VALID_USCC


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y433", "length"),
        ("", "length"),
        ("91350100M000100I43", "characters not allowed: I"),
        ("91350100O000100Y43", "characters not allowed: O"),
        ("91350100M000100Y44", "checksum"),
    ],
)
def test_invalid_uscc_says_whether_length_charset_or_checksum_failed(
    code: str, reason: str
) -> None:
    with pytest.raises(NormalisationError) as raised:
        validate_uscc(code)
    assert raised.value.code == "invalid_uscc"
    assert reason in raised.value.message_en


usccs = st.text(alphabet=USCC_CHARSET, min_size=17, max_size=17).map(
    lambda first17: first17 + uscc_check_char(first17)
)


@given(usccs)
def test_any_generated_uscc_with_a_computed_check_char_validates(code: str) -> None:
    assert validate_uscc(code) == code


@given(code=usccs, position=st.integers(0, 17), replacement=st.sampled_from(USCC_CHARSET + "IOZSV"))
def test_changing_any_single_character_of_a_valid_uscc_makes_it_invalid(
    code: str, position: int, replacement: str
) -> None:
    if code[position] == replacement:
        replacement = USCC_CHARSET[(USCC_CHARSET.index(replacement) + 1) % len(USCC_CHARSET)]
    changed = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(NormalisationError):
        validate_uscc(changed)


# ---------------------------------------------------------------------------- size


@pytest.mark.parametrize(
    ("employees", "size"),
    [(0, "small"), (49, "small"), (50, "medium"), (200, "medium"), (201, "large")],
)
def test_size_is_derived_from_employee_count_boundaries(employees: int, size: str) -> None:
    assert size_from_employees(employees) == size


@pytest.mark.parametrize("employees", [-1, True, 12.5])
def test_negative_or_non_integer_employee_counts_are_rejected(employees: object) -> None:
    with pytest.raises(NormalisationError):
        size_from_employees(employees)  # type: ignore[arg-type]


def test_size_labels_are_bilingual() -> None:
    assert {key: (labels["zh"], labels["en"]) for key, labels in SIZE_LABELS.items()} == {
        "small": ("小型", "Small"),
        "medium": ("中型", "Medium"),
        "large": ("大型", "Large"),
    }


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("small", "small"),
        ("Medium", "medium"),
        (" LARGE ", "large"),
        ("小型", "small"),
        ("中型", "medium"),
        ("大型", "large"),
        ("小型企业", "small"),
        ("中型公司", "medium"),
        ("大型企业", "large"),
    ],
)
def test_size_spellings_parse_to_a_size_key(value: str, size: str) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["", "huge", "企业", "超大型", None])
def test_unknown_sizes_are_rejected(value: str) -> None:
    with pytest.raises(NormalisationError) as raised:
        parse_size(value)
    assert raised.value.code == "invalid_size"


# ---------------------------------------------------------------------------- stage and bool


@pytest.mark.parametrize(
    ("value", "stage"),
    [
        ("potential", "potential"),
        ("Potential", "potential"),
        ("潜在", "potential"),
        ("潜在客户", "potential"),
        ("意向", "potential"),
        ("signed", "signed"),
        ("签约", "signed"),
        ("已签约", "signed"),
        ("成交", "signed"),
        ("合作中", "signed"),
    ],
)
def test_stage_spellings_parse_to_potential_or_signed(value: str, stage: str) -> None:
    assert parse_stage(value) == stage


@pytest.mark.parametrize("value", ["", "lost", "流失", None])
def test_unknown_stages_are_rejected(value: str) -> None:
    with pytest.raises(NormalisationError) as raised:
        parse_stage(value)
    assert raised.value.code == "invalid_stage"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[(word, True) for word in ["true", "TRUE", "1", "yes", "Y", "y", "是", " 是 ", True, 1]],
        *[(word, False) for word in ["false", "False", "0", "no", "N", "n", "否", False, 0]],
    ],
)
def test_boolean_spellings_parse(value: object, expected: bool) -> None:
    assert parse_bool(value) is expected


@pytest.mark.parametrize("value", ["", "maybe", "对", 2, None])
def test_unknown_booleans_are_rejected(value: object) -> None:
    with pytest.raises(NormalisationError) as raised:
        parse_bool(value)
    assert raised.value.code == "invalid_bool"


# ---------------------------------------------------------------------------- company names


@pytest.mark.parametrize(
    "name",
    [
        "上海华信科技有限公司",
        "上海华信科技（有限公司）",
        "上海 华信科技股份有限公司",
        "上海华信科技有限责任公司",
        "上海华信科技集团",
        "上海华信科技（集团）股份有限公司",
        "上海华信科技",
        "  上海·华信—科技、公司。",
    ],
)
def test_legal_forms_and_punctuation_do_not_distinguish_company_names(name: str) -> None:
    assert normalise_company_name(name) == "上海华信科技"


def test_latin_names_lose_case_punctuation_and_legal_words() -> None:
    assert normalise_company_name("Huaxin Tech Co., Ltd.") == "huaxintech"
    assert normalise_company_name("ＨＵＡＸＩＮ  TECH  LIMITED") == "huaxintech"
    # "co" is only a legal word on its own, never as the end of a longer word.
    assert normalise_company_name("Tesco") == "tesco"


def test_region_words_are_kept_so_different_companies_stay_distinct() -> None:
    assert normalise_company_name("北京华信科技有限公司") != normalise_company_name(
        "上海华信科技有限公司"
    )


def test_a_name_that_is_only_a_legal_form_is_not_reduced_to_nothing() -> None:
    assert normalise_company_name("有限公司") == "有限公司"
    assert normalise_company_name("(有限公司)") == "有限公司"


# Fragments rich in legal-form pieces, so suffixes straddling spaces and punctuation occur.
_NAME_FRAGMENTS = [
    *"上海华信科技有限责任公司股份集团合伙",
    *"abcoltdinc ,.()（）·-",
    "有限公司",
    "股份有限公司",
    "Co",
    "Ltd",
    " Co., Ltd.",
]
company_names = st.lists(st.sampled_from(_NAME_FRAGMENTS)).map("".join) | st.text()


@given(company_names)
@example("R¸")  # the cedilla folds to a space + combining mark that recomposes once joined
def test_normalising_a_company_name_twice_changes_nothing(name: str) -> None:
    once = normalise_company_name(name)
    assert normalise_company_name(once) == once


# ---------------------------------------------------------------------------- industries


def test_every_standard_industry_has_an_english_label_and_a_listed_parent() -> None:
    assert 30 <= len(STANDARD_INDUSTRIES) <= 40
    assert len(set(STANDARD_INDUSTRIES)) == len(STANDARD_INDUSTRIES)
    for position, code in enumerate(STANDARD_INDUSTRIES):
        assert INDUSTRY_LABELS_EN[code]
        parent = industry_parent(code)
        assert parent is None or parent in STANDARD_INDUSTRIES[:position]
        assert code.count("-") <= 1


@pytest.mark.parametrize(
    ("code", "prefix", "matches"),
    [
        ("制造业", "制造业", True),
        ("制造业-电子", "制造业", True),
        ("制造业-电子", "制造业-电子", True),
        ("制造业", "制造", False),
        ("制造业", "制造业-电子", False),
        ("服务业-咨询", "制造业", False),
    ],
)
def test_an_industry_prefix_matches_itself_and_its_descendants_only(
    code: str, prefix: str, matches: bool
) -> None:
    assert industry_matches_prefix(code, prefix) is matches
