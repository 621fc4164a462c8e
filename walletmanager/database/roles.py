"""The two database roles of SPEC §14.

* The **owner** (``DATABASE_MIGRATION_URL``) owns the schema: it runs the migrations, and the
  functions that move positions run with its rights (``SECURITY DEFINER``).
* The **runtime** role (``DATABASE_URL``) is what the web processes, workers and commands connect
  as. It reads and writes ordinary rows, but the ledger (transactions, entries, balances and
  assets, audit events and seals, rollups) it only reads: it writes them through the ``ledger``
  schema's SECURITY DEFINER functions (SPEC §16), may create no temporary object, truncate nothing,
  and alter or disable no trigger (only a table's owner may).

Each app declares the tables it restricts with ``restrict()`` in its ``AppConfig.ready()``; every
other table of the schema gets SELECT, INSERT, UPDATE and DELETE. ``grant_runtime_privileges`` runs
after every ``migrate`` (as the owner), so new tables are covered the moment they exist.

``provision()`` creates both roles and the database on a server where we hold a superuser: the
embedded PostgreSQL and CI. On a managed server, a DBA runs the equivalent SQL (README).
"""

from __future__ import annotations

import argparse
from urllib.parse import quote, urlsplit, urlunsplit

OWNER_ROLE = "walletmanager_owner"
RUNTIME_ROLE = "walletmanager_app"

_restricted: dict[str, tuple[str, ...]] = {}


def restrict(table: str, *privileges: str) -> None:
    """The runtime role gets exactly ``privileges`` on ``table`` (e.g. ``"SELECT"``, ``"INSERT"``,
    ``"UPDATE (credit_limit, updated_at)"``) instead of the default read and write."""
    _restricted[table] = privileges


def restricted_tables() -> dict[str, tuple[str, ...]]:
    return dict(_restricted)


def grant_runtime_privileges(connection) -> None:
    """As the owner: give the runtime role what it may do, and nothing more."""
    runtime = connection.ops.quote_name(connection.runtime_role)
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {runtime}")
        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {runtime}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {runtime}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {runtime}")
        # The ledger's door (SPEC §16): its functions, and nothing else of its schema.
        cursor.execute("CREATE SCHEMA IF NOT EXISTS ledger")
        cursor.execute("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ledger FROM PUBLIC")
        cursor.execute(f"GRANT USAGE ON SCHEMA ledger TO {runtime}")
        cursor.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ledger TO {runtime}")
        # No temporary objects: a temporary table, sequence or function is how a caller would stand in
        # for a name a trigger or definer function uses (the migrations revoke it from PUBLIC).
        database = connection.ops.quote_name(connection.settings_dict["NAME"])
        cursor.execute(f"REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC")
        cursor.execute(f"REVOKE TEMPORARY ON DATABASE {database} FROM {runtime}")
        for table, privileges in sorted(_restricted.items()):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"REVOKE ALL ON {quoted} FROM {runtime}")
            cursor.execute(f"GRANT {', '.join(privileges)} ON {quoted} TO {runtime}")


def grant_after_migrate(sender, using, **kwargs) -> None:
    """``post_migrate`` receiver: re-apply the runtime role's privileges (owner connection)."""
    from django.db import connections

    connection = connections[using]
    if getattr(connection, "has_owner_role", False):
        grant_runtime_privileges(connection)


# --- provisioning (superuser) --------------------------------------------------------------------


def _url_for(admin_url: str, *, user: str, database: str) -> str:
    parts = urlsplit(admin_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{quote(user)}@{host}", f"/{quote(database)}", parts.query, ""))


def provision(
    admin_url: str, *, database: str, owner: str = OWNER_ROLE, runtime: str = RUNTIME_ROLE
) -> tuple[str, str]:
    """With a superuser's ``admin_url`` (trust or peer authentication): create the owner (LOGIN,
    CREATEDB: the test suite creates its own database) and the runtime role (LOGIN), the database
    owned by the owner, and hand the owner whatever an earlier single-role install left to another
    role. Idempotent. Returns ``(runtime_url, owner_url)``."""
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(admin_url, autocommit=True) as admin:
        for role, options in ((owner, "LOGIN CREATEDB"), (runtime, "LOGIN")):
            if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                try:
                    admin.execute(sql.SQL(f"CREATE ROLE {{}} {options}").format(sql.Identifier(role)))
                except (errors.DuplicateObject, errors.UniqueViolation):
                    pass  # created by a concurrent run
        current = admin.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
        if current is None:
            try:
                admin.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owner))
                )
            except errors.DuplicateDatabase:
                pass
        elif current[0] != owner:
            admin.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), sql.Identifier(owner))
            )
    with psycopg.connect(
        _url_for(admin_url, user=urlsplit(admin_url).username or "postgres", database=database), autocommit=True
    ) as admin:
        admin.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))
        # A database migrated before the two roles existed: its tables (with their identity
        # sequences), views and functions pass to the owner, so that migrations can go on and the
        # runtime role is not one.
        admin.execute(
            sql.SQL("""
            DO $$
            DECLARE statement text;
            BEGIN
                FOR statement IN
                    SELECT format('ALTER TABLE %I.%I OWNER TO %I', schemaname, tablename, {owner})
                      FROM pg_tables WHERE schemaname = 'public' AND tableowner <> {owner}
                    UNION ALL
                    SELECT format('ALTER VIEW %I.%I OWNER TO %I', schemaname, viewname, {owner})
                      FROM pg_views WHERE schemaname = 'public' AND viewowner <> {owner}

                    UNION ALL
                    SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, {owner})
                      FROM pg_proc p
                     WHERE p.pronamespace = 'public'::regnamespace AND pg_get_userbyid(p.proowner) <> {owner}
                LOOP
                    EXECUTE statement;
                END LOOP;
            END $$;
            """).format(owner=sql.Literal(owner))
        )
    return _url_for(admin_url, user=runtime, database=database), _url_for(admin_url, user=owner, database=database)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m walletmanager.database.roles",
        description="Create WalletManager's owner and runtime roles and its database (needs a superuser URL); "
        "prints DATABASE_URL and DATABASE_MIGRATION_URL as shell assignments.",
    )
    parser.add_argument("admin_url", help="postgres://superuser@host:port/postgres (trust or peer authentication)")
    parser.add_argument("database", help="name of the database to create or adopt")
    arguments = parser.parse_args()
    runtime_url, owner_url = provision(arguments.admin_url, database=arguments.database)
    print(f"DATABASE_URL={runtime_url}")
    print(f"DATABASE_MIGRATION_URL={owner_url}")


if __name__ == "__main__":
    main()
