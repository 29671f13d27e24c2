"""Threshold suggestions over HTTP."""

import uuid
from dataclasses import asdict
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path

from app.core.auth import EditorKey
from app.core.deps import Session
from app.core.openapi import documented
from app.core.routing import ApiRoute
from app.facts.today import tenant_today
from app.rules.analysis import diff_json
from app.rules.language.parse_json import value_to_json
from app.rules.samples import read_samples
from app.rules.schemas import VersionOut
from app.rules.suggestions import service
from app.rules.suggestions.schemas import (
    SUGGEST_REQUEST_EXAMPLE,
    SUGGEST_RESULT_EXAMPLE,
    ClassChange,
    CrossValidated,
    Fit,
    RulesetChanges,
    SearchFigures,
    SuggestRequest,
    SuggestResult,
    TenantImpact,
    ThresholdMove,
    Training,
)

router = APIRouter(prefix="/api/v1/rulesets", tags=["rules"], route_class=ApiRoute)
Number = Annotated[int, Path(ge=1, le=2_147_483_647, description="Version number")]


@router.post(
    "/{ruleset_id}/versions/{number}/suggest",
    response_model=SuggestResult,
    **documented(
        "suggestThresholds",
        "Suggest thresholds from labelled samples",
        example=SUGGEST_RESULT_EXAMPLE,
        request_example=SUGGEST_REQUEST_EXAMPLE,
        errors=[404],
    ),
)
async def suggest_thresholds(
    principal: EditorKey,
    session: Session,
    ruleset_id: uuid.UUID,
    number: Number,
    body: SuggestRequest,
) -> SuggestResult:
    """Search this version's number and money thresholds (of `fields`, default all) for
    the values that classify the labelled samples best (seed 000: 若低于85%,需调整分类规则),
    keeping the rules as they are written otherwise. Candidate values are the round
    numbers (whole 万元 for money, whole counts and days) between neighbouring sample
    values; up to three thresholds are searched exhaustively, more by coordinate descent
    with restarts. The answer gives the training accuracy before and after and, to judge
    it by, the five-fold cross-validated accuracy; each threshold from → to; the proposed
    body and its diff against this version; recall per category before and after; and how
    many of the tenant's customers would change category (a preview). `create_draft`
    saves the proposal as the next draft version. Samples are listed, or uploaded as for
    a backtest (`samples_file`)."""
    samples = await read_samples(body)
    result = await service.suggest(
        session,
        principal,
        ruleset_id,
        number,
        samples,
        "samples_file" if body.samples_file is not None else "samples",
        body.as_of or tenant_today(principal),
        body.objective,
        body.fields,
        body.create_draft,
    )
    cross = result.cross_validation
    return SuggestResult(
        version=result.version,
        objective=result.objective,
        samples=result.samples,
        unknown_codes=result.unknown_codes,
        training=Training(
            before=Fit(**asdict(result.training_before)), after=Fit(**asdict(result.training_after))
        ),
        cross_validated=CrossValidated(
            accuracy=round(cross.accuracy, 4),
            macro_f1=round(cross.macro_f1, 4),
            folds=[round(a, 4) for a in cross.fold_accuracy],
        ),
        thresholds=[
            ThresholdMove.model_validate(
                {
                    "rule": move.threshold.rule_key,
                    "field": move.threshold.field,
                    "op": move.threshold.op,
                    "bound": move.threshold.bound,
                    "from": _json_number(move.threshold.value),
                    "to": _json_number(move.after),
                    "changed": move.changed,
                    "candidates": move.candidates,
                }
            )
            for move in result.moves
        ],
        body=result.body,
        diff=RulesetChanges(**diff_json(result.diff)),
        per_class={code: ClassChange(**asdict(c)) for code, c in result.per_class.items()},
        tenant=TenantImpact(
            total=result.tenant.total,
            changed=None if result.collect else result.tenant.changed,
            distribution=[asdict(share) for share in result.tenant.distribution],
        ),
        search=SearchFigures(
            method=result.found.method,
            thresholds=len(result.moves),
            evaluations=result.found.evaluations,
            budget_exhausted=result.found.budget_exhausted,
        ),
        draft=VersionOut.model_validate(result.draft) if result.draft is not None else None,
    )


def _json_number(value: int | Decimal) -> object:
    """A threshold as the Rules JSON says numbers: whole ones as integers."""
    if isinstance(value, int) or value == value.to_integral_value():
        return int(value)
    return value_to_json(value)
