"""HTTP throughput and latency of the API under gunicorn, next to a trivial view (SPEC §10).

One run, one PostgreSQL server (DATABASE_URL's, else the embedded one under var/):

1. create a throwaway database, migrate it and open, through the services, one client per load
   process (``--http-clients``, default: the largest concurrency, at least 2 when transfers are
   measured, since each pays the next client), each with a multi-currency wallet,
   ``--http-history`` deposits and a token;
2. start gunicorn (sync workers, ``--http-workers``, default 2) on a free port of 127.0.0.1 with
   DEBUG off and the database's URL;
3. for each endpoint and concurrency, start that many load processes, each its own HTTP client with
   its own client's token and wallet, sending requests back to back for ``--http-duration`` seconds:
   ``GET /api/health/`` (the baseline: the app's request cycle without the database),
   ``GET /api/wallets/{id}/``, ``GET /api/transactions/?wallet={id}`` (a page of 50),
   ``POST /api/transactions/`` transfer (1.00 USD to the next client's wallet address, with the PIN,
   which the server checks as in production) and deposit (a 1.00 USD deposit request into the
   client's own wallet: it stays pending until the money arrives);
4. stop gunicorn, run ``reconcile``, print one table, write ``bench/results/http-<timestamp>.json``
   and drop the database.

Gunicorn's sync workers do not keep connections alive (each response closes its connection), so
every request pays a TCP connect on 127.0.0.1; the client reconnects transparently. The load
processes share the machine's cores with gunicorn and PostgreSQL: on a small machine the numbers
are a floor, and the ratio to the trivial view is the figure to compare.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from bench.databases import (
    BASE_DIR,
    close_django_connections,
    database_env,
    load_average,
    percentile,
    server_url,
    server_version,
    setup_django,
    throwaway_database,
    write_result,
)

HOST = "127.0.0.1"
PASSWORD = "bench-Pa55word-long"
PIN = "2468"
ENDPOINTS = ("health", "wallet", "transactions", "transfer", "deposit")
BASELINE = "health"
# SPEC §10: each endpoint's throughput as a share of the trivial view's, at 1 and at 8 clients.
TARGETS = {"wallet": 0.35, "transactions": 0.25, "transfer": 0.25}
TARGET_CONCURRENCIES = (1, 8)
FUNDING = "100000.00"


@dataclass
class Cell:
    endpoint: str
    label: str
    concurrency: int
    duration: float
    requests: int = 0
    errors: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    statuses: dict | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.duration if self.duration else 0.0


@dataclass
class Client:
    token: str
    wallet_id: str
    pay_to: str = ""  # the address of the wallet this client's transfers go to


# --- data ----------------------------------------------------------------------------------------


def prepare_clients(count: int, history: int, *, progress) -> list[Client]:
    """Open ``count`` clients through the services, each with a wallet, some history and a token."""
    from django.conf import settings
    from django.core.management import call_command
    from knox.models import AuthToken

    from balances.models import Currency
    from transactions.deposits import deposit_confirm, transaction_deposit
    from users.services import user_create
    from wallets.services import wallet_create

    call_command("migrate", verbosity=0)
    usd = Currency.objects.get(code="USD")
    # The migrated velocity limits stay, so a transfer runs its daily-limit check as in production;
    # the benchmark's transfers of 1.00 never reach it.
    Currency.objects.filter(pk=usd.pk).update(is_active=True)
    clients = []
    addresses = []
    for index in range(count):
        owner = user_create(
            actor=None, email=f"http{index}@example.com", password=PASSWORD, first_name="Http", last_name="Client"
        )
        wallet = wallet_create(
            actor=None, owner=owner, name=f"Http {index}", balance_kind="multi", currency=None, pin=PIN
        )
        for amount in [FUNDING] + ["1.00"] * history:
            pending = transaction_deposit(actor=owner, wallet=wallet, currency=usd, amount=amount)
            deposit_confirm(actor=None, transaction=pending, reason="bench history")
        _, token = AuthToken.objects.create(owner, expiry=settings.TOKEN_TTL)
        clients.append(Client(token=token, wallet_id=str(wallet.pk)))
        addresses.append(wallet.address)
        progress(f"  client {index + 1}/{count} ready ({history} deposits)")
    for index, client in enumerate(clients):
        client.pay_to = addresses[(index + 1) % len(addresses)]
    return clients


def request_for(endpoint: str, client: Client) -> tuple[str, str, bytes | None, dict[str, str]]:
    """Method, path, body and headers of one request to ``endpoint`` on behalf of ``client``."""
    headers = {"Authorization": f"Token {client.token}", "Accept": "application/json"}
    if endpoint == "health":
        return "GET", "/api/health/", None, {"Accept": "application/json"}
    if endpoint == "wallet":
        return "GET", f"/api/wallets/{client.wallet_id}/", None, headers
    if endpoint == "transactions":
        return "GET", f"/api/transactions/?wallet={client.wallet_id}&page_size=50", None, headers
    if endpoint == "transfer":
        body = json.dumps(
            {
                "kind": "transfer",
                "wallet": client.wallet_id,
                "to_address": client.pay_to,
                "currency": "USD",
                "amount": "1.00",
                "pin": PIN,
            }
        )
        return "POST", "/api/transactions/", body.encode(), {**headers, "Content-Type": "application/json"}
    body = json.dumps({"kind": "deposit", "wallet": client.wallet_id, "currency": "USD", "amount": "1.00"})
    return "POST", "/api/transactions/", body.encode(), {**headers, "Content-Type": "application/json"}


LABELS = {
    "health": "GET /api/health/",
    "wallet": "GET /api/wallets/{id}/",
    "transactions": "GET /api/transactions/?wallet={id}",
    "transfer": "POST /api/transactions/ (transfer, PIN)",
    "deposit": "POST /api/transactions/ (deposit)",
}
EXPECTED_STATUS = {"health": 200, "wallet": 200, "transactions": 200, "transfer": 201, "deposit": 201}


# --- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# The settings the server runs with, besides its database (production's: DEBUG off, real hashers).
SERVER_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_ALLOWED_HOSTS": HOST,
    "DJANGO_SETTINGS_MODULE": "walletmanager.settings",
    # A client sending transfers back to back would meet the PIN throttle (SPEC §13: 30 a minute
    # per user by default) after half a second, and the benchmark would measure 429s. The
    # throttles still run on every request (their cache reads and writes are in the numbers);
    # only their rate is raised.
    "PIN_THROTTLE": "1000000/min",
    "PIN_THROTTLE_WALLET": "1000000/min",
}


def start_gunicorn(database_url: str, *, workers: int, port: int) -> subprocess.Popen:
    env = {**os.environ, **database_env(database_url), **SERVER_ENV}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "walletmanager.wsgi:application",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
        "--timeout",
        "60",
    ]
    server = subprocess.Popen(command, cwd=BASE_DIR, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited at start-up with status {server.returncode}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/api/health/")
            if connection.getresponse().status == 200:
                connection.close()
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop_gunicorn(server)
    raise SystemExit("gunicorn did not answer /api/health/ within 60 s")


def stop_gunicorn(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # graceful: the arbiter stops its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- the load ------------------------------------------------------------------------------------


def _load_process(port: int, endpoint: str, client: Client, start_at: float, duration: float, queue) -> None:
    """One load process: one HTTP client sending requests back to back until the deadline."""
    method, path, body, headers = request_for(endpoint, client)
    expected = EXPECTED_STATUS[endpoint]
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0

    def one() -> int:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.getheader("Connection", "").lower() == "close":
            connection.close()  # sync workers: the next request opens a new connection
        return response.status

    for _ in range(3):  # warm up: the worker's imports, the connection pool, the caches
        one()
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + duration
    while time.time() < deadline:
        began = time.perf_counter()
        try:
            status = one()
        except (OSError, http.client.HTTPException):
            connection.close()
            errors += 1
            continue
        elapsed = time.perf_counter() - began
        statuses[status] = statuses.get(status, 0) + 1
        if status == expected:
            latencies.append(elapsed)
        else:
            errors += 1
    connection.close()
    queue.put({"latencies": latencies, "errors": errors, "statuses": statuses})


def run_cell(port: int, endpoint: str, concurrency: int, clients: list[Client], duration: float) -> Cell:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 2.0
    processes = [
        context.Process(
            target=_load_process,
            args=(port, endpoint, clients[index % len(clients)], start_at, duration, queue),
        )
        for index in range(concurrency)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=duration + 120) for _ in processes]
    for process in processes:
        process.join()
    cell = Cell(endpoint=endpoint, label=LABELS[endpoint], concurrency=concurrency, duration=duration, statuses={})
    latencies: list[float] = []
    for result in results:
        latencies.extend(result["latencies"])
        cell.errors += result["errors"]
        for status, count in result["statuses"].items():
            cell.statuses[str(status)] = cell.statuses.get(str(status), 0) + count
    latencies.sort()
    cell.requests = len(latencies)
    cell.p50_ms = percentile(latencies, 0.50) * 1000
    cell.p99_ms = percentile(latencies, 0.99) * 1000
    return cell


# --- in-process profile (--http-profile) ---------------------------------------------------------


def profile_in_process(endpoints: list[str], client: Client, requests: int) -> str:
    """Each endpoint's request through Django's WSGI handler in this process, with the server's
    settings: CPU ms a request (process time, median of 5 rounds), queries a request, and the
    costliest calls under cProfile. No sockets, no gunicorn: the application's own cost."""
    import cProfile
    import io
    import pstats
    import statistics

    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    application = get_wsgi_application()

    def call(method: str, path: str, body: bytes | None, headers: dict[str, str]) -> str:
        route, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": route,
            "QUERY_STRING": query,
            "SCRIPT_NAME": "",
            "SERVER_NAME": HOST,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": HOST,
            "HTTP_HOST": HOST,
            "CONTENT_LENGTH": str(len(body or b"")),
            "wsgi.input": io.BytesIO(body or b""),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        for name, value in headers.items():
            key = name.upper().replace("-", "_")
            environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
        statuses = []
        response = application(environ, lambda status, response_headers, exc_info=None: statuses.append(status))
        b"".join(response)
        response.close()  # request_finished, as a server sends it
        return statuses[0]

    rows, details = [], []
    for endpoint in endpoints:
        request = request_for(endpoint, client)
        for _ in range(20):  # warm up: imports, compiled queries, caches
            status = call(*request)
        if not status.startswith(str(EXPECTED_STATUS[endpoint])):
            raise SystemExit(f"{LABELS[endpoint]} answered {status} in-process")
        with CaptureQueriesContext(connection) as captured:
            call(*request)
        queries = len(captured.captured_queries)  # now: the next request_started clears the log
        per_round = max(requests // 5, 1)
        rounds = []
        for _ in range(5):
            began = time.process_time()
            for _ in range(per_round):
                call(*request)
            rounds.append((time.process_time() - began) / per_round * 1000)
        rows.append((LABELS[endpoint], statistics.median(rounds), queries))
        profiler = cProfile.Profile(time.process_time)  # CPU time: waiting for PostgreSQL is not counted
        profiler.enable()
        for _ in range(per_round):
            call(*request)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        details.append(f"\n{LABELS[endpoint]}, {per_round} requests under cProfile:\n{out.getvalue()}")
    lines = [
        f"In-process (WSGI handler, the server's settings), CPU ms a request: median of 5 rounds of {per_round}",
        f"{'endpoint':<38} {'CPU ms':>8} {'queries':>8}",
    ]
    lines += [f"{label:<38} {cpu:>8.3f} {queries:>8}" for label, cpu, queries in rows]
    return "\n".join(lines) + "\n" + "".join(details)


# --- the run -------------------------------------------------------------------------------------


def main(options) -> int:
    started = datetime.now(UTC)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731 - progress on stderr
    load_at_start = load_average()
    url = server_url()
    version = server_version(url)
    concurrencies = options.http_concurrency
    # A transfer goes to the next client's wallet: with one client it would go to its own (a 400).
    client_count = options.http_clients or max(*concurrencies, 2 if "transfer" in options.http_endpoints else 1)
    database = f"walletmanager_http_{os.getpid()}"
    log(f"PostgreSQL {version}; database {database}; nproc {os.cpu_count()}; load average {load_at_start}")

    cells: list[Cell] = []
    with throwaway_database(url, database, keep=options.keep) as database_url:
        setup_django(database_url, real_hasher=False, extra_env=SERVER_ENV if options.http_profile else None)
        log(f"Preparing {client_count} clients…")
        clients = prepare_clients(client_count, options.http_history, progress=log)
        if options.http_profile:
            # The clients' passwords were hashed cheaply above; these requests hash none (tokens and
            # PINs are keyed digests), so the profile is the server's.
            log("Profiling in-process…")
            print(profile_in_process(options.http_endpoints, clients[0], options.http_profile_requests))
            close_django_connections()
            return 0
        close_django_connections()  # never share a socket with the forked load processes

        port = free_port()
        log(f"gunicorn -w {options.http_workers} on {HOST}:{port}…")
        server = start_gunicorn(database_url, workers=options.http_workers, port=port)
        try:
            for endpoint in options.http_endpoints:
                for concurrency in concurrencies:
                    log(f"{LABELS[endpoint]} × {concurrency}, {options.http_duration:g} s…")
                    cells.append(run_cell(port, endpoint, concurrency, clients, options.http_duration))
        finally:
            stop_gunicorn(server)

        from io import StringIO

        from django.core.management import call_command

        try:
            call_command("reconcile", stdout=StringIO())
            reconcile_clean = True
        except SystemExit:
            reconcile_clean = False

    report = build_report(
        cells,
        started=started,
        version=version,
        options=options,
        clients=client_count,
        reconcile_clean=reconcile_clean,
        load={"start": load_at_start, "end": load_average()},
    )
    print(render_table(report))
    path = write_result("http", started, report)
    print(f"\nwritten {path.relative_to(BASE_DIR)}")
    return 0 if reconcile_clean and not any(cell.errors for cell in cells) else 1


def build_report(cells, *, started, version, options, clients, reconcile_clean, load) -> dict:
    baseline = {cell.concurrency: cell.rps for cell in cells if cell.endpoint == BASELINE}
    rows = []
    for cell in cells:
        base = baseline.get(cell.concurrency)
        rows.append(
            {
                **asdict(cell),
                "rps": round(cell.rps, 1),
                "p50_ms": round(cell.p50_ms, 2),
                "p99_ms": round(cell.p99_ms, 2),
                "ratio_to_health": round(cell.rps / base, 3) if base else None,
            }
        )
    return {
        "benchmark": "http",
        "started_at": started.isoformat(),
        "nproc": os.cpu_count(),
        "load_average": load,
        "postgresql": version,
        "server": f"gunicorn sync, {options.http_workers} workers, {HOST}, DEBUG off",
        "duration_s": options.http_duration,
        "clients": clients,
        "history_per_wallet": options.http_history,
        "cells": rows,
        "targets": _targets(rows),
        "reconcile_clean_after": reconcile_clean,
    }


def _targets(rows: list[dict]) -> dict[str, bool | None]:
    """Each SPEC §10 target: met (True), missed (False) or not measured in this run (None)."""
    ratios = {(row["endpoint"], row["concurrency"]): row["ratio_to_health"] for row in rows}
    targets = {}
    for endpoint, share in TARGETS.items():
        for concurrency in TARGET_CONCURRENCIES:
            ratio = ratios.get((endpoint, concurrency))
            name = f"{LABELS[endpoint]} >= {share} x health at {concurrency} client{'s' if concurrency > 1 else ''}"
            targets[name] = None if ratio is None else ratio >= share
    return targets


def render_table(report: dict) -> str:
    lines = [
        f"HTTP benchmark {report['started_at'][:19]}Z — {report['server']}; PostgreSQL {report['postgresql']}, "
        f"nproc {report['nproc']}, {report['duration_s']:g} s per cell, {report['clients']} clients "
        f"({report['history_per_wallet']} transactions each at start)",
        f"load average (1/5/15 min) at start {report['load_average']['start']}, at end {report['load_average']['end']}",
        "",
        f"{'endpoint':<38} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'× health':>8}",
    ]
    for row in report["cells"]:
        ratio = f"{row['ratio_to_health']:.2f}" if row["ratio_to_health"] is not None else "—"
        lines.append(
            f"{row['label']:<38} {row['concurrency']:>4} {row['rps']:>8.1f} {row['p50_ms']:>8.1f} "
            f"{row['p99_ms']:>8.1f} {row['errors']:>6} {ratio:>8}"
        )
    lines.append("")
    for target, met in report["targets"].items():
        lines.append(f"target {target}: {'met' if met else 'MISSED' if met is False else 'not measured'}")
    lines.append(f"reconcile after the run: {'clean' if report['reconcile_clean_after'] else 'DRIFT'}")
    return "\n".join(lines)
