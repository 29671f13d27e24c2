"""Typed dependency aliases so endpoint signatures stay one line each."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database


def get_database(request: Request) -> Database:
    """The app's database (set up by the lifespan)."""
    return request.app.state.database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent.

    `scope="function"` (below) makes FastAPI run the exit of this dependency as soon as
    the endpoint returns, so a failing commit becomes an error response instead of a
    success the client already received. An exception from the endpoint rolls back.
    """
    database: Database = request.app.state.database
    async with database.sessionmaker() as session, session.begin():
        yield session


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
