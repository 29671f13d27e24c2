"""Turning one spreadsheet cell into the value the bulk API expects (数据标准化).

Every parser takes what a CSV (text) or an XLSX (text, number, date, boolean) cell holds
and returns the API value, or raises `NormalisationError` with a stable code and zh/en
messages. The spellings themselves (dates, amounts, sizes, stages, booleans, USCC) are
`app.customers.normalise`'s; this module only adds the cell types a spreadsheet brings
(numbers where text is meant, Excel serials, date-time cells) and the Chinese labels of
the activity enums.
"""

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from app.customers.normalise import (
    NormalisationError,
    normalise_text,
    parse_amount,
    parse_bool,
    parse_date,
    parse_size,
    parse_stage,
    validate_uscc,
)

Parser = Callable[[Any], Any]


def text(value: Any) -> str | None:
    """A text cell: NFKC, trimmed, inner whitespace collapsed; numbers as typed."""
    if isinstance(value, str):
        # Printable ASCII is already NFKC and holds no invisible characters; its only
        # whitespace is " ", so unless spaces need trimming or collapsing the text is
        # exactly what normalise_text would return (codes and ids, the bulk of cells).
        if (
            value.isascii()
            and value.isprintable()
            and value
            and value[0] != " " != value[-1]
            and "  " not in value
        ):
            return value
        return normalise_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # A code typed into Excel as 1001 is stored as the number 1001.0.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return normalise_text(str(value))


# Plain decimals are by far the most common amount cells; for them `parse_amount` does
# NFKC, a regex with units and currency marks, and a 64-digit context. These shortcuts
# give exactly its result (same Decimal, same 2-place quantisation) for ASCII digits with
# at most 2 decimals and at most 15 integer digits, and defer everything else. With
# exactly 2 decimals (125000.00, what exports write) the Decimal is already quantised.
_PLAIN_AMOUNT: Final = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,2})?")
_CENT: Final = Decimal("0.01")


def amount(value: Any) -> Decimal:
    """Money in 元: 125000.00, ¥125,000, 12.5万, 12.5万元, 1,250,000元, full-width digits."""
    if isinstance(value, str):
        if (
            3 < len(value) <= 18
            and value[-3] == "."
            and value.isascii()
            and value[:-3].isdigit()
            and value[-2:].isdigit()
        ):
            return Decimal(value)
        if _PLAIN_AMOUNT.fullmatch(value):
            return Decimal(value).quantize(_CENT)
    return parse_amount(value)


def money(value: Any) -> Decimal:
    """A non-negative amount (revenue)."""
    result = amount(value)
    if result < 0:
        raise NormalisationError(
            "negative_amount",
            f"金额不能为负数:{value!r}",
            f"Amount must not be negative: {value!r}",
        )
    return result


@lru_cache(maxsize=8192)
def _date_text(value: str) -> dt.date:
    # Dates repeat a lot in one file (a few hundred distinct days per year), and parsing
    # is a pure function of the text, so a cache returns the very same answer faster.
    return parse_date(value)


def date(value: Any) -> str:
    """A day as YYYY-MM-DD from YYYY-MM-DD, YYYY/M/D, YYYY年M月D日, serials, date cells."""
    day = _date_text(value) if isinstance(value, str) else parse_date(value)
    return day.isoformat()


_WITH_TIME: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")


def moment(value: Any) -> dt.date | dt.datetime:
    """A day, or a date-time when the cell carries a time of day (沟通时间 14:30).

    A date-time without offset is read in the tenant's time zone when written. A time of
    exactly midnight means the day alone, as the bulk API reads `2024-03-05T00:00:00`.
    """
    if isinstance(value, str):
        return _moment_text(value)
    if isinstance(value, dt.datetime):
        return value if value.time() != dt.time() else value.date()
    return parse_date(value)


@lru_cache(maxsize=8192)
def _moment_text(value: str) -> dt.date | dt.datetime:
    folded = unicodedata.normalize("NFKC", value).strip()
    if _WITH_TIME.match(folded):
        try:
            found = dt.datetime.fromisoformat(folded)
        except ValueError:
            pass  # parse_date below reports it with the standard message
        else:
            offset = found.utcoffset()
            # An offset with seconds (+05:30:15) is no time zone anyone writes.
            if offset is None or offset % dt.timedelta(minutes=1) == dt.timedelta(0):
                return found if found.time() != dt.time() else found.date()
    return _date_text(value)


