"""The text form of conditions, parsed into the tree by recursive descent.

    expr       := or
    or         := and (("or" | "或") and)*
    and        := not (("and" | "且") not)*
    not        := "not" not | primary
    primary    := "(" or ")" | ("all" | "any") "(" [or ("," or)*] ")" | comparison
    comparison := field ( cmp value | "between" value "and" value
                        | ["not"] "in" "(" [value ("," value)*] ")"
                        | ["not"] "within" "last" value ["days"]
                        | "is" ["not"] "null" | "contains" value
                        | "前" number "%" )
                | score ( cmp value | "between" value "and" value
                        | ["not"] "in" "(" [value ("," value)*] ")" | "is" ["not"] "null" )
    score      := "ntile" "(" field "," number ")" | "rank_pct" "(" field ")"

`field 前 p%` (the top p percent) is `rank_pct(field) > 100 - p` (see `quantiles.py`).
A chain `a and b and c` is one `All`; parentheses keep their own node, so
`(a and b) and c` is `All(All(a, b), c)` and printing then parsing is the identity.
Numbers take 万/亿 and unit suffixes (元, 次, 个, 天, 个月, 人, 年 for months × 12),
checked against the field's unit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from app.catalog import BUILTIN_CATALOG, FieldCatalog, FieldDef
from app.core.i18n import Text
from app.rules.language.errors import RuleSyntaxError
from app.rules.language.lexer import Lexer, Token
from app.rules.language.limits import MAX_DEPTH
from app.rules.language.quantiles import SCORE_FUNCTIONS
from app.rules.language.tree import (
    All,
    Any,
    Condition,
    Leaf,
    Loc,
    Not,
    Origin,
    Score,
    ScoreKind,
    Value,
    children,
)

_UNIT_ZH: Final = {
    "CNY": "元",
    "count": "次",
    "days": "天",
    "months": "个月",
    "employees": "人",
    "years": "年",
}
# Parentheses recurse; the tree depth is checked after parsing, this only bounds the stack.
_MAX_PAREN_NESTING: Final = 4 * MAX_DEPTH


def parse_text(
    source: str,
    catalog: FieldCatalog = BUILTIN_CATALOG,
    *,
    loc: Loc = (),
    max_depth: int = MAX_DEPTH,
) -> Condition:
    """Parse a text condition such as `order_amount_12m >= 50万 and interactions_6m >= 10`.

    Chinese labels and aliases of `catalog` are accepted for field keys. Nodes remember
    `loc` (the JSON path of the string) and their line/column. Raises RuleSyntaxError.
    """
    tokens = Lexer(source, catalog.names()).tokens()
    parser = _Parser(tokens, catalog, loc)
    node = parser.expression()
    if parser.peek.kind != "eof":
        raise parser.error(
            Text(
                f"多余的内容 {parser.peek.describe().zh}", f"unexpected {parser.peek.describe().en}"
            )
        )
    _check_depth(node, max_depth)
    return node


def _check_depth(node: Condition, max_depth: int) -> None:
    stack: list[tuple[Condition, int]] = [(node, 1)]
    while stack:
        current, level = stack.pop()
        if level > max_depth:
            origin = current.origin
            raise RuleSyntaxError(
                origin.line or 1 if origin else 1,
                origin.column or 1 if origin else 1,
                Text(f"条件嵌套超过 {MAX_DEPTH} 层", f"nested deeper than {MAX_DEPTH}"),
                "too_deep",
            )
        stack.extend((child, level + 1) for child in children(current))


class _Parser:
    def __init__(self, tokens: list[Token], catalog: FieldCatalog, loc: Loc) -> None:
        self.tokens = tokens
        self.index = 0
        self.catalog = catalog
        self.loc = loc
        self.nesting = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def at(self, kind: str, value: object) -> bool:
        return self.peek.kind == kind and self.peek.value == value

    def accept(self, kind: str, value: object) -> bool:
        if self.at(kind, value):
            self.advance()
            return True
        return False

    def error(
        self, text: Text, token: Token | None = None, type_: str = "syntax_error"
    ) -> RuleSyntaxError:
        token = token or self.peek
        return RuleSyntaxError(token.line, token.column, text, type_)

    def expect(self, kind: str, value: str, shown: str) -> Token:
        if not self.at(kind, value):
            found = self.peek.describe()
            raise self.error(
                Text(f"期望 “{shown}”,却遇到 {found.zh}", f"expected '{shown}', found {found.en}")
            )
        return self.advance()

    def origin(self, token: Token) -> Origin:
        return Origin(self.loc, token.line, token.column)

    def expression(self) -> Condition:
        first = self.peek
        items = [self.conjunction()]
        while self.accept("keyword", "or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Any(tuple(items), self.origin(first))

    def conjunction(self) -> Condition:
        first = self.peek
        items = [self.negation()]
        while self.accept("keyword", "and"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else All(tuple(items), self.origin(first))

    def negation(self) -> Condition:
        # Iterative, so `not not not …` cannot exhaust the stack.
        nots: list[Token] = []
        while self.at("keyword", "not"):
            nots.append(self.advance())
        node = self.primary()
        for token in reversed(nots):
            node = Not(node, self.origin(token))
        return node

    def primary(self) -> Condition:
        token = self.peek
        if self.at("punct", "("):
            self.advance()
            self.enter(token)
            node = self.expression()
            self.expect("punct", ")", ")")
            self.nesting -= 1
            return node
        if token.kind == "keyword" and token.value in ("all", "any"):
            self.advance()
            self.expect("punct", "(", "(")
            self.enter(token)
            items: list[Condition] = []
            while not self.at("punct", ")"):
                items.append(self.expression())
                if not self.accept("punct", ","):
                    break
            self.expect("punct", ")", ")")
            self.nesting -= 1
            group = All if token.value == "all" else Any
            return group(tuple(items), self.origin(token))
        return self.comparison()

    def enter(self, token: Token) -> None:
        self.nesting += 1
        if self.nesting > _MAX_PAREN_NESTING:
            raise self.error(
                Text("括号嵌套过深", "parentheses nested too deeply"), token, "too_deep"
            )

    def comparison(self) -> Leaf:
        token = self.field_token()
        if str(token.value).lower() in SCORE_FUNCTIONS and self.at("punct", "("):
            return self.scored(token)
        definition = self.catalog.resolve(str(token.value))
        key = definition.key if definition else str(token.value)
        if self.at("keyword", "top"):
            return Leaf(key, "gt", self.top_percent(), self.origin(token), Score("rank_pct"))
        op, value = self.operation(token, definition)
        return Leaf(key, op, value, self.origin(token))

    def field_token(self) -> Token:
        token = self.advance()
        if token.kind != "ident":
            found = token.describe()
            raise self.error(
                Text(f"期望字段名,却遇到 {found.zh}", f"expected a field name, found {found.en}"),
                token,
            )
        return token

    def scored(self, function: Token) -> Leaf:
        """`ntile(field, k) …` or `rank_pct(field) …`: a comparison of a score."""
        kind: ScoreKind = "ntile" if str(function.value).lower() == "ntile" else "rank_pct"
        self.expect("punct", "(", "(")
        token = self.field_token()
        definition = self.catalog.resolve(str(token.value))
        key = definition.key if definition else str(token.value)
        k: Value = None
        if kind == "ntile":
            self.expect("punct", ",", ",")
            k = self.value(None)
        self.expect("punct", ")", ")")
        # The score is a whole number without unit: values are read without the field's.
        op, value = self.operation(function, None)
        return Leaf(key, op, value, self.origin(function), Score(kind, k))

    def top_percent(self) -> int:
        """`前 p%` after a field: p from 1 to 100, as the rank_pct it must exceed."""
        self.advance()
        token = self.advance()
        p = token.value if token.kind == "number" else None
        if not isinstance(p, int) or not 1 <= p <= 100 or token.unit is not None:
            raise self.error(
                Text(
                    "“前 N%” 中的 N 应为 1 到 100 之间的整数(如 前20%)",
                    "in '前 N%' (top N percent), N must be a whole number from 1 to 100",
                ),
                token,
                "top_percent",
            )
        self.expect("punct", "%", "%")
        return 100 - p

    def operation(self, field: Token, definition: FieldDef | None) -> tuple[str, Value]:
        token = self.advance()
        if token.kind == "op":
            return str(token.value), self.value(definition)
        word = token.value if token.kind == "keyword" else None
        if word == "between":
            low = self.value(definition)
            self.expect("keyword", "and", "and")
            return "between", (low, self.value(definition))
        if word == "contains":
            return "contains", self.value(definition)
        if word == "is":
            negated = self.accept("keyword", "not")
            self.expect("keyword", "null", "null")
            return ("is_not_null" if negated else "is_null"), None
        negated = word == "not"
        if negated:
            token = self.advance()
            word = token.value if token.kind == "keyword" else None
        if word == "in":
            return ("not_in" if negated else "in"), self.value_list(definition)
        if word == "within":
            self.expect("keyword", "last", "last")
            days_token = self.peek
            days = self.value(definition, window=True)
            if not self.accept("keyword", "days") and days_token.unit != "days":
                self.expect("keyword", "days", "days")
            return ("not_within_last_days" if negated else "within_last_days"), days
        found = token.describe()
        raise self.error(
            Text(
                f"字段 “{field.text}” 后应为比较运算符(>=、between、in、is null 等),"
                f"却遇到 {found.zh}",
                f"expected an operator (>=, between, in, is null, ...) after '{field.text}', "
                f"found {found.en}",
            ),
            token,
        )

    def value_list(self, definition: FieldDef | None) -> tuple[Value, ...]:
        self.expect("punct", "(", "(")
        items: list[Value] = []
        while not self.at("punct", ")"):
            items.append(self.value(definition))
            if not self.accept("punct", ","):
                break
        self.expect("punct", ")", ")")
        return tuple(items)

    def value(self, definition: FieldDef | None, *, window: bool = False) -> Value:
        token = self.advance()
        if token.kind in ("string", "date"):
            return str(token.value)
        if token.kind == "keyword" and token.value in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[str(token.value)]
        if token.kind != "number":
            found = token.describe()
            raise self.error(
                Text(
                    f"期望取值(数字、“文本”、日期、true/false),却遇到 {found.zh}",
                    f'expected a value (number, "text", date, true/false), found {found.en}',
                ),
                token,
            )
        number = token.value
        assert isinstance(number, int | Decimal)
        if token.unit is None or definition is None:
            return number
        expected = "days" if window else definition.unit
        if token.unit == "years" and expected == "months":
            return number * 12
        if token.unit != expected:
            unit_zh = _UNIT_ZH[token.unit]
            field_unit = _UNIT_ZH.get(expected or "", "无")
            raise self.error(
                Text(
                    f"单位 “{unit_zh}” 与字段 “{definition.label_zh}” 的单位({field_unit})不符",
                    f"unit '{unit_zh}' does not fit field '{definition.key}' "
                    f"(unit: {expected or 'none'})",
                ),
                token,
                "unit_mismatch",
            )
        return number
