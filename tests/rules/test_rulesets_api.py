"""Rulesets and versions through the HTTP API: drafts, validation, publish, diff, lint,
backtest and preview."""

import asyncio
import copy
from datetime import datetime
from typing import Any

import httpx

from app.models import Role
from app.rules.templates import RELATIONSHIP
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem

BODY: dict[str, Any] = copy.deepcopy(RELATIONSHIP["ruleset"])


async def make_tree(api: httpx.AsyncClient, *, requires_approval: bool = False) -> str:
    tree = await api.post(
        "/api/v1/category-trees",
        json={"key": "relationship", "name": "客户关系划分"},
    )
    assert tree.status_code == 201, tree.text
    tree_id = tree.json()["id"]
    for code, name in (("CORE", "核心客户"), ("POTENTIAL", "潜力客户"), ("REGULAR", "普通客户"),
                       ("LOW", "低价值客户")):  # fmt: skip
        created = await api.post(
            f"/api/v1/category-trees/{tree_id}/categories", json={"code": code, "name": name}
        )
        assert created.status_code == 201, created.text
    if requires_approval:  # after the categories, which would otherwise need approval too
        patched = await api.patch(
            f"/api/v1/category-trees/{tree_id}", json={"requires_approval": True}
        )
        assert patched.status_code == 200, patched.text
    return tree_id


async def make_ruleset(api: httpx.AsyncClient, **tree: Any) -> tuple[str, str]:
    tree_id = await make_tree(api, **tree)
    ruleset = await api.post("/api/v1/rulesets", json={"tree_id": tree_id, "name": "关系规则"})
    assert ruleset.status_code == 201, ruleset.text
    return tree_id, ruleset.json()["id"]


async def test_versions_are_numbered_drafts_whose_body_is_kept_exactly(
    api: httpx.AsyncClient,
) -> None:
    _, ruleset_id = await make_ruleset(api)
    first = await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=BODY)
    second = await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=BODY)
    assert (first.status_code, second.status_code) == (201, 201), first.text
    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    assert first.json()["status"] == "draft"
    read = await api.get(f"/api/v1/rulesets/{ruleset_id}/versions/1")
    assert read.json()["body"] == BODY


async def test_invalid_rules_are_422_at_the_path_of_the_bad_node(api: httpx.AsyncClient) -> None:
    _, ruleset_id = await make_ruleset(api)
    bad = copy.deepcopy(BODY)
    bad["rules"][0]["category"] = "NOT_IN_TREE"
    bad["rules"][1]["when"] = {"all": [{"field": "order_amount_12m", "op": "in", "value": []}]}
    response = await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=bad)
    locs = [e["loc"] for e in assert_problem(response, 422)["errors"]]
    assert ["body", "rules", 0, "category"] in locs
    assert any(loc[:6] == ["body", "rules", 1, "when", "all", 0] for loc in locs)
    collect = {**BODY, "hit_policy": "collect"}
    response = await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=collect)
    assert_problem(response, 422)


async def test_publishing_retires_the_previous_version_and_published_is_immutable(
    api: httpx.AsyncClient,
) -> None:
    _, ruleset_id = await make_ruleset(api)
    for _ in range(2):
        await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=BODY)
    for number in (1, 2):
        published = await api.post(f"/api/v1/rulesets/{ruleset_id}/versions/{number}/publish")
        assert published.status_code == 200, published.text
        body = published.json()
        assert (body["status"], body["change_request_id"]) == ("published", None)
        assert (body["version"]["version"], body["version"]["status"]) == (number, "published")
        assert body["version"]["published_by"].startswith("key:")
        assert body["version"]["published_at"] is not None
    versions = (await api.get(f"/api/v1/rulesets/{ruleset_id}/versions")).json()["items"]
    assert [v["status"] for v in versions] == ["retired", "published"]
    assert versions[1]["published_at"] == body["version"]["published_at"]
    assert (await api.get(f"/api/v1/rulesets/{ruleset_id}")).json()["published_version"] == 2
    edit = await api.patch(f"/api/v1/rulesets/{ruleset_id}/versions/2", json=BODY)
    assert_problem(edit, 409)
    again = await api.post(f"/api/v1/rulesets/{ruleset_id}/versions/2/publish")
    assert_problem(again, 409)