def integer(value: Any) -> int:
    """A count such as 员工人数: 180, 180.0, "1,200", "180人", full-width digits."""
    if isinstance(value, bool):
        raise _integer_error(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        folded = "".join(unicodedata.normalize("NFKC", value).split()).replace(",", "")
        folded = folded.removesuffix("人").removesuffix("名")
        if re.fullmatch(r"[0-9]{1,9}", folded):
            return int(folded)
    raise _integer_error(value)


def _integer_error(value: Any) -> NormalisationError:
    return NormalisationError(
        "invalid_integer", f"无法识别的整数:{value!r}", f"Unrecognised whole number {value!r}"
    )


def flag(value: Any) -> bool:
    """是/否, true/false, yes/no, 1/0, Y/N, or an XLSX boolean."""
    return parse_bool(value)


def size(value: Any) -> str:
    """小型/中型/大型 (or small/medium/large)."""
    return parse_size(value if isinstance(value, str) else str(value))


def stage(value: Any) -> str:
    """潜在/签约 (or potential/signed, 意向, 成交 …)."""
    return parse_stage(value if isinstance(value, str) else str(value))


def uscc(value: Any) -> str:
    """统一社会信用代码, checksum validated."""
    return validate_uscc(value if isinstance(value, str) else str(value))


_TAG_SEPARATORS: Final = re.compile(r"[、,;|]")


def tags(value: Any) -> list[str]:
    """客户标签 separated by 、 or , (also ; and |); blanks dropped, order kept."""
    folded = text(value) or ""
    seen: dict[str, None] = {}
    for part in _TAG_SEPARATORS.split(folded):
        tag = part.strip()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def choice(name_zh: str, name_en: str, labels: Mapping[str, str]) -> Parser:
    """A parser for an enum given as its API value or one of its Chinese labels."""
    lookup = {key.lower(): value for key, value in labels.items()}
    lookup.update({value: value for value in labels.values()})
    accepted = "/".join(dict.fromkeys(k for k, v in labels.items() if not k.isascii()))

    def parse(value: Any) -> str:
        # An enum column holds a handful of distinct spellings: cache the text ones.
        return parse_text(value) if isinstance(value, str) else parse_any(value)

    @lru_cache(maxsize=256)
    def parse_text(value: str) -> str:
        return parse_any(value)

    def parse_any(value: Any) -> str:
        word = (text(value) or "").lower().replace(" ", "")
        found = lookup.get(word)
        if found is None:
            raise NormalisationError(
                f"invalid_{name_en.replace(' ', '_')}",
                f"无法识别的{name_zh}:{value!r}(应为 {accepted})",
                f"Unrecognised {name_en} {value!r} (expected one of "
                f"{', '.join(dict.fromkeys(labels.values()))})",
            )
        return found

    return parse


ORDER_STATUS_LABELS: Final = {
    "已完成": "completed",
    "完成": "completed",
    "已取消": "cancelled",
    "取消": "cancelled",
    "已退款": "refunded",
    "退款": "refunded",
    "待支付": "pending",
    "待付款": "pending",
    "未支付": "pending",
    "已支付": "paid",
    "已付款": "paid",
}
CHANNEL_LABELS: Final = {
    "电话": "phone",
    "拜访": "visit",
    "上门拜访": "visit",
    "邮件": "email",
    "电子邮件": "email",
    "微信": "wechat",
    "会议": "meeting",
    "线上": "online",
    "在线": "online",
    "其他": "other",
    "其它": "other",
}
DIRECTION_LABELS: Final = {
    "呼入": "inbound",
    "来电": "inbound",
    "呼出": "outbound",
    "去电": "outbound",
}
SEVERITY_LABELS: Final = {"一般": "minor", "轻微": "minor", "重大": "major", "严重": "major"}

order_status = choice("订单状态", "order status", ORDER_STATUS_LABELS)
channel = choice("沟通渠道", "channel", CHANNEL_LABELS)
direction = choice("方向", "direction", DIRECTION_LABELS)
severity = choice("严重程度", "severity", SEVERITY_LABELS)
