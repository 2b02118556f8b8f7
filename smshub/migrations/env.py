"""Alembic environment: sync drivers, batch mode on SQLite, our naming convention."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from smshub.kit.db import install_sqlite_pragmas, sync_url
from smshub.models import Base

config = context.config
url = sync_url(config.get_main_option("sqlalchemy.url") or "")


def run() -> None:
    engine = create_engine(url)
    if url.startswith("sqlite"):
        install_sqlite_pragmas(engine)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=url.startswith("sqlite"),
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
