"""SQL kept in ``<app>/sql/<name>.sql`` and loaded by a migration (SPEC §16): the file is the
reviewable source of a version of the ledger's functions; the next version is a new file loaded by a
new migration, so an applied migration never changes what it ran."""

from __future__ import annotations

from pathlib import Path

from django.db import migrations


def sql_file(migration_file: str, name: str, *, reverse_sql: str | None = None) -> migrations.RunSQL:
    """``RunSQL`` of ``<app>/sql/<name>``, ``migration_file`` being the migration's ``__file__``."""
    path = Path(migration_file).resolve().parent.parent / "sql" / name
    return migrations.RunSQL(path.read_text(encoding="utf-8"), reverse_sql=reverse_sql or migrations.RunSQL.noop)
