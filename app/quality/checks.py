"""The data-quality checks as SQL expressions, so they run set-based over all customers.

Each mirrors a Python function of `app.customers.normalise` (which the API and imports
use one value at a time) and is tested against it: `uscc_is_valid` ↔ `validate_uscc`,
`company_name_key` ↔ `normalise_company_name`, `size_for_employees` ↔
`size_from_employees`. Character classes are spelled out as code-point ranges derived
from Python's Unicode tables rather than `[[:punct:]]`, whose meaning depends on the
database's locale (a `C` database treats every non-ASCII character as a letter).
"""

import unicodedata
import uuid
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
)

from app.customers.industries import STANDARD_INDUSTRIES
from app.customers.normalise import (
    _CJK_LEGAL_SUFFIXES,  # the legal-form words are defined once, there
    _LATIN_LEGAL_WORDS,
    USCC_CHARSET,
    USCC_WEIGHTS,
)
from app.models import Industry

# ---------------------------------------------------------------------------- blanks


# Whitespace a spreadsheet cell may hold, including the ideographic space U+3000.
_WHITESPACE = " \t\n\r\u00a0\u3000"


def is_blank(column: Any) -> ColumnElement[bool]:
    """Null or only whitespace: such a text field counts as not filled."""
    return func.coalesce(func.btrim(column, _WHITESPACE), "") == ""


def is_filled(column: Any, *, text: bool) -> ColumnElement[bool]:
    """A value is present (for text: not blank)."""
    return ~is_blank(column) if text else column.is_not(None)


# ---------------------------------------------------------------------------- USCC

_USCC_SHAPE = f"^[{USCC_CHARSET}]{{18}}$"


def uscc_is_valid(column: Any) -> ColumnElement[bool]:
    """The stored value is a canonical 统一社会信用代码 with a correct check character.

    GB 32100-2015: the check character is `31 − (Σ value(cᵢ)·wᵢ mod 31)` over the first 17
    characters, written as one arithmetic expression (no subquery per row).
    """
    total: Any = literal(0)
    for position, weight in enumerate(USCC_WEIGHTS, start=1):
        value = func.strpos(USCC_CHARSET, func.substr(column, position, 1)) - 1
        total = total + value * weight
    check = func.substr(USCC_CHARSET, (31 - total % 31) % 31 + 1, 1)
    return and_(column.regexp_match(_USCC_SHAPE), check == func.substr(column, 18, 1))


def uscc_is_invalid(column: Any) -> ColumnElement[bool]:
    """Present but not a valid USCC (a blank value is missing, not invalid)."""
    return and_(~is_blank(column), ~uscc_is_valid(column))


# ---------------------------------------------------------------------------- size


def size_for_employees(employees: Any) -> ColumnElement[str]:
    """小型 <50 / 中型 50–200 / 大型 >200 employees, as `size_from_employees` says."""
    return case((employees < 50, "small"), (employees <= 200, "medium"), else_="large")


def size_contradicts_employees(size: Any, employees: Any) -> ColumnElement[bool]:
    """Both given and the size is not the one the head count implies."""
    return and_(size.is_not(None), employees.is_not(None), size != size_for_employees(employees))


# ---------------------------------------------------------------------------- names


def _is_separator(char: str) -> bool:
    # What `normalise_company_name` turns into a token break: punctuation, symbols,
    # separators, control/format/private/unassigned characters.
    return unicodedata.category(char)[0] in "PSZC"


@cache
def _separator_class() -> str:
    """A regex bracket of every separator code point, as ranges (about 500 of them)."""
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    for point in range(1, 0x110000):
        # Surrogates never occur in PostgreSQL text (nor may they appear in a pattern).
        separator = not 0xD800 <= point <= 0xDFFF and _is_separator(chr(point))
        if separator and start is None:
            start = point
        elif not separator and start is not None:
            ranges.append((start, point - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))

    def escape(point: int) -> str:
        return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"

    parts = [escape(a) if a == b else f"{escape(a)}-{escape(b)}" for a, b in ranges]
    return "[" + "".join(parts) + "]"


def _alternation(words: Any) -> str:
    # Longest first, like the Python side; PostgreSQL's alternation is longest-match anyway.
    return "(?:" + "|".join(sorted(words, key=lambda w: (-len(w), w))) + ")"


_CJK = _alternation(_CJK_LEGAL_SUFFIXES)
_LATIN = _alternation(_LATIN_LEGAL_WORDS)
# A trailing token that is only legal form: "ltd", "有限公司", "集团有限公司", "co有限公司".
_TRAILING_LEGAL_TOKENS = f"(?: (?:{_LATIN}{_CJK}*|{_CJK}+))+$"
# A name that is only legal forms keeps its first (longest) one; any other name loses its
# trailing run of them. One replacement: the first branch can only match the former.
_FINAL_SUFFIXES = f"^({_CJK}){_CJK}*$|{_CJK}+$"
_NFKC: ColumnClause[Any] = literal_column("NFKC")  # a keyword of normalize(), not a value


def company_name_key(name: Any) -> ColumnElement[str]:
    """`normalise_company_name` in SQL: the key under which names count as the same.

    NFKC and lower case; separators become single spaces; trailing tokens that are only a
    legal form are dropped (never the first token); the rest is joined and trailing
    Chinese legal forms are cut, never down to nothing (a name that is only legal forms,
    such as 股份有限公司, keeps its first one, as the Python function does).
    """
    folded = func.normalize(func.lower(func.normalize(name, _NFKC)), _NFKC)
    spaced = func.btrim(func.regexp_replace(folded, _separator_class() + "+", " ", "g"))
    joined = func.replace(func.regexp_replace(spaced, _TRAILING_LEGAL_TOKENS, ""), " ", "")
    return func.regexp_replace(joined, _FINAL_SUFFIXES, "\\1")


# ---------------------------------------------------------------------------- industry


def industry_is_unknown(
    industry: Any, tenant_id: uuid.UUID, *, tenant_has_list: bool
) -> ColumnElement[bool]:
    """Present but not an entry of the tenant's industry list.

    A tenant without any list (not seeded yet) is checked against the standard
    hierarchy, so the report still means something instead of flagging every value.
    """
    if tenant_has_list:
        known = exists().where(Industry.tenant_id == tenant_id, Industry.code == industry)
    else:
        known = industry.in_(STANDARD_INDUSTRIES)
    return and_(~is_blank(industry), ~known)
