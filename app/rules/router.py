"""Rules over HTTP."""

from fastapi import APIRouter

from app.core.auth import ViewerKey
from app.core.deps import Session
from app.core.openapi import documented
from app.core.routing import ApiRoute
from app.rules import evaluation
from app.rules.schemas import (
    EVALUATE_REQUEST_EXAMPLE,
    EVALUATE_RESULT_EXAMPLE,
    EvaluateRequest,
    EvaluateResult,
    Rationale,
    RuleRef,
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
    the rules before the match the first condition that failed (why not)."""
    explained = await evaluation.evaluate_body(
        session, principal, body.ruleset, body.values, body.as_of
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