async def test_concurrent_publishes_leave_exactly_one_published_version(
    api: httpx.AsyncClient,
) -> None:
    _, ruleset_id = await make_ruleset(api)
    for _ in range(4):
        await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=BODY)
    responses = await asyncio.gather(
        *(api.post(f"/api/v1/rulesets/{ruleset_id}/versions/{n}/publish") for n in (1, 2, 3, 4))
    )
    # Each publish is of its own draft: one after the other, each succeeds and retires the
    # one before; the last to commit stays published.
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    assert [r.json()["version"]["version"] for r in responses] == [1, 2, 3, 4]
    versions = (await api.get(f"/api/v1/rulesets/{ruleset_id}/versions")).json()["items"]
    assert sorted(v["status"] for v in versions) == ["published", "retired", "retired", "retired"]
    [last] = [v for v in versions if v["status"] == "published"]
    published_at = [datetime.fromisoformat(r.json()["version"]["published_at"]) for r in responses]
    assert datetime.fromisoformat(last["published_at"]) == max(published_at)
    ruleset = (await api.get(f"/api/v1/rulesets/{ruleset_id}")).json()
    assert ruleset["published_version"] == last["version"]


async def test_drafts_are_edited_under_if_match(api: httpx.AsyncClient) -> None:
    _, ruleset_id = await make_ruleset(api)
    created = await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=BODY)
    etag = created.headers["etag"]
    changed = copy.deepcopy(BODY)
    changed["rules"][0]["when"] = "近12个月交易金额 >= 45万 且 近6个月互动 >= 10"
    ok = await api.patch(
        f"/api/v1/rulesets/{ruleset_id}/versions/1", json=changed, headers={"If-Match": etag}
    )
    assert ok.status_code == 200, ok.text
    stale = await api.patch(
        f"/api/v1/rulesets/{ruleset_id}/versions/1", json=BODY, headers={"If-Match": etag}
    )
    assert_problem(stale, 412)


async def test_diff_names_added_removed_and_threshold_changes(api: httpx.AsyncClient) -> None:
    _, ruleset_id = await make_ruleset(api)
    await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=BODY)
    changed = copy.deepcopy(BODY)
    changed["rules"][0]["when"] = {"all": [
        {"field": "order_amount_12m", "op": "gte", "value": 450000},
        {"field": "interactions_6m", "op": "gte", "value": 10}]}  # fmt: skip
    changed["rules"].pop()
    await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=changed)
    result = (
        await api.get(f"/api/v1/rulesets/{ruleset_id}/versions/2/diff", params={"against": 1})
    ).json()
    assert [r["key"] for r in result["removed"]] == ["regular"]
    [core] = result["changed"]
    assert core["thresholds"] == [
        {"field": "order_amount_12m", "op": "gte", "from": 500000, "to": 450000}
    ]


async def test_lint_finds_shadowed_rules_and_unreachable_categories(
    api: httpx.AsyncClient,
) -> None:
    _, ruleset_id = await make_ruleset(api)
    body = {"default_category": "LOW", "rules": [
        {"key": "a", "category": "CORE", "when": "order_amount_12m >= 10万"},
        {"key": "b", "category": "POTENTIAL", "when": "order_amount_12m >= 20万"},
    ]}  # fmt: skip
    await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=body)
    findings = (await api.post(f"/api/v1/rulesets/{ruleset_id}/versions/1/lint")).json()["findings"]
    kinds = {(f["type"], tuple(f["loc"])) for f in findings}
    assert ("shadowed_rule", ("rules", 1)) in kinds
    assert any(f["type"] == "unreachable_category" and f["detail"]["category"] == "REGULAR"
               for f in findings)  # fmt: skip


