"""Data quality: the report with seed 000's sample check, duplicate groups, merging."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.core.auth import EditorKey, ViewerKey
from app.core.deps import Session
from app.core.etag import IfMatch, set_etag
from app.core.openapi import documented
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute
from app.customers.schemas import CustomerOut
from app.quality import merge, service
from app.quality.schemas import (
    DATA_QUALITY_EXAMPLE,
    DUPLICATES_EXAMPLE,
    MERGE_EXAMPLE,
    MERGE_REQUEST_EXAMPLE,
    DataQualityReport,
    DuplicateGroup,
    DuplicateReason,
    MergedCustomer,
    MergeRequest,
    MergeResult,
    Seed,
)

router = APIRouter(prefix="/api/v1", tags=["data-quality"], route_class=ApiRoute)


@router.get(
    "/data-quality",
    response_model=DataQualityReport,
    **documented("getDataQuality", "Get the data-quality report", example=DATA_QUALITY_EXAMPLE),
)
async def get_data_quality(
    principal: ViewerKey,
    session: Session,
    seed: Annotated[
        Seed | None,
        Query(
            description="Seed of the sample check; the same seed draws the same sample "
            "(default: a random one, returned in `sample_check.seed`)",
        ),
    ] = None,
) -> DataQualityReport:
    """数据验证 over all of the tenant's customers.

    - `completeness`: how many customers have each profile field filled (blank text
      counts as empty);
    - `invalid`: USCCs that fail the GB 32100 checksum, industries not in the tenant's
      industry list, sizes that contradict the head count (小型 <50 / 中型 50–200 /
      大型 >200);
    - `without_activity`: customers with no order, interaction or complaint;
    - `sample_check` (seed 000: 抽样检查10%的客户数据，误差率低于5%): the ⌈10%⌉ customers
      with the smallest `md5('<id>:<seed>')` are checked; one is an error when `code`,
      `name`, `industry`, `size`/`employees` or `region` is missing, or any value above is
      invalid. `passed` is `error_rate < 0.05`.

    Examples name up to 5 customers per kind of problem; messages follow
    `Accept-Language`."""
    return await service.data_quality_report(session, principal, seed)


@router.get(
    "/data-quality/duplicates",
    response_model=Page[DuplicateGroup],
    **documented(
        "listDuplicateCustomers",
        "List groups of likely duplicate customers",
        example=DUPLICATES_EXAMPLE,
    ),
)
async def list_duplicate_customers(
    principal: ViewerKey,
    session: Session,
    page: PageQuery,
    reason: Annotated[
        DuplicateReason | None, Query(description="Only groups found this way")
    ] = None,
) -> Page[DuplicateGroup]:
    """剔除重复数据: customers that are probably the same company, in groups — those with
    the same 统一社会信用代码 (`uscc`) first, then those whose names are equal once
    legal forms (有限公司, 股份有限公司, 集团, Co., Ltd. …), punctuation, full-width
    characters and spaces are ignored (`name`). A customer can be in one group of each
    kind. Paged by group (`limit` groups per page, `next_cursor`); each group lists up to
    100 customers, oldest first. Merge a group with `mergeCustomers`."""
    return await service.list_duplicates(session, principal, page, reason)


@router.post(
    "/customers/{customer_id}/merge",
    response_model=MergeResult,
    **documented(
        "mergeCustomers",
        "Merge duplicate customers into one",
        example=MERGE_EXAMPLE,
        request_example=MERGE_REQUEST_EXAMPLE,
        errors=[404, 412],
        etag=True,
    ),
)
async def merge_customers(
    principal: EditorKey,
    session: Session,
    customer_id: uuid.UUID,
    body: MergeRequest,
    response: Response,
    if_match: IfMatch = None,
) -> MergeResult:
    """Merge the customers in `duplicate_ids` (1–100) into this one, in one transaction:
    their orders, interactions and complaints move to it; their codes become its aliases
    (`GET /customers/by-code/{old code}` and activity sent with an old code find it);
    its empty profile fields are filled from them — its own non-empty values win, then
    the duplicates in the order listed; `employees` and `size` are taken together; tags
    are united, attributes merged key by key, and the stage is `signed` if any was. The
    duplicates are then deleted. Each customer gets an audit event (`merge`).

    404 when any id is unknown or another tenant's (including one merged away by a
    concurrent request), 422 when this customer is in its own list, 412 when
    `If-Match` does not name its current version. The answer carries its new `ETag`."""
    merged = await merge.merge_customers(
        session, principal, customer_id, body.duplicate_ids, if_match
    )
    set_etag(response, merged.survivor.version)
    return MergeResult(
        survivor=MergedCustomer(
            **CustomerOut.model_validate(merged.survivor).model_dump(), aliases=merged.aliases
        ),
        merged_ids=merged.merged_ids,
        moved=merged.moved,
    )
