"""Four eyes cannot be fooled by actor names: one key is one person, unless a delegating
key names two different users, and names are compared as people read them."""

import string
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.auth import comparable_name
from app.models import Role
from tests.categories.test_change_requests import _approval_tree, _file_create
from tests.conftest import TenantKeys
from tests.core.test_errors import assert_problem


def _as(tenant: TenantKeys, user: str | None = None) -> dict[str, str]:
    """The tenant's delegating (admin) key, acting for `user` when given."""
    extra = {} if user is None else {"X-Actor": quote(user)}
    return tenant.headers(Role.ADMIN, **extra)


@pytest.mark.parametrize(
    ("submitter", "approver"),
    [
        (None, "x"),
        ("alice", None),
        ("alice", "Alice"),
        ("alice", "alice\u200b"),
        ("alice", "\u200dAL\u00adICE"),
        ("alice", "ａｌｉｃｅ"),
        ("Straße", "STRASSE"),
        ("张伟", "张伟\ufeff"),
    ],
)
async def test_the_same_person_under_another_spelling_cannot_approve(
    client: httpx.AsyncClient, tenant: TenantKeys, submitter: str | None, approver: str | None
) -> None:
    tree = await _approval_tree(client, tenant)
    request = await _file_create(client, tenant, tree, headers=_as(tenant, submitter))
    url = f"/api/v1/change-requests/{request['id']}/approve"
    body = assert_problem(await client.post(url, headers=_as(tenant, approver)), 403)
    assert "四眼" in body["detail"]
    read = await client.get(f"/api/v1/change-requests/{request['id']}", headers=_as(tenant))
    assert read.json()["status"] == "pending"


async def test_two_users_named_through_one_delegating_key_are_two_people(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    tree = await _approval_tree(client, tenant)
    request = await _file_create(client, tenant, tree, headers=_as(tenant, "alice"))
    url = f"/api/v1/change-requests/{request['id']}/approve"
    approved = await client.post(url, headers=_as(tenant, "bob"))
    assert approved.status_code == 200, approved.text
    assert (approved.json()["submitted_by"], approved.json()["decided_by"]) == (
        "user:alice",
        "user:bob",
    )


async def test_another_key_may_approve_what_a_delegating_key_filed_for_a_user(
    client: httpx.AsyncClient, tenant: TenantKeys
) -> None:
    tree = await _approval_tree(client, tenant)
    request = await _file_create(client, tenant, tree, headers=_as(tenant, "alice"))
    url = f"/api/v1/change-requests/{request['id']}/approve"
    approved = await client.post(url, headers=tenant.headers(Role.APPROVER))
    assert approved.status_code == 200, approved.text


names = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=10)
invisible = st.text(st.sampled_from("\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e"), max_size=3)


@given(names, invisible, invisible)
def test_invisible_characters_never_tell_two_names_apart(
    name: str, before: str, after: str
) -> None:
    assert comparable_name(before + name + after) == comparable_name(name)


@given(names)
def test_a_compared_name_compares_as_itself(name: str) -> None:
    assert comparable_name(comparable_name(name)) == comparable_name(name)
    assert comparable_name(name.casefold()) == comparable_name(name)


@given(st.text(string.ascii_letters + string.digits + " .-", min_size=1, max_size=12))
def test_latin_names_compare_without_case_or_width(name: str) -> None:
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    assert comparable_name(name.upper()) == comparable_name(name.lower())
    assert comparable_name(full_width) == comparable_name(name)
