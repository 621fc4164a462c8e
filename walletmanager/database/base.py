"""Django's PostgreSQL backend, able to act as the schema owner when it must.

The application connects as its runtime role (``DATABASE_URL``), which may not write positions,
rewrite the ledger, truncate or alter tables (SPEC §14). Schema changes need the owner
(``DATABASE_MIGRATION_URL``, kept in ``settings_dict["OWNER"]``): ``as_owner()`` reconnects as the
owner for the duration of a block. ``migrate``, ``flush`` and the creation and destruction of test
databases use it; nothing on a request path does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.postgresql import base, creation


class DatabaseCreation(creation.DatabaseCreation):
    def create_test_db(self, *args, **kwargs):
        with self.connection.as_owner():
            return super().create_test_db(*args, **kwargs)

    def destroy_test_db(self, *args, **kwargs):
        with self.connection.as_owner():
            return super().destroy_test_db(*args, **kwargs)

    def deserialize_db_from_string(self, data):
        # A transactional test's restore of the migrations' rows (system wallets' balances among them)
        # follows the owner's flush: the runtime role writes no balance itself (SPEC §16).
        with self.connection.as_owner():
            return super().deserialize_db_from_string(data)


# The statements each connection prepares (``prepared``), by their text.
_PREPARED: set[str] = set()


def prepared(sql: str) -> str:
    """Mark ``sql`` as a hot statement that each connection prepares on its first run: PostgreSQL
    parses and plans it once, then reuses a generic plan. Planning was much of a movement's time in
    its statements (pgbench on the movement's lock statements, simple vs prepared protocol,
    1 179 vs 1 515 tps).

    Only for statements whose best plan does not depend on their values: lookups by key, a wallet's
    rows by its id. Never for a filter on a skewed column or on a partial index's predicate (a
    generic plan cannot use that index): when every statement was prepared, the scale benchmark's
    list of pending transactions went from 6 ms to 1.25 s and balance-as-of from 5 to 108 ms. So the
    ORM's statements are not prepared."""
    _PREPARED.add(sql)
    return sql


class PreparingCursor(base.ServerBindingCursor):
    """Django's server-binding cursor that prepares the ``prepared`` statements and no others."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        if prepare is None:
            # A composed query (psycopg.sql, as Django's callproc sends) is never one of ours, and unhashable.
            prepare = isinstance(query, str) and query in _PREPARED
        return super().execute(query, params, prepare=prepare, binary=binary)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation

    def get_connection_params(self):
        params = super().get_connection_params()
        if params.get("cursor_factory") is base.ServerBindingCursor:
            params["cursor_factory"] = PreparingCursor
        return params

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._owner_depth = 0
        self._runtime_credentials: dict | None = None

    @property
    def pool(self):
        """Django's pool (settings ``OPTIONS["pool"]``) holds the runtime role's connections: as the
        owner (``as_owner``) the wrapper connects directly, outside it."""
        if getattr(self, "_owner_depth", 0):
            return None
        return super().pool

    def close_pool(self):
        # Also as the owner: dropping the test database first closes the runtime role's pool.
        pool = self._connection_pools.pop(self.alias, None)
        if pool is not None:
            pool.close()

    def _close(self):
        # A connection made outside the pool (the owner's) is closed, not handed to the pool.
        if self.connection is not None and getattr(self.connection, "_pool", None) is None:
            with self.wrap_database_errors:
                return self.connection.close()
        return super()._close()

    @property
    def has_owner_role(self) -> bool:
        """Whether migrations run as a role of their own (two-role deployment)."""
        owner = self.settings_dict.get("OWNER") or {}
        return bool(owner.get("USER")) and owner.get("USER") != self.runtime_role

    @property
    def runtime_role(self) -> str:
        credentials = self._runtime_credentials or self.settings_dict
        return credentials.get("USER") or ""

    @contextmanager
    def as_owner(self) -> Iterator[None]:
        """Run the block connected as the owner role; back to the runtime role afterwards. The
        connection is closed on the way in and out, so no session setting outlives the block."""
        if self._owner_depth:
            self._owner_depth += 1
            try:
                yield
            finally:
                self._owner_depth -= 1
            return
        if self.in_atomic_block:
            raise RuntimeError("Switching to the owner role inside a transaction would end it.")
        owner = self.settings_dict.get("OWNER") or {}
        self.close()
        self._runtime_credentials = {key: self.settings_dict.get(key) for key in ("USER", "PASSWORD", "HOST", "PORT")}
        if owner.get("USER"):
            self.settings_dict.update({key: value for key, value in owner.items() if key in self._runtime_credentials})
        self._owner_depth = 1
        try:
            yield
        finally:
            self._owner_depth = 0
            self.close()
            self.settings_dict.update(self._runtime_credentials)
            self._runtime_credentials = None
