"""Examples of reports for the OpenAPI document (and openapi-examples/)."""

from typing import Any

_RUN_ID = "5e7d8c9b-0a1f-4e2d-8c3b-4a5f6e7d8c9b"
_PREVIOUS_RUN_ID = "4d6c7b8a-9f0e-4d1c-8b2a-3f4e5d6c7b8a"
_VALUE_ID = "3d6f0a52-8c1e-4b7a-9e2d-5f4c3b2a1908"
_ACTIVITY_ID = "2c5e9f41-7b0d-4a69-8d1c-4e3b2a190817"


def _label(uid: str, code: str, name: str) -> dict[str, Any]:
    return {"id": uid, "code": code, "name": name, "path": [code]}


_HIGH = _label("7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "HIGH", "高价值客户")
_MEDIUM = _label("8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e", "MEDIUM", "中价值客户")
_LOW = _label("9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "LOW", "低价值客户")
_ACTIVE = _label("0d1e2f3a-4b5c-4d6e-9f7a-8b9c0d1e2f3a", "HIGH", "高活跃")
_IDLE = _label("1e2f3a4b-5c6d-4e7f-8a8b-9c0d1e2f3a4b", "LOW", "低活跃")


def _share(label: dict[str, Any], count: int, share: float, before: int, before_share: float):
    return {
        "category": label,
        "count": count,
        "share": share,
        "previous_count": before,
        "previous_share": before_share,
        "change_pp": round((share - before_share) * 100, 2),
    }


_VALUE_DISTRIBUTION: dict[str, Any] = {
    "tree_id": _VALUE_ID,
    "key": "value",
    "name": "价值维度",
    "multi_assign": False,
    "customers": 200,
    "previous_run_id": _PREVIOUS_RUN_ID,
    "previous_as_of": "2026-10-25",
    "categories": [
        _share(_HIGH, 30, 0.15, 24, 0.12),
        _share(_MEDIUM, 50, 0.25, 50, 0.25),
        _share(_LOW, 120, 0.6, 126, 0.63),
    ],
}

DISTRIBUTION_EXAMPLE: dict[str, Any] = {"customers": 200, "trees": [_VALUE_DISTRIBUTION]}

CROSSTAB_EXAMPLE: dict[str, Any] = {
    "rows": {
        "tree_id": _VALUE_ID,
        "key": "value",
        "name": "价值维度",
        "categories": [_HIGH, _MEDIUM, _LOW],
    },
    "cols": {
        "tree_id": _ACTIVITY_ID,
        "key": "activity",
        "name": "活跃度维度",
        "categories": [_ACTIVE, _IDLE],
    },
    "cells": [[20, 10], [35, 15], [40, 80]],
    "row_totals": [30, 50, 120],
    "col_totals": [95, 105],
    "total": 200,
    "highlights": [{"row": 1, "col": 0, "label": "潜力客户(中价值 + 高活跃)", "count": 35}],
}

TRANSITIONS_EXAMPLE: dict[str, Any] = {
    "tree_id": _VALUE_ID,
    "key": "value",
    "name": "价值维度",
    "from": {"kind": "run", "run_id": _PREVIOUS_RUN_ID, "date": None},
    "to": {"kind": "date", "run_id": None, "date": "2026-11-25"},
    "customers": 200,
    "changed": 8,
    "items": [
        {"from_categories": [_LOW], "to_categories": [_LOW], "count": 120},
        {"from_categories": [_MEDIUM], "to_categories": [_MEDIUM], "count": 44},
        {"from_categories": [_HIGH], "to_categories": [_HIGH], "count": 24},
        {"from_categories": [_MEDIUM], "to_categories": [_HIGH], "count": 6},
        {"from_categories": [_LOW], "to_categories": [_MEDIUM], "count": 6},
    ],
}

_FLAGGED_ITEM: dict[str, Any] = {
    "customer_id": "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c",
    "customer_code": "CUS2024001",
    "customer_name": "华东精密制造有限公司",
    "tree_id": _VALUE_ID,
    "tree_name": "价值维度",
    "category": _HIGH,
    "rule": {"key": "high", "name": "高价值客户"},
    "next_action": "销售总监/主管跟进,提供专属服务",
}

RUN_REPORT_EXAMPLE: dict[str, Any] = {
    "run_id": _RUN_ID,
    "mode": "apply",
    "as_of": "2026-11-25",
    "created_at": "2026-11-25T09:00:00+08:00",
    "finished_at": "2026-11-25T09:00:12+08:00",
    "customers": 200,
    "distribution": [_VALUE_DISTRIBUTION],
    "crosstab": CROSSTAB_EXAMPLE,
    "transitions": [
        {
            **TRANSITIONS_EXAMPLE,
            "from": {"kind": "before_run", "run_id": _RUN_ID, "date": None},
            "to": {"kind": "run", "run_id": _RUN_ID, "date": None},
        }
    ],
    "borderline": {"total": 1, "items": [_FLAGGED_ITEM]},
    "locked_conflicts": {"total": 0, "items": []},
    "drift": [
        {
            "tree_id": _VALUE_ID,
            "category": _MEDIUM,
            "before": 12.5,
            "after": 25.0,
            "pp": 12.5,
            "threshold_pp": 10.0,
            "previous_run_id": _PREVIOUS_RUN_ID,
        }
    ],
}

EXPORT_JOB_EXAMPLE: dict[str, Any] = {
    "id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    "status": "succeeded",
    "format": "xlsx",
    "run_id": _RUN_ID,
    "filename": "分类报告-2026-11-25.xlsx",
    "size_bytes": 48213771,
    "download_url": "/api/v1/reports/exports/a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d/file",
    "created_at": "2026-11-25T09:01:00+08:00",
    "finished_at": "2026-11-25T09:01:40+08:00",
}
