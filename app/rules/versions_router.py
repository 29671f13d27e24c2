"""Rulesets and their versions: create, edit drafts, publish, diff, lint, backtest, preview."""

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response

from app.core.auth import EditorKey, Principal, ViewerKey
from app.core.deps import Session
from app.core.etag import IfMatch, set_etag
from app.core.openapi import documented
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute
from app.facts.today import tenant_today
from app.models.rules import Ruleset
from app.rules import service, trial
from app.rules.analysis import diff, diff_json, lint
from app.rules.language.schema import RulesJson
from app.rules.samples import read_samples
from app.rules.schemas import (
    EVALUATE_REQUEST_EXAMPLE,
    PREVIEW_EXAMPLE,
    RULESET_EXAMPLE,
    VERSION_EXAMPLE,
    BacktestRequest,
    BacktestResult,
    DiffOut,
    LintResult,
    PreviewRequest,
    PreviewResult,
    PublishResult,
    RulesetCreate,
    RulesetOut,
    VersionList,
    VersionOut,
)

router = APIRouter(prefix="/api/v1/rulesets", tags=["rules"], route_class=ApiRoute)
RULES_BODY = EVALUATE_REQUEST_EXAMPLE["ruleset"]
Number = Annotated[int, Path(ge=1, le=2_147_483_647, description="Version number")]


def _out(summary: service.RulesetNumbers) -> RulesetOut:
    r = summary.ruleset
    return RulesetOut(
        id=r.id,
        tree_id=r.tree_id,
        name=r.name,
        description=r.description,
        created_at=r.created_at,
        updated_at=r.updated_at,
        published_version=summary.published_version,
        latest_version=summary.latest_version,
    )


async def _one(session: Session, principal: Principal, ruleset: Ruleset) -> RulesetOut:
    return _out((await service.with_version_numbers(session, principal, [ruleset]))[0])


