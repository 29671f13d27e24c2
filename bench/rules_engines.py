"""Our two rule back ends against GoRules zen-engine, on the same ruleset and data.

The ruleset is seed 002's 客户关系划分 (`TEMPLATES["relationship"]`: 核心/潜力/普通/低价值
by order_amount_12m, interactions_6m, inquiries_6m; hit policy first). zen-engine gets
the equivalent decision table (hit policy first, one row per `or` branch, a catch-all
default row) and is evaluated with `trace: True`, its counterpart of our rationale.

Measured in one run on the 1M-customer database that bench/load_demo.py leaves:

- the three metric values of `--rows` customers are fetched once into memory (with the
  SQL back end's category for the same rows); only the evaluation loops are timed:
  - Python back end: `Evaluator.evaluate` + `explain(…, "zh-CN").to_dict()` (the full
    rationale: conditions, sentence, why_not, borderline), and `evaluate` alone;
  - zen-engine: `ZenEngine.evaluate(key, context, {"trace": True})` (static loader; the
    fastest call we found) with a dict context (money as float: zen's Python binding
    rejects Decimal) and with a JSON text context (exact decimals); for reference also
    without trace, and through `create_decision(…).evaluate` (much slower per call);
- every row's category and matched rule must agree between Python and zen-engine, and
  the category between Python and SQL;
- SQL back end: the compiled ruleset over every customer of the tenant, consumed
  server-side (`GROUP BY category`), best of `--repeats`; once with the category only
  and once also computing the matched rule and the per-condition booleans (what a stored
  run keeps to rebuild the rationale). Like for like with zen-engine, which is handed
  values already computed, the headline figure evaluates over the customers' values
  computed once into a table (`materialise_values`, as a run over several trees does;
  its time is printed apart); the end-to-end figure with the metrics aggregated from the
  activity tables in the same statement is printed beside it.

Goal (issue 6): Python with rationale ≥ zen-engine with trace; SQL ≥ 10 × zen-engine.

    python bench/rules_engines.py [--database-url …] [--tenant-id …] [--as-of YYYY-MM-DD]
    (defaults: the 1M-customer database bench_demo that bench/load_demo.py leaves in
    --data-dir, see bench/common.py)
"""

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zen
from sqlalchemy import Integer, Select, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from app.catalog import BUILTIN_CATALOG
from app.facts.columns import customer_columns
from app.facts.values import materialise_values
from app.models import Customer
from app.rules.language.compile_sql import CompiledRuleset, compile_ruleset
from app.rules.language.evaluate import Evaluator
from app.rules.language.explain import explain
from app.rules.language.tree import Ruleset
from app.rules.language.validate import check_ruleset
from app.rules.templates import TEMPLATES
from bench.common import demo_arguments, demo_database, record, server_version

SESSION = ["SET work_mem = '512MB'", "SET max_parallel_workers_per_gather = 0"]
FIELDS = ("order_amount_12m", "interactions_6m", "inquiries_6m")

Row = dict[str, Any]


def _zen_row(rule_id: str, category: str, key: str | None, **tests: str) -> dict[str, str]:
    row = {"_id": rule_id, "amount": "", "interactions": "", "inquiries": ""}
    row.update(tests)
    row["category"] = json.dumps(category)
    row["rule"] = json.dumps(key)
    return row


def zen_model() -> dict[str, Any]:
    """The relationship ruleset as a JDM decision table (hit policy first).

    `between` is inclusive like zen's `[a..b]`; a decision-table row is a conjunction,
    so the potential rule's `or` becomes two rows with the same output, which is the
    same under `first`. Metrics are never null here (coalesced to 0), and zen's
    comparisons on null are false like ours anyway.
    """
    rules = [
        _zen_row("core", "CORE", "core", amount=">= 500000", interactions=">= 10"),
        _zen_row("potential-amount", "POTENTIAL", "potential", amount="[200000..500000]"),
        _zen_row("potential-inquiries", "POTENTIAL", "potential", inquiries="> 0"),
        _zen_row("regular", "REGULAR", "regular", amount="[50000..200000]"),
        _zen_row("default", "LOW", None),
    ]
    table = {
        "hitPolicy": "first",
        "inputs": [
            {"id": "amount", "name": "近12个月交易金额", "field": "order_amount_12m"},
            {"id": "interactions", "name": "近6个月互动", "field": "interactions_6m"},
            {"id": "inquiries", "name": "近6个月咨询次数", "field": "inquiries_6m"},
        ],
        "outputs": [
            {"id": "category", "name": "category", "field": "category"},
            {"id": "rule", "name": "rule", "field": "rule"},
        ],
        "rules": rules,
    }
    position = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "customer", "position": position},
            {
                "id": "table",
                "type": "decisionTableNode",
                "name": "客户关系划分",
                "position": position,
                "content": table,
            },
            {"id": "out", "type": "outputNode", "name": "result", "position": position},
        ],
        "edges": [
            {"id": "e1", "sourceId": "in", "targetId": "table", "type": "edge"},
            {"id": "e2", "sourceId": "table", "targetId": "out", "type": "edge"},
        ],
    }


