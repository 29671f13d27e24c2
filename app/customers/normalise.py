"""Value normalisation for customer data (数据标准化).

Used by imports, the customer API and data-quality checks so that every entry point
accepts the same spellings of dates, amounts, sizes, stages and codes, and rejects the
same garbage with the same bilingual error.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Final, Literal


class NormalisationError(ValueError):
    """A value could not be normalised; carries a stable code and zh/en messages."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


def _nfkc(value: str) -> str:
    # NFKC folds full-width digits, letters, punctuation and U+3000 to their ASCII forms.
    return unicodedata.normalize("NFKC", value)


# ---------------------------------------------------------------------------- text

# Zero-width characters survive NFKC and str.split() but are invisible in Excel cells.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def normalise_text(value: str | None) -> str | None:
    """NFKC-normalise, trim and collapse whitespace runs to one space; blank → None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise NormalisationError("invalid_text", "文本格式无效", f"Expected text, got {value!r}")
    text = " ".join(_nfkc(value).translate(_INVISIBLE).split())
    return text or None


# ---------------------------------------------------------------------------- dates

# Excel's 1900 date system: serial 1 = 1900-01-01, and serial 60 is the non-existent
# 1900-02-29 (a Lotus 1-2-3 bug Excel kept), so serials from 61 are offset by one day.
_EXCEL_EPOCH: Final = dt.date(1899, 12, 30)
_EXCEL_SERIAL_MAX: Final = 2_958_465  # 9999-12-31, Excel's last date
# A numeric *string* below this is far more likely a year ("2024") or a stray count than
# a serial, so strings are only read as serials from 10000 (1927-05-18) upwards.
_EXCEL_STRING_SERIAL_MIN: Final = 10_000

_TIME_TAIL = (
    r"(?:(?:T|\s+)(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.[0-9]{1,9})?)?"
    r"\s*(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
_SEPARATED_DATE = re.compile(
    r"(?P<y>[0-9]{4})\s*(?P<sep>[-/.])\s*(?P<m>[0-9]{1,2})\s*(?P=sep)\s*(?P<d>[0-9]{1,2})"
    + _TIME_TAIL
)
_CHINESE_DATE = re.compile(
    r"(?P<y>[0-9]{4})\s*年\s*(?P<m>[0-9]{1,2})\s*月\s*(?P<d>[0-9]{1,2})\s*[日号]?" + _TIME_TAIL
)
_COMPACT_DATE = re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})")
_NUMERIC = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _date_error(value: object, reason_zh: str = "", reason_en: str = "") -> NormalisationError:
    return NormalisationError(
        "invalid_date",
        f"无法识别的日期：{value!r}{reason_zh}（应为 YYYY-MM-DD）",
        f"Unrecognised date {value!r}{reason_en} (expected YYYY-MM-DD)",
    )


def _excel_serial_to_date(serial: int, original: object) -> dt.date:
    if serial == 60:
        raise _date_error(
            original,
            "，Excel 序列号 60 对应不存在的 1900-02-29",
            ", serial 60 is the non-existent 1900-02-29",
        )
    if serial < 1 or serial > _EXCEL_SERIAL_MAX:
        raise _date_error(original, "，超出 Excel 日期序列号范围", ", outside Excel serial range")
    offset = serial + 1 if serial < 60 else serial
    return _EXCEL_EPOCH + dt.timedelta(days=offset)


def _build_date(match: re.Match[str], original: object) -> dt.date:
    groups = match.groupdict()
    if groups.get("hour") is not None:
        second = groups.get("second")
        if (
            int(groups["hour"]) > 23
            or int(groups["minute"]) > 59
            or (second is not None and int(second) > 59)
        ):
            raise _date_error(original, "，时间部分无效", ", invalid time part")
    try:
        return dt.date(int(groups["y"]), int(groups["m"]), int(groups["d"]))
    except ValueError:
        raise _date_error(original, "，日期不存在", ", no such calendar date") from None


def parse_date(value: object) -> dt.date:
    """Parse a date from the spellings found in CRM exports and spreadsheets.

    Accepts date/datetime objects (the time and any timezone are dropped, never
    converted), ``YYYY-MM-DD``, ``YYYY/M/D``, ``YYYY.M.D``, ``YYYY年M月D日``, ``YYYYMMDD``,
    ISO datetimes, and Excel 1900-system serial numbers. Raises NormalisationError.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise _date_error(value)
    if isinstance(value, int):
        if _EXCEL_SERIAL_MAX < value <= 99_991_231 and len(str(value)) == 8:
            # An 8-digit integer cell is a YYYYMMDD date typed without separators.
            return parse_date(str(value))
        return _excel_serial_to_date(value, value)
    if isinstance(value, float | Decimal):
        if not math.isfinite(value):
            raise _date_error(value)
        # The fractional part of a serial is the time of day.
        return _excel_serial_to_date(math.floor(value), value)
    if not isinstance(value, str):
        raise _date_error(value)

    text = _nfkc(value).strip()
    for pattern in (_SEPARATED_DATE, _CHINESE_DATE, _COMPACT_DATE):
        match = pattern.fullmatch(text)
        if match:
            return _build_date(match, value)
    if _NUMERIC.fullmatch(text):
        serial = math.floor(Decimal(text))
        if serial < _EXCEL_STRING_SERIAL_MIN:
            raise _date_error(
                value, "，数字过小，不像 Excel 日期序列号", ", too small for a serial"
            )
        return _excel_serial_to_date(serial, value)
    raise _date_error(value)


