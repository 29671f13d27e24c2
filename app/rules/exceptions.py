"""Errors of the rules domain that other domains raise too."""

from app.core.errors import Conflict
from app.core.i18n import Text


class UsedByPublishedRules(Conflict):
    """Something a published rule references (a category, a custom field) cannot go;
    the problem names the rules ("v3:core") and lists them under `rules`."""

    def __init__(self, what: Text, rules: list[dict[str, object]]) -> None:
        names = ", ".join(f"v{r['version']}:{r['rule_key']}" for r in rules)
        super().__init__(
            Text(
                f"已发布的规则仍在使用该{what.zh}({names}),请先发布不再引用它的规则集版本",
                f"Published rules still use this {what.en} ({names}); publish a ruleset "
                "version without them first",
            ),
            extra={"rules": rules},
        )
