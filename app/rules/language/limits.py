"""Size limits of rules, and a guard for raw JSON bodies before they are parsed."""

from __future__ import annotations

from typing import Final

MAX_DEPTH: Final = 32
"""Deepest nesting of conditions; a lone leaf is depth 1."""

MAX_CONDITIONS: Final = 1_000
"""Most leaf conditions in one ruleset (or one standalone condition)."""


def json_nesting_depth(raw: bytes | str, stop_after: int = MAX_DEPTH * 4) -> int:
    """How deeply `[`/`{` nest in a JSON document, without parsing it.

    Python's `json` module recurses, so a body nested thousands deep must be refused
    before it is parsed; this scans iteratively and gives up counting past `stop_after`.
    Brackets inside strings are skipped.
    """
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    level = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            level += 1
            if level > deepest:
                deepest = level
                if deepest > stop_after:
                    return deepest
        elif char in "]}":
            level -= 1
    return deepest
