"""The SQL back end agrees with the Python back end on generated rules and customers.

Matched rule, category, every leaf and the borderline flag are compared.

Hypothesis draws rulesets (all operators, nested all/any/not, equal thresholds, both hit
policies) and customer rows (nulls, boundaries, empty lists); the rows go into a
temporary table in a real PostgreSQL, the compiled SQL runs over them, and every row's
matched rule, category and per-leaf outcome must equal the Python evaluator's.
"""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    Numeric,
    Text,
    column,
    insert,
    null,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from app.rules.language.compile_sql import (
    MissingColumn,
    compile_condition,
    compile_ruleset,
    worst_value_per_score,
)
from app.rules.language.evaluate import Evaluator
from app.rules.language.parse_text import parse_text
from app.rules.language.quantiles import (
    CutPoints,
    ScoreKey,
    cut_points_from,
    lower_is_better,
    population_cut_points,
    score_keys,
)
from app.rules.language.tree import Condition, Rule, Ruleset, iter_leaves
from tests.conftest import PostgresServer
from tests.rules.language.generators import (
    AS_OF,
    CATALOG,
    FIELDS,
    customer_rows,
    rulesets,
    scored_rulesets,
)

_SQL_TYPES = {"numeric": Numeric(), "integer": Integer(), "date": Date(), "text": Text(),
              "text[]": ARRAY(Text()), "boolean": Boolean()}  # fmt: skip
CUSTOMERS = table(
    "rules_diff_customers",
    column("id", Integer()),
    *(column(key, _SQL_TYPES[sql_type]) for key, sql_type in FIELDS.items()),
)
COLUMNS = {key: CUSTOMERS.c[key] for key in FIELDS}


@dataclass
class RulesDatabase:
    """One connection to a PostgreSQL server with the customers table, driven from sync
    tests (hypothesis) through a private event loop."""

    runner: asyncio.Runner
    conn: AsyncConnection

    def rows(self, customers: list[dict[str, Any]], ruleset: Ruleset, as_of: date) -> list[Any]:
        return self.runner.run(self._rows(customers, ruleset, as_of))[0]

    def scored_rows(
        self, customers: list[dict[str, Any]], ruleset: Ruleset, as_of: date
    ) -> tuple[list[Any], dict[ScoreKey, tuple[Decimal, ...]]]:
        """The rows, scored over the customers as the population, and the cut points the
        window functions found."""
        return self.runner.run(self._rows(customers, ruleset, as_of))

    async def _sql_cut_points(self, ruleset: Ruleset) -> dict[ScoreKey, tuple[Decimal, ...]]:
        found = {}
        for key in score_keys([ruleset]):
            definition = CATALOG.get(key.field)
            assert definition is not None
            lower = lower_is_better(definition)
            query = worst_value_per_score(COLUMNS[key.field], CUSTOMERS, [], key.buckets, lower)
            worst = {score: value for score, value, _ in await self.conn.execute(query)}
            found[key] = cut_points_from(worst, key.buckets, lower)
        return found

    async def _rows(
        self, customers: list[dict[str, Any]], ruleset: Ruleset, as_of: date
    ) -> tuple[list[Any], dict[ScoreKey, tuple[Decimal, ...]]]:
        await self.conn.execute(
            insert(CUSTOMERS), [{"id": i, **row} for i, row in enumerate(customers)]
        )
        try:
            cut_points = await self._sql_cut_points(ruleset)
            return await self._query(ruleset, as_of, cut_points), cut_points
        finally:
            # The rows live only in this example's transaction.
            await self.conn.rollback()

    async def _query(
        self, ruleset: Ruleset, as_of: date, cut_points: dict[ScoreKey, tuple[Decimal, ...]]
    ) -> list[Any]:
        compiled = compile_ruleset(ruleset, COLUMNS, as_of, CATALOG, cut_points=cut_points)
        first_rule = ruleset.rules[0].when if ruleset.rules else parse_text("region is null")
        inner = select(
            CUSTOMERS.c.id,
            *compiled.columns(),
            *compiled.near_columns(),
            compiled.borderline().label("borderline"),
            # (A standalone condition has no scores: left out when the first rule has some.)
            (
                null()
                if _has_scores(first_rule)
                else compile_condition(first_rule, COLUMNS, as_of, CATALOG)
            ).label("first_rule"),
        ).subquery()
        # The decision again, computed over the selected leaf columns instead.
        over = [inner.c[f"leaf_{i}"] for i in range(len(compiled.leaves))]
        near_over = {i: inner.c[f"near_{i}"] for i, n in enumerate(compiled.near) if n is not None}
        query = select(
            inner,
            compiled.matched_rule(over).label("matched_over"),
            compiled.category(over).label("category_over"),
            compiled.borderline(over, near_over).label("borderline_over"),
        ).order_by(inner.c.id)
        return list((await self.conn.execute(query)).mappings())