def _rate(loop: Callable[[], object], count: int) -> float:
    """Rows per second of one call of `loop` (which evaluates `count` rows)."""
    started = time.perf_counter()
    loop()
    return count / (time.perf_counter() - started)


async def _best(conn: AsyncConnection, statement: Any, repeats: int) -> tuple[float, list[Any]]:
    best, rows = float("inf"), []
    for _ in range(repeats):
        started = time.perf_counter()
        rows = list((await conn.execute(statement)).all())
        best = min(best, time.perf_counter() - started)
    return best, rows


def _distributions(base: Select[Any], compiled: CompiledRuleset) -> tuple[Any, Any]:
    """Customers per category over `base` (consumed server-side), and the same with the
    matched rule and every condition boolean computed and summed."""
    decided = base.add_columns(compiled.category().label("category")).subquery("c")
    by_category = select(decided.c.category, func.count()).group_by(decided.c.category)
    leaves = compiled.leaf_columns()
    full = base.add_columns(
        compiled.category().label("category"), compiled.matched_rule().label("rule"), *leaves
    ).subquery("e")
    with_leaves = select(
        full.c.category,
        func.count(),
        func.count(full.c.rule),
        *(func.sum(cast(full.c[leaf.name], Integer)) for leaf in leaves),
    ).group_by(full.c.category)
    return by_category, with_leaves


