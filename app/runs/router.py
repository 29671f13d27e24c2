"""Classification runs over HTTP: start, list, read, cancel, and read results."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from app.core.auth import EditorKey, ViewerKey
from app.core.deps import Session
from app.core.idempotency import IdempotencyDep
from app.core.openapi import documented
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute
from app.core.schemas import IsoDateTime
from app.facts.today import tenant_today
from app.rules.language.explain import jsonable
from app.rules.language.moves import Move
from app.runs import one_customer, service
from app.runs.examples import (
    CLASSIFICATIONS_EXAMPLE,
    RECLASSIFY_EXAMPLE,
    RESULT_PAGE_EXAMPLE,
    RUN_CREATE_EXAMPLE,
    RUN_EXAMPLE,
    RUN_QUEUED_EXAMPLE,
)
from app.runs.plan import CategoryView
from app.runs.results import RenderedResult
from app.runs.schemas import (
    CategoryCount,
    CategoryInRun,
    ChangeReason,
    ClassificationItem,
    ClassificationList,
    DriftOut,
    FlippedCondition,
    Progress,
    Rationale,
    ReclassifyRequest,
    ReclassifyResult,
    ResultFilter,
    ResultItem,
    ResultPage,
    RuleRef,
    RunCounts,
    RunCreate,
    RunError,
    RunFilter,
    RunOut,
    RunStatus,
    RunTreeOut,
    TreeCounts,
)
from app.runs.why_moved import results_with_reasons

router = APIRouter(prefix="/api/v1/runs", tags=["runs"], route_class=ApiRoute)
customer_router = APIRouter(prefix="/api/v1/customers", tags=["runs"], route_class=ApiRoute)


@router.post(
    "",
    response_model=RunOut,
    **documented(
        "createRun",
        "Start a classification run",
        status_code=202,
        example=RUN_QUEUED_EXAMPLE,
        request_example=RUN_CREATE_EXAMPLE,
        headers=["Idempotent-Replayed"],
    ),
)
async def create_run(
    principal: EditorKey, session: Session, body: RunCreate, idempotency: IdempotencyDep
) -> JSONResponse:
    """Classify customers with the published ruleset of each tree (default: every tree
    that has one), as of a day (default: today in the tenant's time zone), over all
    customers, a list, or those matching a condition. Answers 202 at once; poll
    `GET /api/v1/runs/{id}`. `apply` updates assignments when the whole run has
    succeeded (locked assignments are reported as conflicts, never changed); `dry_run`
    only stores results. Honours `Idempotency-Key`."""
    if (replayed := await idempotency.replay(principal, body)) is not None:
        return replayed
    run = await service.create_run(session, principal, body)
    (view,) = await service.run_views(session, [run])
    return await idempotency.remember(202, run_out(view))


@router.get(
    "",
    response_model=Page[RunOut],
    **documented(
        "listRuns",
        "List classification runs",
        example={"items": [RUN_EXAMPLE], "next_cursor": None},
    ),
)
async def list_runs(
    principal: ViewerKey,
    session: Session,
    page: PageQuery,
    status: Annotated[RunStatus | None, Query()] = None,
    tree_id: Annotated[
        uuid.UUID | None, Query(description="Runs that classified this tree")
    ] = None,
    schedule_id: Annotated[
        uuid.UUID | None, Query(description="Runs that this schedule started")
    ] = None,
    since: Annotated[IsoDateTime | None, Query(description="created_at ≥ since")] = None,
    until: Annotated[IsoDateTime | None, Query(description="created_at < until")] = None,
) -> Page[RunOut]:
    """The tenant's runs, newest first, filterable by status, tree, schedule and creation
    time."""
    runs, next_cursor = await service.list_runs(
        session,
        principal,
        RunFilter(
            status=status, tree_id=tree_id, schedule_id=schedule_id, since=since, until=until
        ),
        page,
    )
    views = await service.run_views(session, runs)
    return Page(items=[run_out(v) for v in views], next_cursor=next_cursor)


@router.get(
    "/{run_id}",
    response_model=RunOut,
    **documented("getRun", "Get a classification run", example=RUN_EXAMPLE, errors=[404]),
)
async def get_run(principal: ViewerKey, session: Session, run_id: uuid.UUID) -> RunOut:
    """Status, progress (customers done of total), counts per tree and category,
    changed and locked conflicts (once succeeded), the ruleset version of each tree,
    seconds per phase, and the error of a failed run."""
    run = await service.get_run(session, principal, run_id)
    (view,) = await service.run_views(session, [run])
    return run_out(view)


@router.post(
    "/{run_id}/cancel",
    response_model=RunOut,
    **documented(
        "cancelRun",
        "Cancel a classification run",
        status_code=202,
        example={**RUN_EXAMPLE, "status": "running", "cancel_requested": True},
        errors=[404, 409],
    ),
)
async def cancel_run(principal: EditorKey, session: Session, run_id: uuid.UUID) -> RunOut:
    """A queued or waiting run is cancelled at once; a running one stops before its next
    chunk and applies nothing. 409 once it has begun applying results, or has ended."""
    run = await service.cancel_run(session, principal, run_id)
    (view,) = await service.run_views(session, [run])
    return run_out(view)


@router.get(
    "/{run_id}/results",
    response_model=ResultPage,
    **documented(
        "listRunResults",
        "List a run's results",
        example=RESULT_PAGE_EXAMPLE,
        errors=[404, 409],
    ),
)
async def list_run_results(
    principal: ViewerKey,
    session: Session,
    run_id: uuid.UUID,
    page: PageQuery,
    tree_id: Annotated[uuid.UUID | None, Query(description="One tree of the run")] = None,
    category: Annotated[
        str | None, Query(max_length=64, description="Category code (needs tree_id)")
    ] = None,
    changed: Annotated[bool | None, Query()] = None,
    borderline: Annotated[bool | None, Query()] = None,
    locked_conflict: Annotated[bool | None, Query()] = None,
) -> ResultPage:
    """Per customer and tree: the category, the previous one, whether it changed, the
    rule, the rationale (sentence, conditions, why not the earlier rules) in the
    request's language, the values the rules read, the next action, borderline and
    locked-conflict flags. Readable once the run has succeeded (409 before)."""
    found = await results_with_reasons(
        session,
        principal,
        run_id,
        ResultFilter(
            tree_id=tree_id,
            category=category,
            changed=changed,
            borderline=borderline,
            locked_conflict=locked_conflict,
        ),
        page,
    )
    return ResultPage(items=[result_item(r) for r in found.items], next_cursor=found.next_cursor)


@customer_router.post(
    "/{customer_id}/reclassify",
    response_model=ReclassifyResult,
    **documented(
        "reclassifyCustomer",
        "Reclassify one customer now",
        example=RECLASSIFY_EXAMPLE,
        request_example={"dry_run": False},
        errors=[404],
    ),
)
async def reclassify_customer(
    principal: EditorKey, session: Session, customer_id: uuid.UUID, body: ReclassifyRequest
) -> ReclassifyResult:
    """Evaluate the customer with each published ruleset (Python back end, values as of
    `as_of`) and apply what changed at once, as a run would: a locked assignment is
    reported (`locked_conflict`) and left as it is; every change gets a history row
    (source `manual_reclassify`) and an outbox event. `dry_run` writes nothing."""
    day = body.as_of
    done = await one_customer.reclassify_customer(
        session,
        principal,
        customer_id,
        tree_ids=body.tree_ids,
        as_of=day,
        dry_run=body.dry_run,
        reason=body.reason,
    )
    as_of = day or tenant_today(principal)
    return ReclassifyResult(
        as_of=as_of, dry_run=body.dry_run, items=[result_item(d.result) for d in done]
    )


@customer_router.get(
    "/{customer_id}/classifications",
    response_model=ClassificationList,
    **documented(
        "getCustomerClassifications",
        "Get a customer's categories with their rationale",
        example=CLASSIFICATIONS_EXAMPLE,
        errors=[404],
    ),
)
async def get_customer_classifications(
    principal: ViewerKey, session: Session, customer_id: uuid.UUID
) -> ClassificationList:
    """The customer's current category in each tree, one item per tree shaped like a
    run's result: for a category a run set, that run's rationale; for one set by hand
    (or otherwise), who set it and why, and under `rules_today` what the published rules
    say today."""
    found = await one_customer.customer_classifications(session, principal, customer_id)
    items = []
    for c in found:
        base = result_item(c.result).model_dump()
        items.append(
            ClassificationItem(
                **base,
                source=c.source,
                locked=c.locked,
                reason=c.reason,
                assigned_by=c.assigned_by,
                assigned_at=c.assigned_at,
                run_id=c.run_id,
                rules_today=result_item(c.rules_today) if c.rules_today is not None else None,
            )
        )
    return ClassificationList(items=items)


def category_out(category: CategoryView) -> CategoryInRun:
    return CategoryInRun.model_construct(
        id=category.id, code=category.code, name=category.name, path=category.path
    )


def result_item(result: RenderedResult) -> ResultItem:
    """The API view of a rendered result.

    Built without validation (`model_construct`): every value comes typed from the
    service, and validating would copy each rationale's lists and dicts once more — a
    tenth of a results page's CPU for 500 items. The response is still serialised by
    the model's schema."""
    rule = result.rule
    categories = [category_out(c) for c in result.categories]
    previous = [category_out(c) for c in result.previous_categories]
    rationale = result.rationale
    return ResultItem.model_construct(
        customer_id=result.customer_id,
        customer_code=result.customer_code,
        customer_name=result.customer_name,
        tree_id=result.tree_id,
        category=categories[0],
        categories=categories,
        previous_category=previous[0] if previous else None,
        previous_categories=previous,
        changed=result.changed,
        rule=RuleRef.model_construct(key=rule.key, name=rule.name) if rule is not None else None,
        # Validated: its conditions and why_not become the typed models the schema names.
        rationale=Rationale(
            text=rationale.text, conditions=rationale.conditions, why_not=rationale.why_not
        ),
        metrics=result.metrics,
        next_action=rule.next_action if rule is not None else None,
        borderline=result.borderline,
        locked_conflict=result.locked_conflict,
        change_reason=_reason(result.change_reason) if result.change_reason else None,
    )


def _reason(move: Move) -> ChangeReason:
    return ChangeReason(
        text=move.text,
        conditions=[
            FlippedCondition(
                field=f.field,
                label=label,
                op=f.op,
                threshold=jsonable(f.threshold),
                before=jsonable(f.before),
                after=jsonable(f.after),
                held_before=f.held_before,
                held_after=f.held_after,
            )
            for f, label in zip(move.flips, move.labels, strict=True)
        ],
    )


def run_out(view: service.RunView) -> RunOut:
    """The API view of a run."""
    run = view.run
    return RunOut(
        id=run.id,
        status=run.status,
        mode=run.mode,
        as_of=run.as_of,
        scope=run.scope,
        trees=[
            RunTreeOut(
                tree_id=t.row.tree_id,
                key=t.key,
                name=t.name,
                ruleset_id=t.row.ruleset_id,
                version=t.row.version_number,
                applied_at=t.row.applied_at,
            )
            for t in view.trees
        ],
        progress=Progress(
            done=run.done,
            total=run.total,
            chunks_done=run.chunks_done,
            chunks_total=run.chunks_total,
        ),
        counts=_counts(view) if run.counts is not None else None,
        drift=[DriftOut.model_validate(d) for d in run.drift or []],
        timings=run.timings,
        waiting_for=run.waiting_for,
        cancel_requested=run.cancel_requested,
        error=RunError(**run.error) if run.error is not None else None,
        created_by=run.created_by,
        schedule_id=run.schedule_id,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


def _counts(view: service.RunView) -> RunCounts:
    counts = view.run.counts or {}
    trees = []
    for tree in counts.get("trees", []):
        categories = [
            CategoryCount(
                category=category_out(CategoryView.of_run(view.categories[int(slot)])), count=count
            )
            for slot, count in sorted(tree["categories"].items(), key=lambda kv: -kv[1])
        ]
        trees.append(
            TreeCounts(
                tree_id=tree["tree_id"],
                categories=categories,
                changed=tree["changed"],
                locked_conflicts=tree["locked_conflicts"],
                borderline=tree["borderline"],
            )
        )
    return RunCounts(
        customers=counts.get("customers", 0),
        changed=counts.get("changed", 0),
        locked_conflicts=counts.get("locked_conflicts", 0),
        trees=trees,
    )