@pytest.fixture(scope="session")
def rules_db(postgres: PostgresServer) -> Iterator[RulesDatabase]:
    """The suite's PostgreSQL (embedded or CRMC_TEST_DATABASE_URL's) with a temp table."""
    url = postgres.admin_url
    runner = asyncio.Runner()
    engine = create_async_engine(url, poolclass=NullPool)
    columns = ", ".join(f"{key} {sql_type}" for key, sql_type in FIELDS.items())

    async def connect() -> AsyncConnection:
        conn = await engine.connect()
        await conn.execute(text(f"CREATE TEMP TABLE rules_diff_customers (id integer, {columns})"))
        await conn.commit()
        return conn

    conn = runner.run(connect())
    try:
        yield RulesDatabase(runner, conn)
    finally:
        runner.run(conn.close())
        runner.run(engine.dispose())
        runner.close()


def _assert_same(
    ruleset: Ruleset,
    customers: list[dict[str, Any]],
    rows: list[Any],
    cut_points: CutPoints | None = None,
) -> None:
    evaluator = Evaluator(ruleset, CATALOG, cut_points=cut_points)
    assert len(rows) == len(customers)
    for customer, row in zip(customers, rows, strict=True):
        expected = evaluator.evaluate(customer, AS_OF)
        context = {"customer": customer, "sql": dict(row)}
        leaves = [row[f"leaf_{o.index}"] for o in expected.conditions]
        assert leaves == [o.passed for o in expected.conditions], context
        if ruleset.hit_policy == "first":
            assert row["matched_rule"] == expected.rule_index, context
            assert row["category"] == expected.category, context
        else:
            assert row["matched_rule"] == list(expected.matched), context
            assert row["category"] == list(expected.categories), context
        assert (row["matched_over"], row["category_over"]) == (
            row["matched_rule"],
            row["category"],
        )
        assert row["borderline"] is expected.borderline, context
        assert row["borderline_over"] is expected.borderline, context
        if row["first_rule"] is not None:
            first = expected.rule_matches[0] if ruleset.rules else customer["region"] is None
            assert row["first_rule"] is first, context


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(rulesets(), st.lists(customer_rows(), min_size=1, max_size=30))
def test_sql_and_python_agree_on_every_row(
    rules_db: RulesDatabase, ruleset: Ruleset, customers: list[dict[str, Any]]
) -> None:
    _assert_same(ruleset, customers, rules_db.rows(customers, ruleset, AS_OF))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scored_rulesets(), st.lists(customer_rows(), min_size=1, max_size=30))
def test_sql_and_python_agree_on_scores_given_the_same_cut_points(
    rules_db: RulesDatabase, ruleset: Ruleset, customers: list[dict[str, Any]]
) -> None:
    rows, cut_points = rules_db.scored_rows(customers, ruleset, AS_OF)
    # The window functions' cut points are the Python definition's over the same values.
    for key, cuts in cut_points.items():
        definition = CATALOG.get(key.field)
        assert definition is not None
        values = [c[key.field] for c in customers]
        assert cuts == population_cut_points(values, key.buckets, lower_is_better(definition))
    _assert_same(ruleset, customers, rows, cut_points)


def test_sql_and_python_agree_on_hand_picked_edges(rules_db: RulesDatabase) -> None:
    when = parse_text(
        'not (order_amount_12m between 10 and 10.00 or tags contains "") '
        "and last_order_date not within last 0 days "
        'and (industry contains "" or region not in ("华东")) and attr_vip != true',
        CATALOG,
    )
    ruleset = Ruleset((Rule("edge", "A", when),), hit_policy="first")
    customers = [
        {key: None for key in FIELDS},
        {**{key: None for key in FIELDS}, "order_amount_12m": 10, "tags": [],
         "last_order_date": AS_OF, "industry": "", "region": "华东", "attr_vip": False},
    ]  # fmt: skip
    _assert_same(ruleset, customers, rules_db.rows(customers, ruleset, AS_OF))


def test_a_field_without_a_column_is_refused() -> None:
    ruleset = Ruleset((Rule("r", "A", parse_text("cooperation_months > 0")),))
    with pytest.raises(MissingColumn):
        compile_ruleset(ruleset, COLUMNS, AS_OF, CATALOG)


def test_rule_values_are_bound_parameters_never_sql_text() -> None:
    hostile = "x'); DROP TABLE customers; --"
    ruleset = Ruleset((Rule("r", "A'; --", parse_text(f'region = "{hostile}"')),))
    compiled = compile_ruleset(ruleset, COLUMNS, AS_OF, CATALOG)
    sql = select(*compiled.columns()).compile()
    assert hostile not in str(sql)
    assert "A'; --" not in str(sql)
    assert hostile in sql.params.values()


def _has_scores(node: Condition) -> bool:
    return any(leaf.score is not None for leaf in iter_leaves(node))
