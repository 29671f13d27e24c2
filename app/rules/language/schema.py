"""The Rules JSON (design: Rules) as a pydantic schema, for the OpenAPI document.

The service reads rules with `parse_json.py` (every problem with its JSON path, in
Chinese or English) and types them against the tenant's field catalog with
`validate.py`; these models only describe, for clients and their generators, the shapes
that reader accepts and the service answers: a condition is `all` | `any` | `not` | a
leaf with `field`, an `op` from the operator list and a `value` typed by the operator.
Which fields exist and which operators a field's type allows is data (`GET
/api/v1/fields`), not schema. `tests/rules/language/test_schema.py` keeps the two in step.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from typing_extensions import TypeAliasType

from app.core.openapi import component_schema
from app.rules.language.limits import MAX_CONDITIONS, MAX_DEPTH
from app.rules.language.values import MAX_WINDOW_DAYS

# The pattern of a decimal written as a string (money and other decimals; "500000.00").
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"

Operator = TypeAliasType(
    "Operator",
    Literal[
        "eq",
        "ne",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "in",
        "not_in",
        "contains",
        "within_last_days",
        "not_within_last_days",
        "is_null",
        "is_not_null",
    ],
)
"""Every operator of the rule language (`app.catalog.OPERATORS`, in the same order)."""

ScoreKind = TypeAliasType("ScoreKind", Literal["ntile", "rank_pct"])
"""The scores a leaf may compare (`app.rules.language.tree.ScoreKind`)."""

RuleScalar = TypeAliasType(
    "RuleScalar",
    Annotated[
        StrictBool | float | str,
        Field(
            description="One value to compare with: a number (a JSON number, or a decimal "
            'string such as "500000.00" for money), a date `YYYY-MM-DD`, an enum value or '
            "text, or a boolean — as the field's type requires (`GET /api/v1/fields`)"
        ),
    ],
)


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Scorable(_Node):
    """A leaf that may compare the customer's population-relative score (`score`, `k`)
    instead of the value itself."""

    # `k` goes with `"score": "ntile"` (which needs it) and only with it, as the reader
    # checks (parse_json.py): said in the schema so generated leaves keep to it.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"required": ["score"], "properties": {"score": {"const": "ntile"}}},
            "then": {"required": ["k"], "properties": {"k": {"type": "integer"}}},
            "else": {"not": {"required": ["k"]}},
        }
    )

    score: ScoreKind | None = Field(
        default=None,
        description="Compare the customer's score instead of the value: `ntile` (1..k, k = "
        "best) or `rank_pct` (1..100) among the customers in the run's scope",
    )
    k: Annotated[int, Field(ge=2, le=100)] | None = Field(
        default=None, description="Buckets of `ntile` (only with it)"
    )


class ComparisonCondition(_Scorable):
    """`field op value`: equal, not equal, greater or less (than or equal), or contains
    (text contains the value; a list field holds it)."""

    field: str = Field(description="A field key from `GET /api/v1/fields`")
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "contains"]
    value: RuleScalar


class BetweenCondition(_Scorable):
    """The field's value lies in `[low, high]`, both included."""

    field: str = Field(description="A field key from `GET /api/v1/fields`")
    op: Literal["between"]
    value: Annotated[list[RuleScalar], Field(min_length=2, max_length=2, description="[low, high]")]


class ListCondition(_Node):
    """The field's value is (`in`) or is not (`not_in`) one of the listed values."""

    field: str = Field(description="A field key from `GET /api/v1/fields`")
    op: Literal["in", "not_in"]
    value: Annotated[list[RuleScalar], Field(min_length=1)]


class WindowCondition(_Node):
    """A date field is (or is not) within the last `value` days before as_of."""

    field: str = Field(description="A date field's key from `GET /api/v1/fields`")
    op: Literal["within_last_days", "not_within_last_days"]
    value: (
        Annotated[int, Field(ge=0, le=MAX_WINDOW_DAYS)]
        | Annotated[str, Field(pattern=r"^\s*\d+(\.0+)?\s*$")]
    ) = Field(description=f"Whole days, 0 to {MAX_WINDOW_DAYS}")


class NullCondition(_Node):
    """The field has no value (`is_null`) or has one (`is_not_null`); no `value`."""

    field: str = Field(description="A field key from `GET /api/v1/fields`")
    op: Literal["is_null", "is_not_null"]
    value: None = Field(default=None, description="Absent or null")


LeafCondition = TypeAliasType(
    "LeafCondition",
    Annotated[
        ComparisonCondition | BetweenCondition | ListCondition | WindowCondition | NullCondition,
        Field(discriminator="op"),
    ],
)


class AllCondition(_Node):
    """True when every condition in `all` is true."""

    all: Annotated[list[Condition], Field(min_length=1)]


class AnyCondition(_Node):
    """True when at least one condition in `any` is true."""

    any: Annotated[list[Condition], Field(min_length=1)]


class NotCondition(_Node):
    """True when the condition in `not` is false (a leaf on a missing value is false
    first, so `not` of it is true)."""

    not_: Condition = Field(alias="not")


Condition = TypeAliasType(
    "Condition",
    Annotated[
        AllCondition | AnyCondition | NotCondition | LeafCondition,
        Field(
            description=f"A condition in JSON: a group (`all`, `any`), a negation (`not`) or "
            f"a comparison (a leaf); at most {MAX_DEPTH} levels deep and {MAX_CONDITIONS} "
            "leaves in a whole ruleset"
        ),
    ],
)

ConditionText = Annotated[
    str,
    Field(
        description="A condition as a text expression, e.g. "
        "`order_amount_12m >= 500000 and interactions_6m >= 10` (Chinese field labels "
        "and 且/或/非 too); kept as text when stored"
    ),
]

Expression = TypeAliasType(
    "Expression",
    Annotated[
        Condition | ConditionText,
        Field(description="A condition, in JSON or as a text expression"),
    ],
)


class RuleContent(_Node):
    """A rule but for its key (how a diff shows a rule before and after)."""

    name: str | None = None
    category: Annotated[str, Field(min_length=1, description="A category code of the tree")]
    when: Expression
    tags: list[str] = Field(default_factory=list)
    next_action: str | None = Field(default=None, description="Suggested next step")


class Rule(RuleContent):
    """A named condition that puts a customer into `category`."""

    key: Annotated[str, Field(min_length=1, description="Unique within the ruleset")]


class RulesetBody(_Node):
    """The body of a ruleset version, exactly the Rules JSON: rules tried in order;
    `first` puts a customer in the category of the first rule that matches, `collect`
    in the categories of every rule that matches (multi-assign trees only); no match
    gives `default_category`."""

    hit_policy: Literal["first", "collect"] = "first"
    default_category: Annotated[str, Field(min_length=1)] = "DEFAULT"
    borderline_margin: Annotated[float, Field(ge=0, lt=1)] = Field(
        default=0.05,
        description="A customer within this fraction of a deciding threshold is borderline",
    )
    rules: list[Rule]


# Fields that hold Rules JSON: typed as the service reads them (the rule language checks
# them, with every problem at its path), documented as the schemas above.
RulesJson = Annotated[dict[str, Any], component_schema(RulesetBody)]
ExpressionJson = Annotated[dict[str, Any] | str, component_schema(RulesetBody, "Expression")]


# What the service answers about rules -------------------------------------------------

RuleValue = TypeAliasType(
    "RuleValue",
    Annotated[
        StrictBool | int | str | list[StrictBool | int | str | None] | None,
        Field(
            description="A threshold or a customer's value as the service answers it: "
            "money and other decimals as strings in plain notation (pattern "
            f'`{DECIMAL_PATTERN}`, e.g. "500000" or "350000.5"), whole numbers (counts, '
            "days) as integers, dates as `YYYY-MM-DD`, a list for `in`/`between` and list "
            "fields, null for no value"
        ),
    ],
)


ConditionValue = TypeAliasType(
    "ConditionValue",
    Annotated[
        RuleScalar | list[RuleScalar] | None,
        Field(description="The `value` of a leaf as written in the Rules JSON"),
    ],
)


class RuleRef(BaseModel):
    """A rule of a ruleset by its key, with its name."""

    key: str
    name: str | None


class ConditionOutcome(BaseModel):
    """One condition (leaf) of a matched rule, and whether the customer met it."""

    index: int = Field(description="The leaf's number in the ruleset, in document order")
    path: list[str | int] = Field(description="The leaf's JSON path within its rule's `when`")
    field: str
    label: str = Field(description="The field's label in the caller's language")
    op: Operator
    threshold: RuleValue
    actual: RuleValue
    passed: bool
    text: str = Field(description="The condition in words, with the customer's value")


class WhyNotCondition(BaseModel):
    """A rule tried before the match that did not match, said by its first unmet
    condition (under a `not`, `op` is the negated operator as it counted)."""

    rule: RuleRef
    field: str
    label: str
    op: Operator
    threshold: RuleValue
    actual: RuleValue
    gap: RuleValue = Field(
        description="By how much the value missed (in the field's unit; days for dates), "
        "null when there is no distance to say"
    )
    text: str


class WhyNotRule(BaseModel):
    """A rule tried before the match that did not match, with no condition to name."""

    rule: RuleRef
    text: str


WhyNot = TypeAliasType(
    "WhyNot",
    Annotated[
        WhyNotCondition | WhyNotRule,
        Field(description="Why a rule tried before the match did not match"),
    ],
)


FieldValue = TypeAliasType(
    "FieldValue",
    Annotated[
        StrictBool | float | str | None,
        Field(
            description="A field's value typed in by hand: a number (a decimal string such "
            'as "650000.00" for money, or a JSON number), a date `YYYY-MM-DD`, an enum '
            "value or text, a boolean, or null for no value — as the field's type requires"
        ),
    ],
)


class Rationale(BaseModel):
    """Why: the sentence, each condition of the matched rule(s), and why earlier rules
    missed."""

    text: str
    conditions: list[Annotated[dict[str, Any], component_schema(ConditionOutcome)]]
    why_not: list[Annotated[dict[str, Any], component_schema(WhyNot)]]


class SampleRationale(Rationale):
    """A rationale with the matched rule and whether the customer is borderline."""

    rule: RuleRef | None
    borderline: bool