# ---------------------------------------------------------------------------- amounts

_CENT: Final = Decimal("0.01")
# Amounts are stored as NUMERIC(18, 2): 16 integer digits at most.
_AMOUNT_LIMIT: Final = Decimal(10) ** 16
_UNIT_MULTIPLIERS: Final = {"": 1, "千": 1_000, "万": 10_000, "亿": 100_000_000}
_AMOUNT = re.compile(
    r"(?P<sign1>[+-]?)(?:¥|rmb|cny|人民币)?(?P<sign2>[+-]?)"
    r"(?P<number>(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+)"
    r"(?P<unit>[千万亿]?)(?:元|rmb|cny)?",
    re.IGNORECASE,
)


def _amount_error(value: object, reason_zh: str = "", reason_en: str = "") -> NormalisationError:
    return NormalisationError(
        "invalid_amount",
        f"无法识别的金额：{value!r}{reason_zh}",
        f"Unrecognised amount {value!r}{reason_en}",
    )


def _quantise_amount(amount: Decimal, original: object) -> Decimal:
    if not amount.is_finite():
        raise _amount_error(original, "，不是有限数值", ", not a finite number")
    with localcontext() as context:
        # Enough precision that quantize never rounds early; huge values are not
        # quantised at all (quantize would raise), and the check runs after rounding
        # because 9999999999999999.995 only overflows once rounded.
        context.prec = 64
        result = (
            amount.quantize(_CENT, rounding=ROUND_HALF_UP)
            if abs(amount) < _AMOUNT_LIMIT
            else amount
        )
        if abs(result) >= _AMOUNT_LIMIT:
            raise _amount_error(original, "，超出范围", ", out of range")
    # Avoid surfacing "-0.00" to callers that print or compare string forms.
    return result if result else Decimal("0.00")


