"""The peer pipeline of bench/runs.py: what a run costs with GoRules zen-engine instead.

Read the same values out (the fields the trees read, for every customer, streamed),
evaluate each customer in each tree with zen-engine and its trace, and write one row per
customer and tree back with COPY: category, rule and the decision table's trace (the
values it read and the row that matched — zen's counterpart of our rationale).

Each ruleset becomes one JDM decision table (hit policy first) whose single input column
has no field, so a cell is a whole ZEN expression: one row per rule, its condition
translated from our rule tree, and a catch-all row for the default category. Each tree
is handed only the fields its rules read; money goes in as float (zen's Python binding
takes no Decimal), dates as ISO text compared with `date(…)`.
"""

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import zen
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from app.catalog import BUILTIN_CATALOG
from app.facts.columns import customer_columns
from app.facts.metrics import planned_for_many_customers
from app.models import Customer
from app.rules.language.tree import All, Condition, Leaf, Not, Ruleset
from app.rules.language.tree import Any as AnyOf

PEER_TABLE = "bench_peer_results"
BATCH = 10_000
COMPARISONS = {"eq": "==", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _date_within(name: str, days: int, as_of: date) -> str:
    start = (as_of - timedelta(days=days)).isoformat()
    return f'(date({name}) > date("{start}") and date({name}) <= date("{as_of.isoformat()}"))'


def zen_expression(node: Condition, as_of: date) -> str:
    """Our condition as a ZEN expression over the context's fields (null compares false,
    as in our language)."""
    if isinstance(node, All):
        return " and ".join(f"({zen_expression(i, as_of)})" for i in node.items)
    if isinstance(node, AnyOf):
        return " or ".join(f"({zen_expression(i, as_of)})" for i in node.items)
    if isinstance(node, Not):
        return f"not ({zen_expression(node.item, as_of)})"
    assert isinstance(node, Leaf)
    name, op, value = node.field, node.op, node.value
    if op == "is_null":
        return f"{name} == null"
    if op == "is_not_null":
        return f"{name} != null"
    if op == "between":
        low, high = value  # type: ignore[misc]
        return f"{name} != null and {name} >= {_literal(low)} and {name} <= {_literal(high)}"
    if op == "within_last_days":
        return f"{name} != null and {_date_within(name, int(value), as_of)}"  # type: ignore[arg-type]
    if op == "not_within_last_days":
        return f"{name} != null and not {_date_within(name, int(value), as_of)}"  # type: ignore[arg-type]
    if op in ("in", "not_in"):
        items = ", ".join(_literal(v) for v in value)  # type: ignore[union-attr]
        test = f"{name} in [{items}]"
        return f"{name} != null and " + (test if op == "in" else f"not ({test})")
    return f"{name} != null and {name} {COMPARISONS[op]} {_literal(value)}"


def zen_model(name: str, ruleset: Ruleset, as_of: date) -> dict[str, Any]:
    """The ruleset as a JDM graph: input → decision table (hit policy first) → output."""
    rows = [
        {
            "_id": rule.key,
            "when": zen_expression(rule.when, as_of),
            "category": json.dumps(rule.category),
            "rule": json.dumps(rule.key),
        }
        for rule in ruleset.rules
    ]
    rows.append({"_id": "default", "when": "", "category": json.dumps(ruleset.default_category)})
    table = {
        "hitPolicy": "first",
        "inputs": [{"id": "when", "name": "条件"}],
        "outputs": [
            {"id": "category", "name": "category", "field": "category"},
            {"id": "rule", "name": "rule", "field": "rule"},
        ],
        "rules": rows,
    }
    at = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "customer", "position": at},
            {"id": "table", "type": "decisionTableNode", "name": name, "position": at,
             "content": table},
            {"id": "out", "type": "outputNode", "name": "result", "position": at},
        ],
        "edges": [
            {"id": "e1", "sourceId": "in", "targetId": "table", "type": "edge"},
            {"id": "e2", "sourceId": "table", "targetId": "out", "type": "edge"},
        ],
    }  # fmt: skip


@dataclass
class PeerTimes:
    """Seconds spent per phase of one peer run (sequential, one process)."""

    read: float = 0.0
    evaluate: float = 0.0
    write: float = 0.0
    total: float = 0.0
    rows: int = 0
    categories: dict[tuple[str, str], int] = field(default_factory=dict)


def _context(row: Any, fields: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(row, name)
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, date):
            value = value.isoformat()
        out[name] = value
    return out


async def create_peer_table(conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {PEER_TABLE} (run_id uuid, tree smallint, "
            "customer_id uuid, category text, rule text, trace jsonb, "
            "PRIMARY KEY (run_id, tree, customer_id))"
        )
    )


async def peer_pipeline(
    url: str, tenant_id: uuid.UUID, as_of: date, trees: dict[str, tuple[Ruleset, list[str]]]
) -> PeerTimes:
    """One peer run over every customer of the tenant: the rows become visible at its end
    (one write transaction), like a run's."""
    engine = zen.ZenEngine(
        {
            "loader": {
                "type": "static",
                "content": {key: zen_model(key, rules, as_of) for key, (rules, _) in trees.items()},
            }
        }
    )
    fields = sorted({f for _, wanted in trees.values() for f in wanted})
    joined, columns = customer_columns(tenant_id, as_of, BUILTIN_CATALOG)
    statement = (
        select(Customer.id.label("customer_id"), *(columns[f].label(f) for f in fields))
        .select_from(joined)
        .where(Customer.tenant_id == tenant_id)
    )
    run_id = uuid.uuid4()
    options: Any = {"trace": True}
    times = PeerTimes()
    db = create_async_engine(url, poolclass=NullPool)
    started = time.perf_counter()
    async with db.connect() as reader, db.connect() as writer:
        raw = (await writer.get_raw_connection()).driver_connection
        assert raw is not None
        await writer.begin()
        async with reader.begin(), planned_for_many_customers(reader):
            tick = time.perf_counter()
            stream = await reader.stream(statement.execution_options(yield_per=BATCH))
            async for batch in stream.partitions(BATCH):
                now = time.perf_counter()
                times.read += now - tick
                records = []
                for row in batch:
                    for position, (key, (_, wanted)) in enumerate(trees.items()):
                        decided = engine.evaluate(key, _context(row, wanted), options)
                        result = decided["result"]
                        trace = decided["trace"]["table"]
                        kept = {"input": trace["input"], "rule": trace["traceData"]["rule"]}
                        records.append(
                            (run_id, position, row.customer_id, result["category"],
                             result.get("rule"), json.dumps(kept, ensure_ascii=False))
                        )  # fmt: skip
                        pair = (key, result["category"])
                        times.categories[pair] = times.categories.get(pair, 0) + 1
                tick = time.perf_counter()
                times.evaluate += tick - now
                await raw.copy_records_to_table(
                    PEER_TABLE,
                    records=records,
                    columns=["run_id", "tree", "customer_id", "category", "rule", "trace"],
                )
                times.rows += len(records)
                tick2 = time.perf_counter()
                times.write += tick2 - tick
                tick = tick2
        await writer.commit()
    times.total = time.perf_counter() - started
    await db.dispose()
    return times
