"""Data quality (数据验证): the report, seed 000's sample check, and duplicate groups.

What counts as a problem is decided here, once, as a list of checks; the repository
runs them set-based over all customers or over the sample. Merging lives in
`app.quality.merge`.
"""

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import BUILTIN_FIELDS
from app.core.auth import Principal
from app.core.i18n import Text
from app.core.pagination import Page, PageParams
from app.customers.normalise import (
    SIZE_LABELS,
    NormalisationError,
    size_from_employees,
    validate_uscc,
)
from app.customers.repository import customers_by_id
from app.quality import repository
from app.quality.checks import (
    industry_is_unknown,
    is_blank,
    is_filled,
    size_contradicts_employees,
    uscc_is_invalid,
)
from app.quality.repository import Example
from app.quality.schemas import (
    CustomerRef,
    DataQualityReport,
    DuplicateCustomer,
    DuplicateGroup,
    FieldCompleteness,
    ProblemCount,
    ProblemExample,
    ProblemKind,
    SampleCheck,
    WithoutActivity,
)

# Seed 000: 抽样检查10%的客户数据 … 保证误差率低于5%. Percentages, so that the sample
# size and the verdict are exact integer arithmetic.
SAMPLE_PERCENT = 10
MAX_ERROR_PERCENT = 5
EXAMPLES_PER_KIND = 5

# (field, is text): text counts as filled only when not blank.
COMPLETENESS_FIELDS: tuple[tuple[str, bool], ...] = (
    ("name", True),
    ("industry", True),
    ("employees", False),
    ("size", False),
    ("annual_revenue", False),
    ("region", True),
    ("uscc", True),
    ("contact_name", True),
    ("contact_title", True),
    ("cooperation_since", False),
)

_LABELS: dict[str, Text] = {
    **{key: Text(f.label_zh, f.label_en) for key, f in BUILTIN_FIELDS.items()},
    "cooperation_since": Text("合作开始日期", "Cooperation since"),
}
# "Missing size" means neither a size nor a head count was given.
_MISSING_SIZE_LABEL = Text("企业规模或员工人数", "Company size or employees")


@dataclass(frozen=True)
class Check:
    """One kind of problem in one field: a condition over a customer row."""

    kind: ProblemKind
    field: str
    failed: ColumnElement[bool]
    shown: ColumnElement[Any] | None  # the stored value an example shows

    @property
    def label(self) -> Text:
        if self.kind == "missing" and self.field == "size":
            return _MISSING_SIZE_LABEL
        return _LABELS[self.field]


def invalid_value_checks(rows: FromClause, tenant_id: uuid.UUID, *, has_list: bool) -> list[Check]:
    """Values that are present but wrong."""
    c = rows.c
    return [
        Check("invalid_uscc", "uscc", uscc_is_invalid(c.uscc), c.uscc),
        Check(
            "unknown_industry",
            "industry",
            industry_is_unknown(c.industry, tenant_id, tenant_has_list=has_list),
            c.industry,
        ),
        Check("size_mismatch", "size", size_contradicts_employees(c.size, c.employees), c.size),
    ]


def required_field_checks(rows: FromClause, tenant_id: uuid.UUID, *, has_list: bool) -> list[Check]:
    """Seed 000's sample check: required fields missing, or any invalid value.

    Required: code, name, industry, size or employees, region; the USCC only when given.
    """
    c = rows.c
    missing = [
        Check("missing", field, is_blank(c[field]), None) for field in ("code", "name", "industry")
    ]
    missing.append(Check("missing", "size", and_(c.size.is_(None), c.employees.is_(None)), None))
    missing.append(Check("missing", "region", is_blank(c.region), None))
    return missing + invalid_value_checks(rows, tenant_id, has_list=has_list)


def _size_label(size: str) -> Text:
    labels = SIZE_LABELS.get(size)
    return Text(labels["zh"], labels["en"].lower()) if labels else Text(size, size)


def problem_message(check: Check, row: Example) -> Text:
    """Why this customer is listed, in both languages."""
    label = check.label
    if check.kind == "missing":
        return Text(f"缺少必填字段：{label.zh}", f"Required field missing: {label.en.lower()}")
    if check.kind == "invalid_uscc":
        assert row.value is not None  # the check finds USCCs that are given
        try:
            canonical = validate_uscc(row.value)
        except NormalisationError as exc:
            return Text(exc.message_zh, exc.message_en)
        return Text(
            f"统一社会信用代码未按规范书写，应为 {canonical}",
            f"The USCC is not written canonically; it should be {canonical}",
        )
    if check.kind == "unknown_industry":
        return Text(
            f"行业“{row.value}”不在行业列表中", f"Industry {row.value!r} is not in the list"
        )
    # A size mismatch: both the size and the head count are given, and they disagree.
    assert row.size is not None
    assert row.employees is not None
    size, derived = _size_label(row.size), _size_label(size_from_employees(row.employees))
    return Text(
        f"企业规模为{size.zh}，但员工人数 {row.employees} 对应{derived.zh}",
        f"Size is {size.en} but {row.employees} employees make it {derived.en}",
    )