def parse_amount(value: object) -> Decimal:
    """Parse a money amount in 元, quantised to 2 places (ROUND_HALF_UP).

    Accepts int/Decimal/float (floats via ``str`` to avoid binary noise) and strings
    such as ``¥125,000``, ``RMB 1000``, ``12.5万元``, ``1.2亿`` or full-width digits.
    Negative amounts are allowed (refunds); sign policy is the caller's.
    """
    if isinstance(value, bool):
        raise _amount_error(value)
    if isinstance(value, int):
        return _quantise_amount(Decimal(value), value)
    if isinstance(value, Decimal):
        return _quantise_amount(value, value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _amount_error(value, "，不是有限数值", ", not a finite number")
        return _quantise_amount(Decimal(str(value)), value)
    if not isinstance(value, str):
        raise _amount_error(value)

    # U+2212 MINUS SIGN is not folded by NFKC but appears in copied spreadsheets.
    text = "".join(_nfkc(value).replace("\u2212", "-").split())
    if len(text) > 64:
        raise _amount_error(value, "，过长", ", too long")
    match = _AMOUNT.fullmatch(text)
    if not match or (match["sign1"] and match["sign2"]):
        raise _amount_error(value)
    with localcontext() as context:
        context.prec = 64
        try:
            amount = Decimal(match["number"].replace(",", "")) * _UNIT_MULTIPLIERS[match["unit"]]
        except InvalidOperation:
            raise _amount_error(value) from None
    if "-" in (match["sign1"], match["sign2"]):
        amount = -amount
    return _quantise_amount(amount, value)


# ---------------------------------------------------------------------------- USCC

USCC_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUES: Final = {char: index for index, char in enumerate(USCC_CHARSET)}


def _uscc_error(value: object, reason_zh: str, reason_en: str) -> NormalisationError:
    return NormalisationError(
        "invalid_uscc",
        f"统一社会信用代码无效：{value!r}，{reason_zh}",
        f"Invalid unified social credit code {value!r}: {reason_en}",
    )


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a USCC."""
    if len(first17) != 17 or any(char not in _USCC_VALUES for char in first17):
        raise _uscc_error(first17, "前 17 位必须来自规定字符集", "need 17 characters from charset")
    total = sum(
        _USCC_VALUES[char] * weight for char, weight in zip(first17, USCC_WEIGHTS, strict=True)
    )
    return USCC_CHARSET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """Validate a 统一社会信用代码 (length, charset, checksum) and return it normalised."""
    if not isinstance(code, str):
        raise _uscc_error(code, "必须是文本", "must be text")
    normalised = "".join(_nfkc(code).upper().split())
    if len(normalised) != 18:
        raise _uscc_error(code, f"长度应为 18 位，实际 {len(normalised)} 位", "length must be 18")
    bad = sorted({char for char in normalised if char not in _USCC_VALUES})
    if bad:
        listed = "".join(bad)
        raise _uscc_error(code, f"含非法字符 {listed}", f"characters not allowed: {listed}")
    if uscc_check_char(normalised[:17]) != normalised[17]:
        raise _uscc_error(code, "校验位不正确", "checksum mismatch")
    return normalised


# ---------------------------------------------------------------------------- size

SIZE_LABELS: Final[dict[str, dict[str, str]]] = {
    "small": {"zh": "小型", "en": "Small"},
    "medium": {"zh": "中型", "en": "Medium"},
    "large": {"zh": "大型", "en": "Large"},
}
_SIZE_ALIASES: Final = {
    **{key: key for key in SIZE_LABELS},
    **{labels["zh"]: key for key, labels in SIZE_LABELS.items()},
    "小": "small",
    "中": "medium",
    "大": "large",
    "小微": "small",
}


def size_from_employees(n: int) -> Literal["small", "medium", "large"]:
    """Derive the size key from a head count: small <50, medium 50–200, large >200."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise NormalisationError(
            "invalid_employees", f"员工人数无效：{n!r}", f"Invalid employee count {n!r}"
        )
    if n < 50:
        return "small"
    return "medium" if n <= 200 else "large"


def parse_size(value: str) -> str:
    """Parse ``small|medium|large``, 小型/中型/大型 or 小型企业 etc. into a size key."""
    text = (normalise_text(value) if isinstance(value, str) else None) or ""
    key = text.lower().replace(" ", "")
    # "小型企业" / "中型公司" / "small business" all name the same size.
    for suffix in ("企业", "公司", "business", "enterprise", "company"):
        key = key.removesuffix(suffix)
    if key in _SIZE_ALIASES:
        return _SIZE_ALIASES[key]
    raise NormalisationError(
        "invalid_size",
        f"无法识别的企业规模：{value!r}（应为 小型/中型/大型）",
        f"Unrecognised size {value!r} (expected small, medium or large)",
    )


# ---------------------------------------------------------------------------- stage / bool

