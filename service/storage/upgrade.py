"""Bring a database made by an earlier version up to the current tables, idempotently, at start-up.

There are no migrations: ``create_all`` makes missing tables but never touches existing ones. A column
added to an existing table later (the tenant of datasets, jobs, theme models and taxonomy additions) is declared with a
string ``server_default``, and :func:`add_missing_columns` adds it, with its indexes, wherever it is
missing; existing rows get the default. Several processes may start at once: a column another one
added meanwhile is not an error.
"""

from __future__ import annotations

import logging

from sqlalchemy import Column, Engine, MetaData, inspect, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


def _add_column_sql(engine: Engine, table: str, col: Column) -> str:
    default = getattr(col.server_default, "arg", None)
    if not isinstance(default, str):
        raise TypeError(f"{table}.{col.name} was added to an existing table without a string server_default")
    q = engine.dialect.identifier_preparer.quote
    literal = "'" + default.replace("'", "''") + "'"
    null = "" if col.nullable else " NOT NULL"
    return (f"ALTER TABLE {q(table)} ADD COLUMN {q(col.name)} {col.type.compile(dialect=engine.dialect)}"
            f"{null} DEFAULT {literal}")


def add_missing_columns(engine: Engine, metadata: MetaData) -> list[str]:
    """Add every declared column an existing table lacks (and the indexes on it); the added ``table.column``s."""
    added: list[str] = []
    existing = set(inspect(engine).get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in existing:
            continue  # create_all makes it whole
        have = {c["name"] for c in inspect(engine).get_columns(table.name)}
        for col in table.columns:
            if col.name in have:
                continue
            try:
                with engine.begin() as conn:
                    conn.execute(text(_add_column_sql(engine, table.name, col)))
            except DBAPIError:
                if col.name not in {c["name"] for c in inspect(engine).get_columns(table.name)}:
                    raise
                continue  # another process added it first
            added.append(f"{table.name}.{col.name}")
            log.info("database upgraded: added column %s.%s", table.name, col.name)
        for index in table.indexes:
            if any(c.name not in have for c in index.columns):
                try:
                    index.create(engine, checkfirst=True)
                except DBAPIError:
                    if index.name not in {ix["name"] for ix in inspect(engine).get_indexes(table.name)}:
                        raise  # not a lost race with another process
    return added
