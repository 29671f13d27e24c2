"""Declarative base, naming convention and the columns every table shares."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DDL, DateTime, ForeignKey, MetaData, Table, Uuid, event, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from uuid_utils.compat import uuid7

# Deterministic constraint names, so Alembic migrations and the models agree exactly.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
    }


def table_of(model: type[Base]) -> Table:
    """The model's table, for Core statements (`insert(…).from_select`, aliases) where
    the ORM entity would add ORM behaviour; typed as the Table it is."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, server_default=func.gen_random_uuid()
    )


# PostgreSQL 18 has uuidv7(); on an older server the same function is made in `public`
# (a random UUID with the Unix time in milliseconds in its first 48 bits and the version
# bits set to 7, RFC 9562), by migration 3c1f0e9a7b21 and by create_all alike.
UUIDV7_ON_OLDER_SERVERS = DDL(
    """
DO $$
BEGIN
    IF current_setting('server_version_num')::int < 180000 THEN
        CREATE OR REPLACE FUNCTION public.uuidv7() RETURNS uuid
        LANGUAGE sql VOLATILE PARALLEL SAFE AS $f$
            SELECT encode(
                set_bit(
                    set_bit(
                        overlay(
                            uuid_send(gen_random_uuid())
                            PLACING substring(
                                int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                                FROM 3
                            )
                            FROM 1 FOR 6
                        ),
                        52, 1
                    ),
                    53, 1
                ),
                'hex'
            )::uuid
        $f$;
    END IF;
END
$$
"""
)
event.listen(Base.metadata, "before_create", UUIDV7_ON_OLDER_SERVERS)


class TimeOrderedUUIDPrimaryKey:
    """A UUIDv7 id (time first): rows written in bulk (a run's assignments and history)
    land on the rightmost leaves of the primary-key index instead of random ones, so
    the index's hot part stays in shared buffers as the table grows. `uuidv7()` is
    PostgreSQL 18's; migration 3c1f0e9a7b21 defines it on older servers."""

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid7, server_default=func.uuidv7()
    )


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class TenantScoped:
    """Every row belongs to a tenant; the column leads every index and unique key."""

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))


class TenantColumn:
    """`tenant_id` without its own foreign key, for tables written row by row in bulk
    whose composite foreign keys (to the tenant's tree, category, customer) already
    imply the tenant exists: one index probe per row less, the same integrity."""

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid())


class Versioned:
    """A version counter for ETags: bumped by every update, compared by If-Match."""

    version: Mapped[int] = mapped_column(server_default="1")
