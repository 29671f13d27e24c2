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
    result = await evaluation.evaluate_body(
        session, principal, body.ruleset, body.values, body.as_of
    )
    return EvaluateResult.model_validate(result)
