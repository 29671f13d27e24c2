"""A category tree built from a definition in one act: how templates are installed."""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.categories import service as trees
from app.categories.edits import insert_category, validated_new_category
from app.categories.schemas import CategoryCreate, TreeCreate
from app.core.auth import Principal
from app.models import CategoryTree


async def create_tree_from_definition(
    session: AsyncSession, principal: Principal, definition: Mapping[str, Any]
) -> CategoryTree:
    """Create a tree with nested categories and their playbooks in the caller's
    transaction (templates are installed through this).

    `definition` holds the tree fields of `POST /category-trees` and `categories`: a
    list of category fields (as `POST …/categories`, without `parent_id`) each with
    optional `children` of the same shape. Other keys (e.g. a template's `ruleset`) are
    ignored. No change request is filed: installing a definition is one act.
    Raises the same errors as the API (409 for a taken key, 422 for invalid fields).
    """
    tree_fields = {k: definition[k] for k in TreeCreate.model_fields if k in definition}
    tree = await trees.create_tree(session, principal, TreeCreate.model_validate(tree_fields))
    tree = await trees.lock_tree(session, principal, tree.id)
    pending: list[tuple[Mapping[str, Any], uuid.UUID | None]] = [
        (item, None) for item in definition.get("categories", [])
    ]
    while pending:
        item, parent_id = pending.pop(0)
        fields = {k: item[k] for k in CategoryCreate.model_fields if k in item}
        body = CategoryCreate.model_validate({**fields, "parent_id": parent_id})
        parent = await validated_new_category(session, tree, body)
        created = await insert_category(session, principal, tree, body, parent)
        pending.extend((child, created.id) for child in item.get("children", []))
    return tree
