"""Alembic environment: one metadata for all schemas, URL from geo.db."""
from alembic import context
from geoalchemy2 import alembic_helpers

from geo.db import get_engine
from geo.models_all import metadata

config = context.config
SCHEMAS = {"geo", "admin"}


def include_name(name, type_, parent_names):
    if type_ == "schema":
        return name in SCHEMAS
    return True


def run_migrations_online() -> None:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url") or None
    connectable = config.attributes.get("connection")
    if connectable is None:
        with get_engine(url).connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_schemas=True,
        include_name=include_name,
        version_table_schema="public",
        include_object=alembic_helpers.include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
