"""Customers: list and filter, create, bulk upsert by code, read, update, delete."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.core.auth import EditorKey, ViewerKey
from app.core.bulk import BulkResult, refuse_if_nothing_kept
from app.core.deps import Session
from app.core.etag import IfMatch, set_etag
from app.core.openapi import documented
from app.core.pagination import Page, PageQuery
from app.core.routing import ApiRoute
from app.core.schemas import IsoDate
from app.customers import service
from app.customers.schemas import (
    CUSTOMER_CREATE_EXAMPLE,
    CUSTOMER_EXAMPLE,
    METRICS_EXAMPLE,
    CustomerBulk,
    CustomerCreate,
    CustomerFilter,
    CustomerMetrics,
    CustomerOut,
    CustomerSize,
    CustomerStage,
    CustomerUpdate,
)

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], route_class=ApiRoute)

BULK_EXAMPLE = {
    "received": 3,
    "created": 1,
    "updated": 1,
    "failed": 1,
    "errors": [
        {
            "index": 2,
            "errors": [
                {"loc": ["uscc"], "msg": "统一社会信用代码校验位错误", "type": "value_error"}
            ],
        }
    ],
}


@router.get(
    "",
    response_model=Page[CustomerOut],
    **documented(
        "listCustomers",
        "List customers",
        example={"items": [CUSTOMER_EXAMPLE], "next_cursor": None},
    ),
)
async def list_customers(
    principal: ViewerKey,
    session: Session,
    page: PageQuery,
    industry: Annotated[
        str | None,
        Query(max_length=100, description="Industry code or prefix: 制造业 matches 制造业-电子"),
    ] = None,
    size: Annotated[CustomerSize | None, Query()] = None,
    region: Annotated[str | None, Query(max_length=100)] = None,
    stage: Annotated[CustomerStage | None, Query()] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=100, description="Text in name or code")] = None,
    when: Annotated[
        str | None,
        Query(
            max_length=4000,
            description="A rule condition as text, e.g. `近12个月交易金额 >= 50万 and "
            'region = "上海"` (metrics as of `as_of`)',
        ),
    ] = None,
    as_of: Annotated[IsoDate | None, Query(description="Day for metrics in `when`")] = None,
) -> Page[CustomerOut]:
    """Customers, oldest first, filtered by industry (prefix of the hierarchical code),
    size, region, stage, tag, text in name or code, and any rule condition (`when`)."""
    rows, next_cursor = await service.list_customers(
        session, principal, CustomerFilter(industry, size, region, stage, tag, q), page, when, as_of
    )
    return Page(items=[CustomerOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "",
    response_model=CustomerOut,
    **documented(
        "createCustomer",
        "Create a customer",
        status_code=201,
        example=CUSTOMER_EXAMPLE,
        request_example=CUSTOMER_CREATE_EXAMPLE,
        errors=[409],
        etag=True,
    ),
)
async def create_customer(
    principal: EditorKey, session: Session, body: CustomerCreate, response: Response
) -> CustomerOut:
    """Create a customer. The USCC is checksum-validated; `size` is derived from
    `employees` when given; an industry outside the tenant's list is accepted and shows up
    in the data-quality report."""
    customer = await service.create_customer(session, principal, body)
    set_etag(response, customer.version)
    return CustomerOut.model_validate(customer)


@router.post(
    "/bulk",
    response_model=BulkResult,
    **documented(
        "upsertCustomers",
        "Create or update customers in bulk by code",
        example=BULK_EXAMPLE,
        request_example={"items": [CUSTOMER_CREATE_EXAMPLE]},
    ),
)
async def upsert_customers(
    principal: EditorKey, session: Session, body: CustomerBulk
) -> BulkResult:
    """Up to 10,000 customers, matched by `code`: new codes are created, known ones
    updated (omitted fields keep their value). Invalid items are reported by index and
    the rest are kept; if no item is valid the answer is 422."""
    result = await service.bulk_upsert_customers(session, principal, body.items)
    return refuse_if_nothing_kept(result)


@router.get(
    "/by-code/{code}",
    response_model=CustomerOut,
    **documented(
        "getCustomerByCode",
        "Get a customer by code",
        example=CUSTOMER_EXAMPLE,
        errors=[404],
        etag=True,
    ),
)
async def get_customer_by_code(
    principal: ViewerKey, session: Session, code: str, response: Response
) -> CustomerOut:
    """The customer with this code (客户编号), or the one a merged code now belongs to."""
    customer = await service.get_customer_by_code(session, principal, code)
    set_etag(response, customer.version)
    return CustomerOut.model_validate(customer)


@router.get(
    "/{customer_id}",
    response_model=CustomerOut,
    **documented(
        "getCustomer", "Get a customer", example=CUSTOMER_EXAMPLE, errors=[404], etag=True
    ),
)
async def get_customer(
    principal: ViewerKey, session: Session, customer_id: uuid.UUID, response: Response
) -> CustomerOut:
    """One customer, with its `ETag`."""
    customer = await service.get_customer(session, principal, customer_id)
    set_etag(response, customer.version)
    return CustomerOut.model_validate(customer)


@router.patch(
    "/{customer_id}",
    response_model=CustomerOut,
    **documented(
        "updateCustomer",
        "Update a customer",
        example=CUSTOMER_EXAMPLE,
        request_example={"region": "江苏", "tags": ["老客户"]},
        errors=[404, 409, 412],
        etag=True,
    ),
)
async def update_customer(
    principal: EditorKey,
    session: Session,
    customer_id: uuid.UUID,
    changes: CustomerUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> CustomerOut:
    """Change fields (omitted ones stay, `null` clears). With `If-Match`, a stale ETag
    is refused with 412."""
    customer = await service.update_customer(session, principal, customer_id, changes, if_match)
    set_etag(response, customer.version)
    return CustomerOut.model_validate(customer)


@router.delete(
    "/{customer_id}",
    **documented("deleteCustomer", "Delete a customer", status_code=204, errors=[404, 412]),
)
async def delete_customer(
    principal: EditorKey, session: Session, customer_id: uuid.UUID, if_match: IfMatch = None
) -> Response:
    """Delete the customer and its activity. With `If-Match`, a stale ETag is refused
    with 412."""
    await service.delete_customer(session, principal, customer_id, if_match)
    return Response(status_code=204)


@router.get(
    "/{customer_id}/metrics",
    response_model=CustomerMetrics,
    **documented(
        "getCustomerMetrics", "Get a customer's metrics", example=METRICS_EXAMPLE, errors=[404]
    ),
)
async def get_customer_metrics(
    principal: ViewerKey,
    session: Session,
    customer_id: uuid.UUID,
    as_of: Annotated[
        IsoDate | None, Query(description="Day to compute as of (default: today, tenant time)")
    ] = None,
) -> CustomerMetrics:
    """Every metric of the field catalog computed from the customer's activity as of a
    day: windows hold the days d with `as_of − N < d ≤ as_of`; counts and sums are 0,
    never null."""
    return await service.customer_metrics(session, principal, customer_id, as_of)