_STAGE_ALIASES: Final = {
    **dict.fromkeys(("potential", "prospect", "潜在", "潜在客户", "意向", "意向客户"), "potential"),
    **dict.fromkeys(("signed", "签约", "已签约", "签约客户", "成交", "已成交", "合作中"), "signed"),
}


def parse_stage(value: str) -> str:
    """Parse a customer stage: ``potential`` (潜在/意向) or ``signed`` (签约/成交/合作中)."""
    text = (normalise_text(value) if isinstance(value, str) else None) or ""
    stage = _STAGE_ALIASES.get(text.lower().replace(" ", ""))
    if stage is None:
        raise NormalisationError(
            "invalid_stage",
            f"无法识别的客户阶段：{value!r}（应为 潜在/签约）",
            f"Unrecognised stage {value!r} (expected potential or signed)",
        )
    return stage


_TRUE_WORDS: Final = frozenset({"true", "1", "yes", "y", "是"})
_FALSE_WORDS: Final = frozenset({"false", "0", "no", "n", "否"})


def parse_bool(value: object) -> bool:
    """Parse true/false, 1/0, yes/no, Y/N or 是/否 (case-insensitive)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    word = (normalise_text(value) if isinstance(value, str) else None) or ""
    if word.lower() in _TRUE_WORDS:
        return True
    if word.lower() in _FALSE_WORDS:
        return False
    raise NormalisationError(
        "invalid_bool",
        f"无法识别的是/否值：{value!r}",
        f"Unrecognised boolean {value!r} (expected true/false, yes/no, 是/否)",
    )


# ---------------------------------------------------------------------------- company names

# Longest first so "股份有限公司" is removed whole rather than leaving "股份有限".
_CJK_LEGAL_SUFFIXES: Final = (
    "股份有限公司",
    "有限责任公司",
    "有限合伙",
    "有限公司",
    "集团",
    "集團",
    "股份",
    "公司",
)
_LATIN_LEGAL_WORDS: Final = frozenset(
    {"co", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "company"}
    | {"llc", "plc", "gmbh", "group"}
)


def _strip_cjk_suffixes(text: str) -> str:
    # Never strip to nothing, nor fall back to a shorter suffix when a longer one is the
    # whole text: "有限公司" alone stays whole rather than becoming "有限".
    while True:
        suffix = next((s for s in _CJK_LEGAL_SUFFIXES if text.endswith(s)), None)
        if suffix is None or suffix == text:
            return text
        text = text[: -len(suffix)]


def _company_key(name: str) -> str:
    text = _nfkc(_nfkc(name).lower())
    # Punctuation, symbols, separators and control characters become token breaks so
    # that Latin legal words ("Co.,Ltd.") can be recognised as whole words.
    spaced = "".join(" " if unicodedata.category(char)[0] in "PSZC" else char for char in text)
    tokens = spaced.split()
    while len(tokens) > 1:
        last = tokens[-1]
        if last in _LATIN_LEGAL_WORDS:
            tokens.pop()
        elif (shorter := _strip_cjk_suffixes(last)) != last:
            tokens[-1] = shorter
        elif last in _CJK_LEGAL_SUFFIXES:
            tokens.pop()
        else:
            break
    # Strip again on the joined form: a suffix may straddle a removed space ("华信公 司").
    return _strip_cjk_suffixes("".join(tokens))


def normalise_company_name(name: str) -> str:
    """Reduce a company name to a key for duplicate detection (剔除重复数据).

    NFKC, lower-case, drop punctuation/symbols/whitespace and trailing legal-form words
    (有限公司, 股份有限公司, 集团, Co., Ltd. …). Region words such as 上海 are kept, as
    they distinguish different companies. Deterministic and idempotent.
    """
    key = _company_key(name)
    # Removing a separator can join a letter to a combining mark that NFKC then composes
    # ("R¸" → "r" + U+0327 → "ŗ"), so repeat until stable. Passes after the first only
    # remove or compose characters, so this settles within a couple of rounds.
    while (again := _company_key(key)) != key:
        key = again
    return key
