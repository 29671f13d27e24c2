"""The SQL checks agree with the Python functions the API and imports use."""

import unicodedata
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import ARRAY, Integer, String, func, literal, select

from app.core.db import Database
from app.customers.normalise import (
    USCC_CHARSET,
    NormalisationError,
    normalise_company_name,
    size_from_employees,
    uscc_check_char,
    validate_uscc,
)
from app.quality.checks import company_name_key, size_for_employees, uscc_is_valid


async def _in_sql(database: Database, values: Sequence[Any], expression: Any, type_: Any) -> list:
    """`expression(value)` computed by PostgreSQL for every value, in order."""
    rows = (
        func.unnest(literal(list(values), ARRAY(type_)))
        .table_valued("value", with_ordinality="position")
        .render_derived()
    )
    statement = select(expression(rows.c.value)).order_by(rows.c.position)
    async with database.sessionmaker() as session:
        return list((await session.scalars(statement)).all())


NAME_VARIANTS = [
    "上海华信电子科技有限公司",
    "上海华信电子科技股份有限公司",
    "上海华信电子科技（集团）有限公司",
    "上海华信电子科技(集团)股份有限公司",
    "上海华信电子科技集团",
    "上海 华信 电子科技 有限公司",
    "　上海华信电子科技有限公司。",
    "上海华信电子科技有限责任公司",
    "【上海华信】电子科技·有限公司",
    "ＨＵＡＸＩＮ Ｔｅｃｈ Ｃｏ．，Ｌｔｄ．",
    "Huaxin Tech Co., Ltd.",
    "huaxin tech limited",
    "Huaxin Technology Group Inc",
    "华信 co有限公司",
    "北京华信电子科技有限公司",
    "华信科技有限合伙",
    "华信公 司",
    "股份有限公司",
    "有限公司",
    "集团公司",
    "公司有限公司",
    "a ltd b有限公司",
    "（）",
    "",
    "abc\u200bdef",
    "Ｒｅｄ－Ｓｔａｒ（上海）",
]


async def test_the_sql_name_key_equals_normalise_company_name_on_name_variants(
    database: Database,
) -> None:
    in_sql = await _in_sql(database, NAME_VARIANTS, company_name_key, String())
    assert in_sql == [normalise_company_name(name) for name in NAME_VARIANTS]
    # and the variants of one company meet under one key
    assert set(in_sql[:9]) == {"上海华信电子科技"}
    assert set(in_sql[9:12]) == {"huaxintech"}


async def test_the_sql_name_key_treats_every_assigned_bmp_character_as_python_does(
    database: Database,
) -> None:
    # Each character once inside and once at the end of a name: punctuation, symbols and
    # spaces must break tokens exactly where Python's Unicode categories say. Characters
    # whose lower case is longer (İ) and unassigned ones (the database's Unicode may be
    # newer than Python's) are left out.
    characters = [
        chr(point)
        for point in range(1, 0x10000)
        if not 0xD800 <= point <= 0xDFFF
        and unicodedata.category(chr(point)) != "Cn"
        and len(chr(point).lower()) == 1
    ]
    names = [f"华信{c}科技" for c in characters] + [f"华信科技 {c}ltd" for c in characters]
    in_sql = await _in_sql(database, names, company_name_key, String())
    disagree = [
        (name, key)
        for name, key in zip(names, in_sql, strict=True)
        if key != normalise_company_name(name)
    ]
    assert disagree == []


_NAME_PARTS = st.sampled_from(
    ["华信", "上海", "电子", "科技", "有限公司", "股份", "集团", "公司", "有限合伙", "（",
     "）", "(", ")", " ", "　", "·", ".", ",", "，", "Co", "Ltd", "ＬＴＤ", "Inc", "ａｂ", "1",
     "１", "-", "－", "&"]
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_NAME_PARTS, max_size=8).map("".join), min_size=1, max_size=40))
async def test_the_sql_name_key_agrees_on_generated_names(
    database: Database, names: list[str]
) -> None:
    in_sql = await _in_sql(database, names, company_name_key, String())
    assert in_sql == [normalise_company_name(name) for name in names]


def _python_says_valid(code: str) -> bool:
    # The database holds canonical codes; one that needs normalising is not valid as stored.
    try:
        return validate_uscc(code) == code
    except NormalisationError:
        return False


_USCC_BODIES = st.text(alphabet=USCC_CHARSET, min_size=17, max_size=17)


@st.composite
def _usccs(draw: st.DrawFn) -> str:
    body = draw(_USCC_BODIES)
    code = body + uscc_check_char(body)
    return draw(
        st.sampled_from(
            [
                code,
                body + draw(st.sampled_from(USCC_CHARSET)),  # mostly a wrong check character
                code.lower(),
                code[:-1],
                code + "0",
                code[:5] + draw(st.sampled_from("IOSVZ ")) + code[6:],
                f" {code}",
            ]
        )
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_usccs(), min_size=1, max_size=50))
async def test_the_sql_uscc_check_agrees_with_validate_uscc(
    database: Database, codes: list[str]
) -> None:
    in_sql = await _in_sql(database, codes, uscc_is_valid, String())
    assert in_sql == [_python_says_valid(code) for code in codes]


async def test_the_sql_uscc_check_accepts_a_known_real_code(database: Database) -> None:
    assert await _in_sql(
        database, ["91350100M000100Y43", "91350100M000100Y44"], uscc_is_valid, String()
    ) == [True, False]


@pytest.mark.parametrize("employees", [[0, 1, 49, 50, 51, 199, 200, 201, 10_000]])
async def test_the_sql_size_agrees_with_size_from_employees_at_the_edges(
    database: Database, employees: list[int]
) -> None:
    in_sql = await _in_sql(database, employees, size_for_employees, Integer())
    assert in_sql == [size_from_employees(n) for n in employees]
