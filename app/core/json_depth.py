"""How deeply a raw JSON document nests, measured before it is parsed."""


def json_nesting_depth(raw: bytes | str, stop_after: int = 128) -> int:
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
