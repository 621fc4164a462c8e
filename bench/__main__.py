"""``python -m bench [--suite ledger|http|scale|all] [options]`` (``make bench BENCH_ARGS="..."``).

The default suite is ``ledger`` (the service-layer throughput next to pgbench), so ``make bench``
keeps its documented meaning and cost; ``http`` and ``scale`` are run on request, ``all`` runs the
three in turn. Each suite prints its table and writes ``bench/results/<suite>-<timestamp>.json``.
"""

import argparse
import subprocess
import sys

from bench.http import ENDPOINTS as HTTP_ENDPOINTS

SUITES = ("ledger", "http", "scale")


def _counts(parser, text: str, option: str) -> list[int]:
    try:
        counts = [int(value) for value in text.split(",")]
    except ValueError:
        parser.error(f"{option} takes comma-separated whole numbers, e.g. 1,4,8")
    if not counts or min(counts) < 1:
        parser.error(f"{option} takes whole numbers ≥ 1")
    return counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--suite",
        choices=(*SUITES, "all"),
        default="ledger",
        help="ledger (default): service-layer throughput vs pgbench; http: the API under gunicorn; "
        "scale: list pages, reconcile and export with a million transactions; all: the three in turn.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the throwaway databases after the run.")

    ledger = parser.add_argument_group("ledger suite")
    ledger.add_argument("--duration", type=float, default=10.0, help="Seconds per measured cell (default 10).")
    ledger.add_argument("--workers", default="1,4,8", help="Comma-separated worker / client counts (default 1,4,8).")
    ledger.add_argument("--scenarios", default="uniform,hot", help="uniform, hot or both (default both).")
    ledger.add_argument("--wallets", type=int, default=1000, help="Funded client wallets to create (default 1000).")
    ledger.add_argument(
        "--pgbench-scale", type=int, default=0, help="pgbench -i scale (default: the largest client count)."
    )
    ledger.add_argument("--skip-pgbench", action="store_true", help="Measure the ledger only.")
    ledger.add_argument(
        "--profile", action="store_true", help="Also cProfile one uniform worker and print the top calls."
    )
    ledger.add_argument("--real-hasher", action="store_true", help="Hash PINs with Argon2 as in production.")

    http = parser.add_argument_group("http suite")
    http.add_argument(
        "--http-duration", type=float, default=10.0, help="Seconds per endpoint and concurrency (default 10)."
    )
    http.add_argument("--http-concurrency", default="1,4,8", help="Comma-separated load processes (default 1,4,8).")
    http.add_argument("--http-workers", type=int, default=2, help="gunicorn sync workers (default 2).")
    http.add_argument(
        "--http-clients",
        type=int,
        default=0,
        help="Clients (one wallet each; default: the largest concurrency, at least 2 when transfers are measured).",
    )
    http.add_argument(
        "--http-profile",
        action="store_true",
        help="Instead of gunicorn: each endpoint in this process through the WSGI handler, CPU ms and queries "
        "a request, and cProfile's costliest calls.",
    )
    http.add_argument(
        "--http-profile-requests", type=int, default=300, help="Timed requests per endpoint (default 300)."
    )
    http.add_argument("--http-history", type=int, default=60, help="Deposits per wallet before the run (default 60).")
    http.add_argument(
        "--http-endpoints",
        default="health,wallet,transactions,transfer,deposit",
        help="Comma-separated subset of health, wallet, transactions, transfer, deposit (default all five).",
    )

    scale = parser.add_argument_group("scale suite")
    scale.add_argument(
        "--scale-transactions", type=int, default=1_000_000, help="Transactions to load (default 1 000 000)."
    )
    scale.add_argument("--scale-users", type=int, default=200, help="Demo clients for seed_demo (default 200).")
    scale.add_argument(
        "--scale-busy-wallet",
        type=int,
        default=50_000,
        help="Transactions started by one busy wallet, the one whose list is measured (default 50 000; "
        "at most a twentieth of --scale-transactions).",
    )
    scale.add_argument(
        "--scale-repeats", type=int, default=20, help="Timed requests per page (default 20, after one warm-up)."
    )
    scale.add_argument(
        "--scale-database",
        default="",
        help="Use (and keep) this database on the server: created and seeded if missing, reused as it is "
        "otherwise (seed_demo only tops it up), so a million transactions are loaded once.",
    )
    scale.add_argument("--skip-export", action="store_true", help="Do not measure export_transactions.")

    options = parser.parse_args(argv)
    _counts(parser, options.workers, "--workers")
    options.http_concurrency = _counts(parser, options.http_concurrency, "--http-concurrency")
    options.http_endpoints = [value.strip() for value in options.http_endpoints.split(",") if value.strip()]
    if options.duration <= 0 or options.wallets < 2:
        parser.error("--duration > 0 and --wallets ≥ 2")
    if not set(options.scenarios.split(",")) <= {"uniform", "hot"}:
        parser.error("--scenarios takes uniform, hot or uniform,hot")
    if options.http_duration <= 0 or options.http_workers < 1 or options.http_history < 0:
        parser.error("--http-duration > 0, --http-workers ≥ 1, --http-history ≥ 0")
    if not options.http_endpoints or not set(options.http_endpoints) <= set(HTTP_ENDPOINTS):
        parser.error(f"--http-endpoints takes a comma-separated subset of {', '.join(HTTP_ENDPOINTS)}")
    if options.scale_transactions < 1 or options.scale_users < 1 or options.scale_repeats < 1:
        parser.error("--scale-transactions, --scale-users and --scale-repeats take whole numbers ≥ 1")
    if options.scale_busy_wallet < 0:
        parser.error("--scale-busy-wallet takes a whole number ≥ 0")
    return options


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    options = parse_args(argv)
    if options.suite == "all":
        # One process per suite: each configures Django against its own throwaway database.
        status = 0
        for suite in SUITES:
            status |= subprocess.run([sys.executable, "-m", "bench", *argv, "--suite", suite]).returncode
        return status
    if options.suite == "ledger":
        from bench import ledger as module
    elif options.suite == "http":
        from bench import http as module
    else:
        from bench import scale as module
    return module.main(options)


if __name__ == "__main__":
    sys.exit(main())
