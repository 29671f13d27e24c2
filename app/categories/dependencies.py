"""Path parameters loaded into objects (404 for another tenant's or a missing one)."""

import uuid
from typing import Annotated

from fastapi import Depends

from app.categories.service import get_category, get_tree
from app.core.auth import ViewerKey
from app.core.deps import Session
from app.models import Category, CategoryTree


async def valid_tree(principal: ViewerKey, session: Session, tree_id: uuid.UUID) -> CategoryTree:
    return await get_tree(session, principal, tree_id)


async def valid_category(
    principal: ViewerKey, session: Session, category_id: uuid.UUID
) -> Category:
    return await get_category(session, principal, category_id)


TreeFromPath = Annotated[CategoryTree, Depends(valid_tree)]
CategoryFromPath = Annotated[Category, Depends(valid_category)]