async def main(url: str, tenant_id: uuid.UUID, as_of: date, rows: int, repeats: int) -> None:
    ruleset: Ruleset = check_ruleset(TEMPLATES["relationship"]["ruleset"], BUILTIN_CATALOG)
    joined, columns = customer_columns(tenant_id, as_of, BUILTIN_CATALOG)
    compiled = compile_ruleset(ruleset, columns, as_of, BUILTIN_CATALOG)
    base = select(Customer.id).select_from(joined).where(Customer.tenant_id == tenant_id)

    sample_query = base.add_columns(
        *(columns[f].label(f) for f in FIELDS), compiled.category().label("category")
    ).limit(rows)
    by_category, with_leaves = _distributions(base, compiled)
    leaves = compiled.leaf_columns()

    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as conn:
        for setting in SESSION:
            await conn.execute(text(setting))
        fetched = (await conn.execute(sample_query)).all()
        live_seconds, distribution = await _best(conn, by_category, repeats)
        live_leaves_seconds, _ = await _best(conn, with_leaves, repeats)
        # Like for like with zen-engine, which is handed values already computed: the
        # values of every customer once in a table (what a run with several trees does),
        # then the compiled ruleset over it.
        started = time.perf_counter()
        values_table = await materialise_values(conn, tenant_id, as_of, BUILTIN_CATALOG, FIELDS)
        materialise_seconds = time.perf_counter() - started
        over = compile_ruleset(
            ruleset, {f: values_table.c[f] for f in FIELDS}, as_of, BUILTIN_CATALOG
        )
        over_category, over_with_leaves = _distributions(select(values_table.c.customer_id), over)
        sql_seconds, over_distribution = await _best(conn, over_category, repeats)
        leaves_seconds, _ = await _best(conn, over_with_leaves, repeats)
        await conn.rollback()
    await engine.dispose()
    customers = sum(count for _, count in distribution)
    same_distribution = sorted(distribution) == sorted(over_distribution)

    values: list[Row] = [{f: getattr(r, f) for f in FIELDS} for r in fetched]
    sql_categories = [r.category for r in fetched]
    n = len(values)
    # zen's Python binding takes no Decimal: a dict with floats, or exact JSON text.
    zen_dicts = [
        {f: float(v) if isinstance(v, Decimal) else v for f, v in r.items()} for r in values
    ]
    zen_texts = [
        "{"
        + ", ".join(f'"{f}": {"null" if v is None else format(v, "f")}' for f, v in r.items())
        + "}"
        for r in values
    ]

    evaluator = Evaluator(ruleset, BUILTIN_CATALOG)
    model = zen_model()
    zen_engine = zen.ZenEngine({"loader": {"type": "static", "content": {"relationship": model}}})
    decision = zen_engine.create_decision(json.dumps(model, ensure_ascii=False))
    trace: Any = {"trace": True}
    no_trace: Any = {"trace": False}

    # Agreement first (also warms both up).
    ours = [evaluator.evaluate(v, as_of) for v in values]
    theirs = [zen_engine.evaluate("relationship", c, trace)["result"] for c in zen_dicts]
    theirs_text = [zen_engine.evaluate("relationship", c, trace)["result"] for c in zen_texts]
    disagreements: list[str] = []
    agree = 0
    for v, mine, zd, zt, sql in zip(values, ours, theirs, theirs_text, sql_categories, strict=True):
        key = mine.rule.key if mine.rule is not None else None
        same = (
            (zd["category"], zd.get("rule"))
            == (mine.category, key)
            == (
                zt["category"],
                zt.get("rule"),
            )
        )
        if same and sql == mine.category:
            agree += 1
        elif len(disagreements) < 5:
            disagreements.append(f"{v}: python {mine.category}/{key}, zen {zd}/{zt}, sql {sql}")

    def python_rationale() -> None:
        for v in values:
            explain(evaluator.evaluate(v, as_of), BUILTIN_CATALOG, "zh-CN").to_dict()

    def python_bare() -> None:
        for v in values:
            evaluator.evaluate(v, as_of)

    def zen_loop(contexts: Sequence[Any], options: Any) -> Callable[[], None]:
        def loop() -> None:
            for c in contexts:
                zen_engine.evaluate("relationship", c, options)

        return loop

    def zen_decision_loop() -> None:
        for c in zen_dicts:
            decision.evaluate(c, trace)

    py_rationale = _rate(python_rationale, n)
    py_bare = _rate(python_bare, n)
    zen_trace = _rate(zen_loop(zen_dicts, trace), n)
    zen_trace_text = _rate(zen_loop(zen_texts, trace), n)
    zen_plain = _rate(zen_loop(zen_dicts, no_trace), n)
    zen_decision = _rate(zen_decision_loop, n)
    sql_rate = customers / sql_seconds
    sql_leaves_rate = customers / leaves_seconds
    live_rate = customers / live_seconds
    shares = ", ".join(f"{c} {k:,}" for c, k in sorted(distribution))

    record(
        "Rule back ends vs GoRules zen-engine (seed 002 客户关系划分)",
        [
            f"zen-engine {version('zen-engine')} (`ZenEngine.evaluate`, static loader, decision "
            "table with hit policy first, 5 rows); Python back end `Evaluator` + `explain(zh-CN)`; "
            "one process, one core each",
            f"{n:,} customers' metrics fetched once, loops timed over the same rows; "
            f"agreement Python = zen-engine (category and rule, dict and JSON contexts) = SQL "
            f"(category): **{agree:,} / {n:,}**"
            + (f"; disagreements: {'; '.join(disagreements)}" if disagreements else ""),
            f"Python back end with full rationale: **{py_rationale:,.0f} decisions/s** "
            f"(evaluate only: {py_bare:,.0f}/s)",
            f"zen-engine with trace: **{zen_trace:,.0f} decisions/s** (dict context, money "
            f"as float); JSON-text context (exact decimals): {zen_trace_text:,.0f}/s; "
            f"without trace: {zen_plain:,.0f}/s; "
            f"`create_decision(…).evaluate` with trace: {zen_decision:,.0f}/s",
            f"SQL back end at {customers:,} customers over their values computed once "
            f"(`materialise_values`: {materialise_seconds:.2f} s): {sql_seconds:.2f} s, "
            f"**{sql_rate:,.0f} customers/s** (category, `GROUP BY category` server-side, best "
            f"of {repeats}); with matched rule and {len(leaves)} condition booleans: "
            f"{leaves_seconds:.2f} s, {sql_leaves_rate:,.0f}/s; session {'; '.join(SESSION)}",
            f"SQL back end end to end (metrics aggregated from the activity tables in the same "
            f"statement): {live_seconds:.2f} s, {live_rate:,.0f} customers/s; with the "
            f"condition booleans {live_leaves_seconds:.2f} s; same distribution as over the "
            f"values table: {'yes' if same_distribution else 'NO'}",
            f"distribution at 1M: {shares}",
            f"**Python / zen-engine-with-trace = {py_rationale / zen_trace:.2f}×** (goal ≥ 1×); "
            f"**SQL / zen-engine-with-trace = {sql_rate / zen_trace:.1f}×** (goal ≥ 10×; "
            f"with condition booleans {sql_leaves_rate / zen_trace:.1f}×; end to end "
            f"{live_rate / zen_trace:.1f}×)",
        ],
        postgres=await server_version(url),
    )


if __name__ == "__main__":
    parser = demo_arguments(__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    url, tenant, as_of, server = demo_database(args)
    asyncio.run(main(url, tenant, as_of, args.rows, args.repeats))
