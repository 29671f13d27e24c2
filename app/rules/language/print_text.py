"""The tree printed as a text expression that `parse_text` reads back to the same tree."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Final

from app.catalog import FieldCatalog
from app.rules.language.lexer import KEYWORDS
from app.rules.language.tree import All, Any, Condition, Leaf, Not, Value

_SYMBOLS: Final = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


class UnprintableCondition(ValueError):
    """A condition whose value has a shape the text form cannot express (it is invalid)."""


def print_text(node: Condition, catalog: FieldCatalog | None = None) -> str:
    """The text form of `node`.

    Field keys are printed as keys; with `catalog`, as their Chinese labels (for people
    reading rules; it parses back to the same tree with the same catalog).
    """
    return _Printer(catalog).condition(node)


class _Printer:
    def __init__(self, catalog: FieldCatalog | None) -> None:
        self.catalog = catalog

    def condition(self, node: Condition) -> str:
        if isinstance(node, Leaf):
            return self.leaf(node)
        if isinstance(node, Not):
            item = node.item
            inner = self.condition(item)
            # `not a`, `not not a`; groups need parentheses because not binds tightest.
            return f"not {inner}" if isinstance(item, Leaf | Not) else f"not ({inner})"
        word = "and" if isinstance(node, All) else "or"
        if len(node.items) < 2:
            # A group of 0 or 1 items has no infix form; the function form keeps it.
            name = "all" if isinstance(node, All) else "any"
            return f"{name}({', '.join(self.condition(i) for i in node.items)})"
        return f" {word} ".join(self.operand(item) for item in node.items)

    def operand(self, item: Condition) -> str:
        text = self.condition(item)
        # Parentheses make a nested group its own node again when read back.
        if isinstance(item, All | Any) and len(item.items) >= 2:
            return f"({text})"
        return text

    def field(self, key: str) -> str:
        if self.catalog is not None:
            definition = self.catalog.get(key)
            if definition is not None and _is_plain_name(definition.label_zh):
                return definition.label_zh
        if _IDENTIFIER.fullmatch(key) and key.lower() not in KEYWORDS:
            return key
        if "`" in key:
            raise UnprintableCondition(f"field key {key!r} cannot be written as text")
        return f"`{key}`"

    def leaf(self, leaf: Leaf) -> str:
        name, op, value = self.field(leaf.field), leaf.op, leaf.value
        if leaf.score is not None:
            k = f", {_literal(leaf.score.k)}" if leaf.score.kind == "ntile" else ""
            name = f"{leaf.score.kind}({name}{k})"
        if op in _SYMBOLS:
            return f"{name} {_SYMBOLS[op]} {_literal(value)}"
        if op in ("is_null", "is_not_null"):
            if value is not None:
                raise UnprintableCondition(f"{op} with a value")
            return f"{name} is {'not ' if op == 'is_not_null' else ''}null"
        if op == "between":
            if not isinstance(value, tuple) or len(value) != 2:
                raise UnprintableCondition("between needs two values")
            return f"{name} between {_literal(value[0])} and {_literal(value[1])}"
        if op in ("in", "not_in"):
            if not isinstance(value, tuple):
                raise UnprintableCondition(f"{op} needs a list")
            items = ", ".join(_literal(v) for v in value)
            return f"{name} {'not in' if op == 'not_in' else 'in'} ({items})"
        if op in ("within_last_days", "not_within_last_days"):
            negated = "not " if op == "not_within_last_days" else ""
            return f"{name} {negated}within last {_literal(value)} days"
        if op == "contains":
            return f"{name} contains {_literal(value)}"
        raise UnprintableCondition(f"unknown operator {op!r}")


def _is_plain_name(label: str) -> bool:
    return bool(label) and all(c == "_" or c.isalnum() for c in label)


def _literal(value: Value | date) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        escaped = "".join(_escape(c) for c in value)
        return f'"{escaped}"'
    raise UnprintableCondition("a list where a single value is expected")


def _escape(char: str) -> str:
    if char in _STRING_ESCAPES:
        return _STRING_ESCAPES[char]
    if not char.isprintable():
        # Line separators and other invisible characters would break the text or hide.
        return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else char
    return char
