"""Errors of the rule language, each in zh-CN and English.

Validation collects `RuleError`s (pydantic-style `loc`/`msg`/`type`, so the HTTP layer can
put them straight into a problem+json `errors` array); a text expression that does not
parse raises `RuleSyntaxError` with its line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.i18n import Locale, Text, current_locale
from app.rules.language.tree import Loc, Origin


@dataclass(frozen=True, slots=True)
class RuleError:
    """One problem with a submitted ruleset or condition, at JSON path `loc`."""

    loc: Loc
    type: str
    text: Text
    ctx: dict[str, object] = field(default_factory=dict)

    def to_dict(self, locale: Locale | None = None) -> dict[str, object]:
        """`{"loc", "msg", "type"}` with `msg` in `locale` (default: the request's), plus
        `msg_zh`/`msg_en` and `ctx` (line/column for text expressions) when there is any."""
        out: dict[str, object] = {
            "loc": list(self.loc),
            "msg": self.text.get(locale),
            "type": self.type,
            "msg_zh": self.text.zh,
            "msg_en": self.text.en,
        }
        if self.ctx:
            out["ctx"] = dict(self.ctx)
        return out


def error_at(origin: Origin | None, loc: Loc, type_: str, text: Text) -> RuleError:
    """A RuleError at a node: its own origin if it has one (text positions included),
    else `loc`."""
    if origin is None:
        return RuleError(loc, type_, text)
    if origin.line is None:
        return RuleError(origin.loc, type_, text)
    where = Text("第 {line} 行第 {column} 列:", "line {line}, column {column}: ").format(
        line=origin.line, column=origin.column
    )
    return RuleError(
        origin.loc,
        type_,
        Text(where.zh + text.zh, where.en + text.en),
        {"line": origin.line, "column": origin.column},
    )


class RulesetInvalid(ValueError):
    """A ruleset or condition that cannot be used; `errors` lists every problem found."""

    def __init__(self, errors: list[RuleError]) -> None:
        super().__init__("; ".join(f"{list(e.loc)}: {e.text.en}" for e in errors))
        self.errors = errors

    def to_list(self, locale: Locale | None = None) -> list[dict[str, object]]:
        """The errors as dicts for a 422 body."""
        return [e.to_dict(locale) for e in self.errors]


class RuleSyntaxError(ValueError):
    """A text expression that does not parse, with the 1-based line and column."""

    def __init__(self, line: int, column: int, text: Text, type_: str = "syntax_error") -> None:
        super().__init__(f"line {line}, column {column}: {text.en}")
        self.line = line
        self.column = column
        self.text = text
        self.type = type_

    def message(self, locale: Locale | None = None) -> str:
        """The message with its position, in `locale`."""
        if (locale or current_locale.get()) == "en":
            return f"line {self.line}, column {self.column}: {self.text.en}"
        return f"第 {self.line} 行第 {self.column} 列:{self.text.zh}"

    def to_error(self, loc: Loc) -> RuleError:
        """This error as a RuleError for the string at JSON path `loc`."""
        return RuleError(
            loc,
            self.type,
            Text(self.message("zh-CN"), self.message("en")),
            {"line": self.line, "column": self.column},
        )