async def test_lint_does_not_compare_a_score_with_its_field_s_values(
    api: httpx.AsyncClient,
) -> None:
    _, ruleset_id = await make_ruleset(api)
    # A customer with 10 yuan, not in the top 20 %, matches b: b is not shadowed by a.
    body = {"default_category": "LOW", "rules": [
        {"key": "a", "category": "CORE", "when": "ntile(order_amount_12m, 5) >= 5"},
        {"key": "b", "category": "POTENTIAL", "when": "order_amount_12m >= 5"},
    ]}  # fmt: skip
    created = await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=body)
    assert created.status_code == 201, created.text
    findings = (await api.post(f"/api/v1/rulesets/{ruleset_id}/versions/1/lint")).json()["findings"]
    assert not [f for f in findings if f["type"] == "shadowed_rule"], findings


async def _seed_002_customers(api: httpx.AsyncClient) -> None:
    customers = [{"code": c, "name": f"客户{c}"} for c in ("A", "B", "C", "C004")]
    await api.post("/api/v1/customers/bulk", json={"items": customers})
    orders = [
        {"external_id": f"O-{code}", "customer_code": code, "amount": amount,
         "ordered_at": "2026-06-01"}
        for code, amount in (("A", "600000"), ("B", "300000"), ("C", "80000"), ("C004", "30000"))
    ]  # fmt: skip
    await api.post("/api/v1/orders/bulk", json={"items": orders})
    touches = [
        {"external_id": f"I-A-{i}", "customer_code": "A", "occurred_at": "2026-10-01"}
        for i in range(12)
    ]
    touches.append(
        {
            "external_id": "I-B",
            "customer_code": "B",
            "occurred_at": "2026-10-01",
            "is_inquiry": True,
        }
    )
    await api.post("/api/v1/interactions/bulk", json={"items": touches})


async def test_backtest_on_the_seed_002_examples(api: httpx.AsyncClient) -> None:
    _, ruleset_id = await make_ruleset(api)
    await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=BODY)
    await _seed_002_customers(api)
    samples = [{"customer_code": c, "expected": e}
               for c, e in (("A", "CORE"), ("B", "POTENTIAL"), ("C", "REGULAR"), ("C004", "CORE"),
                            ("NOPE", "LOW"))]  # fmt: skip
    response = await api.post(
        f"/api/v1/rulesets/{ruleset_id}/versions/1/backtest",
        json={"samples": samples, "as_of": "2026-11-25", "min_accuracy": 0.85},
    )
    result = response.json()
    assert (result["samples"], result["correct"], result["accuracy"]) == (4, 3, 0.75), result
    assert result["passed"] is False
    assert result["unknown_codes"] == ["NOPE"]
    [miss] = result["mismatches"]
    assert (miss["customer_code"], miss["actual"]) == ("C004", "LOW")
    assert result["confusion_matrix"]["CORE"] == {"CORE": 1, "LOW": 1}
    assert result["per_class"]["CORE"]["recall"] == 0.5