async def _problem_counts(
    session: AsyncSession, rows: FromClause, checks: list[Check], counts: list[int]
) -> list[ProblemCount]:
    """Each check with its count and, where it found anything, a few examples."""
    found = [index for index, count in enumerate(counts) if count]
    examples = await repository.examples_where(
        session, rows, [(checks[i].failed, checks[i].shown) for i in found], EXAMPLES_PER_KIND
    )
    shown = dict(zip(found, examples, strict=True))
    return [
        ProblemCount(
            kind=check.kind,
            field=check.field,
            label=check.label.get(),
            count=count,
            examples=[
                ProblemExample(
                    customer_id=row.id,
                    code=row.code,
                    field=check.field,
                    value=row.value,
                    message=problem_message(check, row).get(),
                )
                for row in shown.get(index, [])
            ],
        )
        for index, (check, count) in enumerate(zip(checks, counts, strict=True))
    ]


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


async def sample_check(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    total: int,
    seed: int | None,
    *,
    has_list: bool,
) -> SampleCheck:
    """Draw ⌈10%⌉ of the customers and count those with a required field missing or
    invalid; the check passes when under 5% of the sample has an error."""
    seed = secrets.randbelow(2**31) if seed is None else seed
    size = -(-total * SAMPLE_PERCENT // 100)  # ceiling without floating point
    sample = repository.sample_of_customers(tenant_id, seed, size)
    checks = required_field_checks(sample, tenant_id, has_list=has_list)
    drawn, (errors, *counts) = await repository.count_where(
        session, sample, [or_(*(check.failed for check in checks)), *(c.failed for c in checks)]
    )
    problems = await _problem_counts(session, sample, checks, counts)
    return SampleCheck(
        seed=seed,
        sample_share=SAMPLE_PERCENT / 100,
        sample_size=drawn,
        errors=errors,
        error_rate=_share(errors, drawn),
        max_error_rate=MAX_ERROR_PERCENT / 100,
        passed=errors * 100 < drawn * MAX_ERROR_PERCENT or drawn == 0,
        problems=[problem for problem in problems if problem.count],
    )


async def data_quality_report(
    session: AsyncSession, principal: Principal, seed: int | None
) -> DataQualityReport:
    """Completeness per field, invalid values, customers without activity, and the
    sample check — each a set-based query over the tenant's customers."""
    tenant_id = principal.tenant_id
    has_list = await repository.has_industry_list(session, tenant_id)
    everyone = repository.tenant_customers(tenant_id)
    checks = invalid_value_checks(everyone, tenant_id, has_list=has_list)
    filled = [is_filled(everyone.c[field], text=text) for field, text in COMPLETENESS_FIELDS]
    total, counts = await repository.count_where(
        session, everyone, [*filled, *(check.failed for check in checks)]
    )
    filled_counts, invalid_counts = counts[: len(filled)], counts[len(filled) :]
    idle, idle_rows = await repository.customers_without_activity(
        session, tenant_id, EXAMPLES_PER_KIND
    )
    return DataQualityReport(
        total_customers=total,
        industry_list="tenant" if has_list else "standard",
        completeness=[
            FieldCompleteness(
                field=field, label=_LABELS[field].get(), filled=n, share=_share(n, total)
            )
            for (field, _), n in zip(COMPLETENESS_FIELDS, filled_counts, strict=True)
        ],
        invalid=await _problem_counts(session, everyone, checks, invalid_counts),
        without_activity=WithoutActivity(
            count=idle,
            share=_share(idle, total),
            examples=[CustomerRef(id=r.id, code=r.code, name=r.name) for r in idle_rows],
        ),
        sample_check=await sample_check(session, tenant_id, total, seed, has_list=has_list),
    )


async def list_duplicates(
    session: AsyncSession, principal: Principal, page: PageParams, reason: str | None
) -> Page[DuplicateGroup]:
    """Groups of likely duplicates: the same USCC, or the same normalised name."""
    rows, next_cursor = await repository.duplicate_groups(
        session, principal.tenant_id, page, reason
    )
    members = await customers_by_id(
        session, principal.tenant_id, [i for row in rows for i in row.ids]
    )
    return Page(
        items=[
            DuplicateGroup(
                reason=row.reason,
                key=row.key,
                customer_count=row.customer_count,
                customers=[
                    DuplicateCustomer.model_validate(members[i], from_attributes=True)
                    for i in row.ids
                    if i in members
                ],
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )
