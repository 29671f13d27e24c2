"""Rules over HTTP."""

from fastapi import APIRouter

from app.core.auth import EditorKey, ViewerKey
from app.core.deps import Session
from app.core.openapi import documented
from app.core.routing import ApiRoute
from app.rules import evaluation, service
from app.rules.schemas import (
    EVALUATE_REQUEST_EXAMPLE,
    EVALUATE_RESULT_EXAMPLE,
    PREVIEW_EXAMPLE,
    EvaluateRequest,
    EvaluateResult,
    PreviewResult,
    Rationale,
    RuleRef,
    RulesPreviewRequest,
)

router = APIRouter(prefix="/api/v1", tags=["rules"], route_class=ApiRoute)


@router.post(
    "/rules/evaluate",
    response_model=EvaluateResult,
    **documented(
        "evaluateRules",
        "Evaluate a ruleset for given values",
        example=EVALUATE_RESULT_EXAMPLE,
        request_example=EVALUATE_REQUEST_EXAMPLE,
    ),
)
async def evaluate_rules(
    principal: ViewerKey, session: Session, body: EvaluateRequest
) -> EvaluateResult:
    """For rule editors: evaluate a ruleset body (unsaved is fine) against field values
    typed in by hand — no stored customer needed. Answers the category, the matched rule,
    the rationale sentence, every condition with its threshold and actual value, and for
    the rules before the match the first condition that failed (why not). Scores
    (`ntile`, `rank_pct`, `前N%`) place the values among the cut points of `tree_id`'s
    latest succeeded run; without one, among the tenant's customers as of `as_of`."""
    explained = await evaluation.evaluate_body(
        session, principal, body.ruleset, body.values, body.as_of, body.tree_id
    )
    result, rationale = explained.evaluation, explained.rationale
    rule = result.rule
    return EvaluateResult(
        category=result.category,
        categories=list(result.categories),
        rule=RuleRef.model_validate(rationale.rule) if rationale.rule else None,
        rationale=Rationale(
            text=rationale.text, conditions=rationale.conditions, why_not=rationale.why_not
        ),
        borderline=result.borderline,
        tags=list(rule.tags) if rule else [],
        next_action=rule.next_action if rule else None,
    )


@router.post(
    "/rules/preview",
    response_model=PreviewResult,
    **documented(
        "previewRules",
        "Preview an unsaved ruleset's distribution and transitions",
        example=PREVIEW_EXAMPLE,
        request_example={
            "tree_id": "3d6f0a52-8c1e-4b7a-9e2d-5f4c3b2a1908",
            "ruleset": EVALUATE_REQUEST_EXAMPLE["ruleset"],
            "scope": {"type": "all"},
            "as_of": "2026-11-25",
        },
        errors=[404],
    ),
)
async def preview_rules(
    principal: EditorKey, session: Session, body: RulesPreviewRequest
) -> PreviewResult:
    """For rule editors dragging a threshold: what an unsaved ruleset body would do to the
    tree's customers, answered like a version's preview (same shape, written nowhere).
    The body is validated like a draft (422, each problem under `body.ruleset`); the
    values come from the newest run's snapshot as of the same day unless `fresh`."""
    read = await service.rules_of_body(session, principal, body.tree_id, body.ruleset)
    scope = (body.scope.type, body.scope.customer_ids, body.scope.when)
    result = await service.preview_rules(
        session, principal, read, scope, body.as_of, fresh=body.fresh
    )
    return PreviewResult.of(result)