@router.get(
    "",
    response_model=Page[RulesetOut],
    **documented(
        "listRulesets", "List rulesets", example={"items": [RULESET_EXAMPLE], "next_cursor": None}
    ),
)
async def list_rulesets(
    principal: ViewerKey, session: Session, page: PageQuery, tree_id: uuid.UUID | None = None
) -> Page[RulesetOut]:
    """The tenant's rulesets (one per tree), with their published and latest version."""
    rows, next_cursor = await service.list_rulesets(session, principal, tree_id, page)
    return Page(items=[_out(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "",
    response_model=RulesetOut,
    **documented(
        "createRuleset",
        "Create a ruleset",
        status_code=201,
        example=RULESET_EXAMPLE,
        request_example={"tree_id": RULESET_EXAMPLE["tree_id"], "name": "客户关系划分规则"},
        errors=[404, 409],
    ),
)
async def create_ruleset(principal: EditorKey, session: Session, body: RulesetCreate) -> RulesetOut:
    """A ruleset for a category tree; versions are added to it."""
    ruleset = await service.create_ruleset(
        session, principal, body.tree_id, body.name, body.description
    )
    return await _one(session, principal, ruleset)


@router.get(
    "/{ruleset_id}",
    response_model=RulesetOut,
    **documented("getRuleset", "Get a ruleset", example=RULESET_EXAMPLE, errors=[404]),
)
async def get_ruleset(principal: ViewerKey, session: Session, ruleset_id: uuid.UUID) -> RulesetOut:
    """One ruleset with its published and latest version numbers."""
    ruleset = await service.get_ruleset(session, principal, ruleset_id)
    return await _one(session, principal, ruleset)


@router.get(
    "/{ruleset_id}/versions",
    response_model=VersionList,
    **documented(
        "listRulesetVersions", "List versions", example={"items": [VERSION_EXAMPLE]}, errors=[404]
    ),
)
async def list_versions(
    principal: ViewerKey, session: Session, ruleset_id: uuid.UUID
) -> VersionList:
    """Every version, oldest first."""
    rows = await service.list_versions(session, principal, ruleset_id)
    return VersionList(items=[VersionOut.model_validate(v) for v in rows])


@router.post(
    "/{ruleset_id}/versions",
    response_model=VersionOut,
    **documented(
        "createRulesetVersion",
        "Create a draft version",
        status_code=201,
        example=VERSION_EXAMPLE,
        request_example=RULES_BODY,
        errors=[404],
        etag=True,
    ),
)
async def create_version(
    principal: EditorKey,
    session: Session,
    ruleset_id: uuid.UUID,
    response: Response,
    body: Annotated[RulesJson, Body(description="Exactly the Rules JSON")],
    note: Annotated[str | None, Query(max_length=1000)] = None,
) -> VersionOut:
    """Save a new draft (version n+1). The body is exactly the Rules JSON; every problem
    is a 422 whose `errors[].loc` is the JSON path of the bad node."""
    version = await service.create_version(session, principal, ruleset_id, body, note)
    set_etag(response, version.version)
    return VersionOut.model_validate(version)


@router.get(
    "/{ruleset_id}/versions/{number}",
    response_model=VersionOut,
    **documented(
        "getRulesetVersion", "Get a version", example=VERSION_EXAMPLE, errors=[404], etag=True
    ),
)
async def get_version(
    principal: ViewerKey,
    session: Session,
    ruleset_id: uuid.UUID,
    number: Number,
    response: Response,
) -> VersionOut:
    """One version with its body exactly as saved."""
    version = await service.get_version(session, principal, ruleset_id, number)
    set_etag(response, version.version)
    return VersionOut.model_validate(version)


@router.patch(
    "/{ruleset_id}/versions/{number}",
    response_model=VersionOut,
    **documented(
        "updateRulesetVersion",
        "Edit a draft",
        example=VERSION_EXAMPLE,
        request_example=RULES_BODY,
        errors=[404, 409, 412],
        etag=True,
    ),
)
async def update_version(
    principal: EditorKey,
    session: Session,
    ruleset_id: uuid.UUID,
    number: Number,
    response: Response,
    body: Annotated[RulesJson, Body(description="Exactly the Rules JSON")],
    if_match: IfMatch = None,
) -> VersionOut:
    """Replace a draft's rules (If-Match guards concurrent editors); published and
    retired versions are immutable (409)."""
    version = await service.update_draft(session, principal, ruleset_id, number, body, if_match)
    set_etag(response, version.version)
    return VersionOut.model_validate(version)


@router.post(
    "/{ruleset_id}/versions/{number}/publish",
    response_model=PublishResult,
    **documented(
        "publishRulesetVersion",
        "Publish a version",
        example={
            "status": "published",
            "version": {
                **VERSION_EXAMPLE,
                "status": "published",
                "published_at": "2026-11-26T09:30:00+08:00",
                "published_by": "user:李娜",
            },
            "change_request_id": None,
        },
        errors=[404, 409],
        responses={
            202: {
                "model": PublishResult,
                "description": "The tree requires approval: a change request was filed, the "
                "version stays a draft until it is approved",
                "content": {
                    "application/json": {
                        "example": {
                            "status": "pending_approval",
                            "version": VERSION_EXAMPLE,
                            "change_request_id": "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a",
                        }
                    }
                },
            }
        },
    ),
)
async def publish_version(
    principal: EditorKey,
    session: Session,
    ruleset_id: uuid.UUID,
    number: Number,
    response: Response,
) -> PublishResult:
    """Make a draft the published version (the previous one is retired). On a tree that
    requires approval the answer is 202 with a change request instead: someone else
    approves it before it takes effect."""
    version, request = await service.publish(session, principal, ruleset_id, number)
    if request is not None:
        response.status_code = 202
        return PublishResult(
            status="pending_approval",
            version=VersionOut.model_validate(version),
            change_request_id=request.id,
        )
    return PublishResult(status="published", version=VersionOut.model_validate(version))


@router.get(
    "/{ruleset_id}/versions/{number}/diff",
    response_model=DiffOut,
    **documented(
        "diffRulesetVersions",
        "Compare two versions",
        example={
            "version": 3,
            "against": 2,
            "added": [],
            "removed": [],
            "changed": [
                {
                    "key": "core",
                    "fields": ["when"],
                    "thresholds": [
                        {"field": "order_amount_12m", "op": "gte", "from": 500000, "to": 450000}
                    ],
                    "before": {
                        "name": "核心客户",
                        "category": "CORE",
                        "when": {"field": "order_amount_12m", "op": "gte", "value": 500000},
                        "tags": ["重点维护"],
                        "next_action": "客户成功经理一对一月度跟进",
                    },
                    "after": {
                        "name": "核心客户",
                        "category": "CORE",
                        "when": {"field": "order_amount_12m", "op": "gte", "value": 450000},
                        "tags": ["重点维护"],
                        "next_action": "客户成功经理一对一月度跟进",
                    },
                }
            ],
            "settings": [],
        },
        errors=[404],
    ),
)
async def diff_versions(
    principal: ViewerKey,
    session: Session,
    ruleset_id: uuid.UUID,
    number: Number,
    against: Annotated[
        int, Query(ge=1, le=2_147_483_647, description="The version to compare with")
    ],
) -> DiffOut:
    """Rules added, removed and changed between two versions, with threshold changes."""
    new = await service.rules_of_version(session, principal, ruleset_id, number)
    old = await service.rules_of_version(session, principal, ruleset_id, against)
    changes = diff(new.rules, old.rules)
    return DiffOut(version=number, against=against, **diff_json(changes))


@router.post(
    "/{ruleset_id}/versions/{number}/lint",
    response_model=LintResult,
    **documented(
        "lintRulesetVersion",
        "Lint a version",
        example={
            "version": 3,
            "findings": [
                {
                    "type": "gap",
                    "severity": "warning",
                    "loc": ["rules", 2, "when"],
                    "message": "规则 regular 与 potential 之间……",
                    "detail": {},
                }
            ],
        },
        errors=[404],
    ),
)
async def lint_version(
    principal: ViewerKey, session: Session, ruleset_id: uuid.UUID, number: Number
) -> LintResult:
    """Rules shadowed by an earlier rule, conditions that can never hold, overlapping or
    gapped ranges between rules on the same field, categories no rule reaches."""
    read = await service.rules_of_version(session, principal, ruleset_id, number)
    return LintResult(version=number, findings=lint(read.rules, read.catalog, read.codes))


@router.post(
    "/{ruleset_id}/versions/{number}/backtest",
    response_model=BacktestResult,
    **documented(
        "backtestRulesetVersion",
        "Backtest a version on labelled samples",
        example={
            "samples": 50,
            "correct": 45,
            "accuracy": 0.9,
            "min_accuracy": 0.85,
            "passed": True,
            "confusion_matrix": {"CORE": {"CORE": 9, "POTENTIAL": 1}},
            "per_class": {"CORE": {"precision": 1.0, "recall": 0.9, "support": 10}},
            "mismatches": [],
            "unknown_codes": [],
        },
        request_example={
            "samples": [{"customer_code": "C001", "expected": "CORE"}],
            "as_of": "2026-11-25",
            "min_accuracy": 0.85,
        },
        errors=[404],
    ),
)
async def backtest_version(
    principal: ViewerKey,
    session: Session,
    ruleset_id: uuid.UUID,
    number: Number,
    body: BacktestRequest,
) -> BacktestResult:
    """Classify labelled customers with this version and compare (seed 000: 50 samples,
    pass at 85 %): accuracy, confusion matrix, per-class precision and recall, and each
    mismatch with its rationale. Samples are listed, or uploaded as a CSV/XLSX file
    (`samples_file`, base64) with the columns 客户编号 and 期望分类."""
    read = await service.rules_of_version(session, principal, ruleset_id, number)
    samples = await read_samples(body)
    result = await trial.backtest(
        session,
        principal.tenant_id,
        read.rules,
        read.catalog,
        samples,
        body.as_of or tenant_today(principal),
        body.min_accuracy,
    )
    return BacktestResult(
        samples=result.samples,
        correct=result.correct,
        accuracy=result.accuracy,
        min_accuracy=result.min_accuracy,
        passed=result.passed,
        confusion_matrix=result.confusion_matrix,
        per_class={label: asdict(figures) for label, figures in result.per_class.items()},
        mismatches=[
            {
                "customer_code": miss.customer_code,
                "expected": miss.expected,
                "actual": miss.actual,
                "rule": miss.rationale.rule,
                "rationale": miss.rationale.to_dict(),
            }
            for miss in result.mismatches
        ],
        unknown_codes=result.unknown_codes,
    )


@router.post(
    "/{ruleset_id}/versions/{number}/preview",
    response_model=PreviewResult,
    **documented(
        "previewRulesetVersion",
        "Preview a version's distribution and transitions",
        example=PREVIEW_EXAMPLE,
        request_example={"scope": {"type": "all"}, "as_of": "2026-11-25"},
        errors=[404],
    ),
)
async def preview_version(
    principal: ViewerKey,
    session: Session,
    ruleset_id: uuid.UUID,
    number: Number,
    body: PreviewRequest,
) -> PreviewResult:
    """What this version would do to the scope, computed in SQL and written nowhere:
    the distribution over categories and the transitions from current assignments.

    The values are those the newest succeeded run over every customer as of the same
    day stored, when its snapshot holds every field read; `source` says which run, when
    it read them, how old they are and whether activity or profiles changed since
    (`stale`). `fresh: true` computes them from the activity instead."""
    read = await service.rules_of_version(session, principal, ruleset_id, number)
    scope = (body.scope.type, body.scope.customer_ids, body.scope.when)
    result = await service.preview_rules(
        session, principal, read, scope, body.as_of, fresh=body.fresh
    )
    return PreviewResult.of(result)
