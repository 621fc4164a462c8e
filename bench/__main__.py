"""``python -m bench [options]`` (``make bench BENCH_ARGS="..."``): the ledger throughput benchmark."""

import argparse
import sys

from bench import ledger


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=ledger.__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds per measured cell (default 10).")
    parser.add_argument("--workers", default="1,4,8", help="Comma-separated worker / client counts (default 1,4,8).")
    parser.add_argument("--scenarios", default="uniform,hot", help="uniform, hot or both (default both).")
    parser.add_argument("--wallets", type=int, default=1000, help="Funded client wallets to create (default 1000).")
    parser.add_argument("--pgbench-scale", type=int, default=0, help="pgbench -i scale (default: the largest client count).")
    parser.add_argument("--skip-pgbench", action="store_true", help="Measure the ledger only.")
    parser.add_argument("--profile", action="store_true", help="Also cProfile one uniform worker and print the top calls.")
    parser.add_argument("--real-hasher", action="store_true", help="Hash PINs with Argon2 as in production.")
    parser.add_argument("--keep", action="store_true", help="Keep the ledger database after the run.")
    options = parser.parse_args(argv)
    try:
        counts = [int(value) for value in options.workers.split(",")]
    except ValueError:
        parser.error("--workers takes comma-separated whole numbers, e.g. 1,4,8")
    if not counts or min(counts) < 1 or options.duration <= 0 or options.wallets < 2:
        parser.error("--workers ≥ 1, --duration > 0 and --wallets ≥ 2")
    if not set(options.scenarios.split(",")) <= {"uniform", "hot"}:
        parser.error("--scenarios takes uniform, hot or uniform,hot")
    return options


if __name__ == "__main__":
    sys.exit(ledger.main(parse_args()))
