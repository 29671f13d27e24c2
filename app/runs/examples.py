"""Examples of runs and results for the OpenAPI document (and openapi-examples/)."""

from typing import Any

_RUN_ID = "5e7d8c9b-0a1f-4e2d-8c3b-4a5f6e7d8c9b"
_TREE_ID = "3d6f0a52-8c1e-4b7a-9e2d-5f4c3b2a1908"
_CORE = {
    "id": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    "code": "CORE",
    "name": "核心客户",
    "path": ["CORE"],
}
_POTENTIAL = {
    "id": "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e",
    "code": "POTENTIAL",
    "name": "潜力客户",
    "path": ["POTENTIAL"],
}

RUN_CREATE_EXAMPLE: dict[str, Any] = {
    "tree_ids": [_TREE_ID],
    "scope": {"type": "all"},
    "as_of": "2026-11-25",
    "mode": "apply",
}
_TREE = {
    "tree_id": _TREE_ID,
    "key": "relationship",
    "name": "客户关系划分",
    "ruleset_id": "4c2b1a09-8f7e-4d6c-9b5a-3e2d1c0b9a87",
    "version": 2,
    "applied_at": None,
}
RUN_QUEUED_EXAMPLE: dict[str, Any] = {
    "id": _RUN_ID,
    "status": "queued",
    "mode": "apply",
    "as_of": "2026-11-25",
    "scope": {"type": "all"},
    "trees": [_TREE],
    "progress": {"done": 0, "total": None, "chunks_done": 0, "chunks_total": None},
    "counts": None,
    "drift": [],
    "timings": {},
    "waiting_for": None,
    "cancel_requested": False,
    "error": None,
    "created_by": "key:ops-console",
    "schedule_id": None,
    "created_at": "2026-11-25T02:00:00Z",
    "started_at": None,
    "finished_at": None,
}
RUN_EXAMPLE: dict[str, Any] = {
    **RUN_QUEUED_EXAMPLE,
    "status": "succeeded",
    "trees": [{**_TREE, "applied_at": "2026-11-25T02:00:41Z"}],
    "progress": {"done": 2000, "total": 2000, "chunks_done": 1, "chunks_total": 1},
    "counts": {
        "customers": 2000,
        "changed": 132,
        "locked_conflicts": 3,
        "trees": [
            {
                "tree_id": _TREE_ID,
                "categories": [
                    {"category": _POTENTIAL, "count": 1210},
                    {"category": _CORE, "count": 790},
                ],
                "changed": 132,
                "locked_conflicts": 3,
                "borderline": 41,
            }
        ],
    },
    "drift": [
        {
            "tree_id": _TREE_ID,
            "category": _CORE,
            "before": 27.5,
            "after": 39.5,
            "pp": 12.0,
            "threshold_pp": 10.0,
            "previous_run_id": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
        }
    ],
    "timings": {"plan": 0.02, "classify": 0.61, "apply": 0.18, "count": 0.01, "total": 0.9},
    "started_at": "2026-11-25T02:00:40Z",
    "finished_at": "2026-11-25T02:00:41Z",
}
RESULT_PAGE_EXAMPLE: dict[str, Any] = {
    "items": [
        {
            "customer_id": "2f1e0d9c-8b7a-4c6d-9e5f-4a3b2c1d0e9f",
            "customer_code": "C001",
            "customer_name": "华信科技有限公司",
            "tree_id": _TREE_ID,
            "category": _CORE,
            "categories": [_CORE],
            "previous_category": _POTENTIAL,
            "previous_categories": [_POTENTIAL],
            "changed": True,
            "rule": {"key": "core", "name": "核心客户"},
            "rationale": {
                "text": "近12个月交易金额 65.00万元 ≥ 50.00万元;近6个月互动 12 次 ≥ 10 次",
                "conditions": [
                    {
                        "index": 0,
                        "path": ["all", 0],
                        "field": "order_amount_12m",
                        "label": "近12个月交易金额",
                        "op": "gte",
                        "threshold": "500000",
                        "actual": "650000.00",
                        "passed": True,
                        "text": "近12个月交易金额 65.00万元 ≥ 50.00万元",
                    },
                    {
                        "index": 1,
                        "path": ["all", 1],
                        "field": "interactions_6m",
                        "label": "近6个月互动",
                        "op": "gte",
                        "threshold": 10,
                        "actual": 12,
                        "passed": True,
                        "text": "近6个月互动 12 次 ≥ 10 次",
                    },
                ],
                "why_not": [],
            },
            "metrics": {"order_amount_12m": "650000.00", "interactions_6m": 12},
            "next_action": "客户成功经理一对一月度跟进",
            "borderline": False,
            "locked_conflict": False,
        }
    ],
    "next_cursor": None,
}

_ITEM = RESULT_PAGE_EXAMPLE["items"][0]
RECLASSIFY_EXAMPLE: dict[str, Any] = {"as_of": "2026-11-25", "dry_run": False, "items": [_ITEM]}
CLASSIFICATIONS_EXAMPLE: dict[str, Any] = {
    "items": [
        {
            **_ITEM,
            "source": "run",
            "locked": False,
            "reason": None,
            "assigned_by": "key:ops-console",
            "assigned_at": "2026-11-25T02:00:41Z",
            "run_id": _RUN_ID,
            "rules_today": None,
        }
    ]
}
