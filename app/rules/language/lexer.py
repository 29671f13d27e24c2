"""Tokens of the text form of rules, with 1-based line and column for error messages.

Chinese field labels are identifiers. Because Chinese text has no spaces, a run of
Chinese characters is split by longest match against the catalog's labels and the
Chinese connectives (且 / 或), so `50万且近6个月互动>=10` reads as four tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from app.core.i18n import Text
from app.rules.language.errors import RuleSyntaxError

KEYWORDS: Final = frozenset(
    {
        "and",
        "or",
        "not",
        "in",
        "between",
        "is",
        "null",
        "within",
        "last",
        "days",
        "day",
        "contains",
        "true",
        "false",
        "all",
        "any",
    }
)
# 前 as in `近12个月订单金额 前20%` (the top 20 percent, `quantiles.py`).
_CHINESE_KEYWORDS: Final = {"且": "and", "并且": "and", "或": "or", "或者": "or", "前": "top"}
_COMPARISONS: Final = {
    ">=": "gte",
    "<=": "lte",
    "==": "eq",
    "!=": "ne",
    "<>": "ne",
    "=": "eq",
    ">": "gt",
    "<": "lt",
    "≥": "gte",
    "≤": "lte",
    "≠": "ne",
    "＝": "eq",
    "＞": "gt",
    "＜": "lt",
}
_PUNCTUATION: Final = {
    "(": "(",
    ")": ")",
    ",": ",",
    "（": "(",
    "）": ")",
    "，": ",",
    "、": ",",
    "%": "%",
    "％": "%",
}
_QUOTES: Final = {'"': '"', "'": "'", "“": "”", "「": "」"}
_ESCAPES: Final = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "/": "/"}
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}(?![\d.])")
_NUMBER: Final = re.compile(r"-?\d+(\.\d+)?")
_LONGEST_INT: Final = 40
_MULTIPLIERS: Final = {"万": 10_000, "亿": 100_000_000}
# Longest first: 个月 before 个. 年 is years of a months field (× 12).
_UNITS: Final = (
    ("个月", "months"),
    ("元", "CNY"),
    ("次", "count"),
    ("个", "count"),
    ("天", "days"),
    ("月", "months"),
    ("人", "employees"),
    ("年", "years"),
)


@dataclass(frozen=True, slots=True)
class Token:
    """One token; `kind` is ident, keyword, op, punct, number, string, date or eof."""

    kind: str
    text: str
    line: int
    column: int
    value: object = None
    unit: str | None = None

    def describe(self) -> Text:
        """How an error message names this token."""
        if self.kind == "eof":
            return Text("输入结束", "end of input")
        return Text(f"“{self.text}”", f"'{self.text}'")


def _is_word_char(char: str) -> bool:
    return char == "_" or char.isalnum()


class Lexer:
    """Splits a text expression into tokens."""

    def __init__(self, source: str, names: Iterable[str] = ()) -> None:
        self.source = source
        self.pos = 0
        self.line = 1
        self.line_start = 0
        # Names that start with a non-ASCII character, longest first, for longest match.
        wide = {n for n in names if n and not n[0].isascii()} | set(_CHINESE_KEYWORDS)
        self.wide_names = sorted(wide, key=len, reverse=True)

    def error(self, text: Text, pos: int | None = None) -> RuleSyntaxError:
        """A syntax error at `pos` (default: the current position)."""
        at = self.pos if pos is None else pos
        line = self.source.count("\n", 0, at) + 1
        column = at - (self.source.rfind("\n", 0, at) + 1) + 1
        return RuleSyntaxError(line, column, text)

    def tokens(self) -> list[Token]:
        """Every token, ending with one of kind eof."""
        out: list[Token] = []
        while True:
            token = self.next_token()
            out.append(token)
            if token.kind == "eof":
                return out

    def _make(self, kind: str, start: int, value: object = None, unit: str | None = None) -> Token:
        return Token(
            kind,
            self.source[start : self.pos],
            self.line,
            start - self.line_start + 1,
            value,
            unit,
        )

    def _skip_space(self) -> None:
        while self.pos < len(self.source) and self.source[self.pos].isspace():
            if self.source[self.pos] == "\n":
                self.line += 1
                self.line_start = self.pos + 1
            self.pos += 1

    def next_token(self) -> Token:
        """The token at the current position."""
        self._skip_space()
        src, start = self.source, self.pos
        if start >= len(src):
            return self._make("eof", start)
        char = src[start]
        two = src[start : start + 2]
        if two in _COMPARISONS:
            self.pos += 2
            return self._make("op", start, _COMPARISONS[two])
        if char in _COMPARISONS:
            self.pos += 1
            return self._make("op", start, _COMPARISONS[char])
        if char in _PUNCTUATION:
            self.pos += 1
            return self._make("punct", start, _PUNCTUATION[char])
        if char in _QUOTES:
            return self._string(_QUOTES[char])
        if char == "`":
            end = src.find("`", start + 1)
            if end < 0:
                raise self.error(Text("反引号未闭合", "unterminated `name`"))
            self.pos = end + 1
            return self._make("ident", start, src[start + 1 : end])
        # isdecimal, not isdigit: "¹" is a digit to Python, yet no number to the pattern.
        if char.isdecimal() or (char == "-" and src[start + 1 : start + 2].isdecimal()):
            return self._number()
        if _is_word_char(char):
            return self._word()
        raise self.error(Text(f"无法识别的字符 “{char}”", f"unexpected character '{char}'"))

    def _string(self, closing: str) -> Token:
        start, src = self.pos, self.source
        self.pos += 1
        parts: list[str] = []
        while True:
            if self.pos >= len(src) or src[self.pos] == "\n":
                raise self.error(Text("字符串未闭合", "unterminated string"), start)
            char = src[self.pos]
            if char == closing:
                self.pos += 1
                return self._make("string", start, "".join(parts))
            if char == "\\":
                parts.append(self._escape())
                continue
            parts.append(char)
            self.pos += 1

    def _escape(self) -> str:
        src, at = self.source, self.pos
        code = src[at + 1 : at + 2]
        if code in _ESCAPES:
            self.pos += 2
            return _ESCAPES[code]
        if code == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", src[at + 2 : at + 6]):
            self.pos += 6
            return chr(int(src[at + 2 : at + 6], 16))
        raise self.error(Text("无效的转义序列", "invalid escape sequence"), at)

    def _number(self) -> Token:
        start, src = self.pos, self.source
        date = _DATE.match(src, start)
        if date:
            self.pos = date.end()
            return self._make("date", start, date.group())
        match = _NUMBER.match(src, start)
        assert match is not None  # the caller saw a digit
        self.pos = match.end()
        text = match.group()
        # A run of digits too long for int() (Python refuses 4,300) is a Decimal, which the
        # field's range check then refuses with the node's path.
        whole = "." not in text and len(text) <= _LONGEST_INT
        number: int | Decimal = int(text) if whole else Decimal(text)
        multiplier = _MULTIPLIERS.get(src[self.pos : self.pos + 1])
        if multiplier is not None:
            self.pos += 1
            number = number * multiplier
        unit = None
        for suffix, name in _UNITS:
            if src.startswith(suffix, self.pos):
                self.pos += len(suffix)
                unit = name
                break
        if multiplier is not None and unit is None:
            unit = "CNY"  # 50万 in a rule means 50万元
        if self.pos < len(src) and src[self.pos].isascii() and _is_word_char(src[self.pos]):
            raise self.error(Text("数字后有多余字符", "unexpected characters after a number"))
        return self._make("number", start, number, unit)

    def _word(self) -> Token:
        start, src = self.pos, self.source
        end = start
        while end < len(src) and _is_word_char(src[end]):
            end += 1
        word = src[start:end]
        if not src[start].isascii():
            # A whole run that is a known name wins; otherwise the longest known prefix
            # (a label or 且/或 followed by more text without a space).
            if word not in self.wide_names:
                for name in self.wide_names:
                    if word.startswith(name):
                        end = start + len(name)
                        word = name
                        break
            self.pos = end
            if word in _CHINESE_KEYWORDS:
                return self._make("keyword", start, _CHINESE_KEYWORDS[word])
            return self._make("ident", start, word)
        self.pos = end
        lowered = word.lower()
        if lowered in KEYWORDS:
            return self._make("keyword", start, "days" if lowered == "day" else lowered)
        return self._make("ident", start, word)