async def test_preview_counts_the_distribution_and_writes_nothing(api: httpx.AsyncClient) -> None:
    _, ruleset_id = await make_ruleset(api)
    await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=BODY)
    await _seed_002_customers(api)
    response = await api.post(
        f"/api/v1/rulesets/{ruleset_id}/versions/1/preview",
        json={"scope": {"type": "all"}, "as_of": "2026-11-25"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["total"] == 4
    counts = {d["category"]: d["count"] for d in result["distribution"]}
    assert counts == {"CORE": 1, "POTENTIAL": 1, "REGULAR": 1, "LOW": 1}
    assert result["changed"] == 4  # nobody is assigned yet
    filtered = await api.post(
        f"/api/v1/rulesets/{ruleset_id}/versions/1/preview",
        json={"scope": {"type": "filter", "when": "order_amount_12m >= 10万"},
              "as_of": "2026-11-25"},
    )  # fmt: skip
    assert filtered.json()["total"] == 2


async def test_preview_of_a_collect_ruleset_counts_every_matching_category(
    api: httpx.AsyncClient,
) -> None:
    tree = await api.post(
        "/api/v1/category-trees", json={"key": "tags", "name": "标签", "multi_assign": True}
    )
    tree_id = tree.json()["id"]
    for code, name in (("BIG", "大单"), ("TALKED", "有互动")):
        await api.post(
            f"/api/v1/category-trees/{tree_id}/categories", json={"code": code, "name": name}
        )
    ruleset = await api.post("/api/v1/rulesets", json={"tree_id": tree_id, "name": "标签规则"})
    ruleset_id = ruleset.json()["id"]
    body = {
        "hit_policy": "collect",
        "default_category": "DEFAULT",
        "rules": [
            {"key": "big", "category": "BIG", "when": "order_amount_12m >= 25万"},
            {"key": "talked", "category": "TALKED", "when": "interactions_6m >= 1"},
        ],
    }
    created = await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=body)
    assert created.status_code == 201, created.text
    await _seed_002_customers(api)
    # A: both; B: both; C and C004: neither (default).
    response = await api.post(
        f"/api/v1/rulesets/{ruleset_id}/versions/1/preview",
        json={"scope": {"type": "all"}, "as_of": "2026-11-25"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["total"] == 4
    counts = {d["category"]: d["count"] for d in result["distribution"]}
    assert counts == {"BIG": 2, "TALKED": 2, "DEFAULT": 2}
    a = await api.get("/api/v1/customers/by-code/A")
    some = await api.post(
        f"/api/v1/rulesets/{ruleset_id}/versions/1/preview",
        json={"scope": {"type": "customers", "customer_ids": [a.json()["id"]]},
              "as_of": "2026-11-25"},
    )  # fmt: skip
    assert some.status_code == 200, some.text
    assert some.json()["total"] == 1
    assert {d["category"]: d["count"] for d in some.json()["distribution"]} == {
        "BIG": 1, "TALKED": 1,
    }  # fmt: skip
    filtered = await api.post(
        f"/api/v1/rulesets/{ruleset_id}/versions/1/preview",
        json={"scope": {"type": "filter", "when": "inquiries_6m >= 1"}, "as_of": "2026-11-25"},
    )
    assert {d["category"]: d["count"] for d in filtered.json()["distribution"]} == {
        "BIG": 1, "TALKED": 1,
    }  # fmt: skip


async def test_publishing_on_an_approval_tree_needs_another_persons_approval(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    client.headers.update(tenant.headers(Role.ADMIN))
    _, ruleset_id = await make_ruleset(client, requires_approval=True)
    await client.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=BODY)
    response = await client.post(f"/api/v1/rulesets/{ruleset_id}/versions/1/publish")
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending_approval"
    version = await client.get(f"/api/v1/rulesets/{ruleset_id}/versions/1")
    assert version.json()["status"] == "draft"
    request_id = response.json()["change_request_id"]
    same_person = await client.post(f"/api/v1/change-requests/{request_id}/approve")
    assert_problem(same_person, 403)
    approved = await client.post(
        f"/api/v1/change-requests/{request_id}/approve",
        headers={**tenant.headers(Role.APPROVER)},
    )
    assert approved.status_code == 200, approved.text
    version = await client.get(f"/api/v1/rulesets/{ruleset_id}/versions/1")
    assert version.json()["status"] == "published"


async def test_templates_install_a_tree_with_playbooks_and_a_published_ruleset(
    api: httpx.AsyncClient,
) -> None:
    listed = (await api.get("/api/v1/templates")).json()["items"]
    assert {t["key"] for t in listed} >= {"value", "activity", "risk", "relationship", "grading"}
    for key in ("value", "activity", "risk", "relationship", "grading"):
        installed = await api.post(f"/api/v1/templates/{key}/install")
        assert installed.status_code == 201, installed.text
        assert installed.json()["published_version"] == 1
    again = await api.post("/api/v1/templates/value/install")
    assert_problem(again, 409)
    assert_problem(await api.post("/api/v1/templates/nope/install"), 404)


async def test_a_category_used_by_a_published_rule_cannot_be_deleted(
    api: httpx.AsyncClient,
) -> None:
    installed = (await api.post("/api/v1/templates/relationship/install")).json()
    categories = (
        await api.get(f"/api/v1/category-trees/{installed['tree_id']}/categories")
    ).json()["items"]
    core = next(c for c in categories if c["code"] == "CORE")
    impact = (await api.get(f"/api/v1/categories/{core['id']}/impact")).json()
    assert [r["rule_key"] for r in impact["rules"]] == ["core"]
    refused = await api.delete(f"/api/v1/categories/{core['id']}")
    assert_problem(refused, 409)


async def test_backtest_samples_can_come_as_a_csv_or_xlsx_file(api: httpx.AsyncClient) -> None:
    import base64
    import io

    from openpyxl import Workbook

    _, ruleset_id = await make_ruleset(api)
    await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=BODY)
    await _seed_002_customers(api)
    rows = [("A", "CORE"), ("B", "POTENTIAL"), ("C", "REGULAR"), ("C004", "CORE")]
    csv_text = "客户编号,期望分类\n" + "".join(f"{c},{e}\n" for c, e in rows)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["客户编号", "期望分类"])
    for row in rows:
        sheet.append(list(row))
    xlsx = io.BytesIO()
    workbook.save(xlsx)
    for name, data in (("样本.csv", csv_text.encode("gb18030")), ("样本.xlsx", xlsx.getvalue())):
        response = await api.post(
            f"/api/v1/rulesets/{ruleset_id}/versions/1/backtest",
            json={"samples_file": {"filename": name,
                                   "content_base64": base64.b64encode(data).decode()},
                  "as_of": "2026-11-25"},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        assert (response.json()["samples"], response.json()["correct"]) == (4, 3), name
    headerless = base64.b64encode(b"a,b\n1,2\n").decode()
    bad = await api.post(
        f"/api/v1/rulesets/{ruleset_id}/versions/1/backtest",
        json={"samples_file": {"filename": "x.csv", "content_base64": headerless}},
    )
    assert_problem(bad, 422)


async def test_backtest_figures_per_class_are_those_of_the_expected_and_predicted_categories(
    api: httpx.AsyncClient,
) -> None:
    """Hand-computed: A is CORE and predicted CORE, B is CORE but predicted POTENTIAL, C is
    LOW but predicted REGULAR. Rows expected, columns predicted:

                CORE  POTENTIAL  REGULAR
        CORE      1       1         0
        LOW       0       0         1

    CORE: precision 1/1, recall 1/2; LOW: never predicted (precision undefined), recall
    0/1; POTENTIAL and REGULAR: predicted once, wrongly (precision 0), never expected
    (recall undefined). Customer codes are no classes."""
    _, ruleset_id = await make_ruleset(api)
    await api.post(f"/api/v1/rulesets/{ruleset_id}/versions", json=BODY)
    await _seed_002_customers(api)
    samples = [
        {"customer_code": code, "expected": expected}
        for code, expected in (("A", "CORE"), ("B", "CORE"), ("C", "LOW"))
    ]
    response = await api.post(
        f"/api/v1/rulesets/{ruleset_id}/versions/1/backtest",
        json={"samples": samples, "as_of": "2026-11-25"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["samples"], result["correct"], result["accuracy"]) == (3, 1, 0.3333)
    assert result["confusion_matrix"] == {
        "CORE": {"CORE": 1, "POTENTIAL": 1},
        "LOW": {"REGULAR": 1},
    }
    assert result["per_class"] == {
        "CORE": {"precision": 1.0, "recall": 0.5, "support": 2},
        "LOW": {"precision": None, "recall": 0.0, "support": 1},
        "POTENTIAL": {"precision": 0.0, "recall": None, "support": 0},
        "REGULAR": {"precision": 0.0, "recall": None, "support": 0},
    }
