"""Pydantic's validation messages in the caller's language.

Pydantic says "Field required" or "Input should be a valid UUID, …" in English whatever
the request asked for; rule errors are Chinese. Each error carries a `type` and its
`ctx` (the limit, the expected values …), so the Chinese is said from those, per type;
English keeps pydantic's own words. A type without a Chinese sentence here (rare ones)
keeps pydantic's words in both languages rather than saying something vaguer.
"""

from collections.abc import Mapping
from typing import Any, Final

from app.core.i18n import current_locale

# Chinese per pydantic error type; `{name}` holes are filled from the error's ctx.
ZH: Final[dict[str, str]] = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "uuid_parsing": "应为有效的 UUID",
    "uuid_type": "应为有效的 UUID",
    "uuid_version": "应为 {expected_version} 版 UUID",
    "string_type": "应为字符串",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不符合要求({pattern})",
    "string_unicode": "应为有效的 Unicode 字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数,不能有小数部分",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_max_digits": "总位数最多 {max_digits} 位",
    "decimal_max_places": "小数最多 {decimal_places} 位",
    "decimal_whole_digits": "整数部分最多 {whole_digits} 位",
    "finite_number": "应为有限的数字",
    "bool_type": "应为布尔值(true 或 false)",
    "bool_parsing": "应为布尔值(true 或 false)",
    "date_type": "应为日期(YYYY-MM-DD)",
    "date_parsing": "应为日期(YYYY-MM-DD)",
    "date_from_datetime_parsing": "应为日期(YYYY-MM-DD)",
    "date_from_datetime_inexact": "应为不含时间的日期",
    "datetime_type": "应为日期时间(ISO 8601)",
    "datetime_parsing": "应为日期时间(ISO 8601)",
    "datetime_from_date_parsing": "应为日期时间(ISO 8601)",
    "timezone_aware": "日期时间须带时区",
    "enum": "应为以下之一:{expected}",
    "literal_error": "应为以下之一:{expected}",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应大于或等于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应小于或等于 {le}",
    "multiple_of": "应为 {multiple_of} 的整数倍",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "list_type": "应为数组",
    "tuple_type": "应为数组",
    "set_type": "应为数组",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "json_invalid": "不是有效的 JSON",
    "json_type": "应为 JSON 字符串",
    "url_type": "应为网址",
    "url_parsing": "不是有效的网址",
    "url_scheme": "网址协议应为 {expected_schemes}",
    "url_too_long": "网址最多 {max_length} 个字符",
    "union_tag_invalid": "{discriminator} 的值应为以下之一:{expected_tags}",
    "union_tag_not_found": "缺少用于区分类型的字段 {discriminator}",
    "none_required": "应为空(null)",
    "is_instance_of": "类型不符",
    "bytes_type": "应为字节串",
    "bytes_too_short": "至少 {min_length} 字节",
    "bytes_too_long": "最多 {max_length} 字节",
    "frozen_field": "该字段不可修改",
    "frozen_instance": "不可修改",
    "unexpected_keyword_argument": "不允许的参数",
    "missing_keyword_only_argument": "缺少必填参数",
    "missing_positional_only_argument": "缺少必填参数",
}


def validation_message(error: Mapping[str, Any]) -> str:
    """The message of one pydantic error (`type`, `msg`, `ctx`) in the request's language.
    A `value_error` or `assertion_error` raised by our own validators keeps its words:
    those say the Chinese themselves where they speak to people."""
    english = str(error.get("msg", ""))
    if current_locale.get() == "en":
        return english
    template = ZH.get(str(error.get("type", "")))
    if template is None:
        return english
    context = {key: _said(value) for key, value in (error.get("ctx") or {}).items()}
    try:
        return template.format(**context)
    except (KeyError, IndexError):  # a ctx without the hole: the sentence without it
        return template.split("{", 1)[0].rstrip(":( ") or english


def _said(value: object) -> str:
    # pydantic's `expected` is already text ("'a', 'b' or 'c'"): say "或" for "or".
    text = str(value)
    return text.replace(" or ", " 或 ") if isinstance(value, str) else text
