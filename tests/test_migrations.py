"""The migrations build exactly the schema the models declare, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from smshub.kit.db import sync_url
from smshub.models import Base


def test_models_and_migrations_agree(db_url):
    engine = create_engine(sync_url(db_url))
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == []
