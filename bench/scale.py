"""List pages, reconcile and export with a million transactions loaded (SPEC §10).

One run, one PostgreSQL server (DATABASE_URL's, else the embedded one under var/):

1. a throwaway database (or ``--scale-database NAME``, created if missing and kept), migrated and
   filled by ``seed_demo --users U --transactions N --busy-wallet B`` (its set-based fast path, about
   2 000 tx/s; one wallet starts B = ``--scale-busy-wallet`` of them, default 50 000, SPEC §10), its
   audit trail sealed as the periodic job keeps it and ``ANALYZE``d as autovacuum would have done on a
   live system;
2. in this process, with Django's test client (no network, DEBUG off): each transaction list page
   of the API (as the busiest wallet's owner with a real token, and as staff), of the admin
   changelist (as a superuser; the busiest wallet's by a search for its address) and the admin index
   with the operators' dashboard is requested once to warm up, then ``--scale-repeats`` times:
   p50, p95, the SQL time and the number of queries of each request;
3. the query count of the list API at page sizes 10 and 200 (it must not grow with the page);
   the busiest wallet's statement (§14: its first page of 50 entries over a month, and page 20) and
   its balance as of a past instant (the middle of its busiest asset's history), as its owner;
4. ``manage.py reconcile`` timed, and the peak RSS (``wait4``'s ``ru_maxrss``) of
   ``manage.py export_transactions --output`` over everything and over the last tenth of the days
   (a streamed export keeps about the same peak for ten times the rows), next to that of
   ``manage.py check`` (Django loaded, nothing exported);
5. print one table, write ``bench/results/scale-<timestamp>.json``, drop the database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

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

LIST_API_P95_TARGET_MS = 50.0
CHANGELIST_P95_TARGET_MS = 300.0
DASHBOARD_P95_TARGET_MS = 150.0
BUSY_WALLET_TARGET = 50_000  # SPEC §10: the list targets hold with a wallet this busy in the data
STATEMENT_P95_TARGET_MS = 50.0
BALANCE_AS_OF_P95_TARGET_MS = 10.0
SEED_DAYS = 90  # seed_demo's default spread of bulk transactions
STAFF_EMAIL = "bench-staff@example.com"


@dataclass
class Page:
    group: str  # "api", "admin", "statement" or "balance"
    label: str
    path: str
    timings_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def summary(self) -> dict:
        timings = sorted(self.timings_ms)
        return {
            "group": self.group,
            "label": self.label,
            "path": self.path,
            "p50_ms": round(percentile(timings, 0.50), 1),
            "p95_ms": round(percentile(timings, 0.95), 1),
            "max_ms": round(timings[-1], 1) if timings else 0.0,
            "sql_p50_ms": round(percentile(sorted(self.sql_ms), 0.50), 1),
            "queries": sorted(set(self.queries)),
            "statuses": sorted(set(self.statuses)),
        }


def manage(database_url: str, *arguments: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, **database_env(database_url), "DJANGO_SETTINGS_MODULE": "walletmanager.settings"}
    if arguments[0] == "seed_demo":
        env["DJANGO_DEBUG"] = "1"  # seed_demo refuses its published logins with DEBUG off (SPEC §13)
    return subprocess.run([sys.executable, "manage.py", *arguments], cwd=BASE_DIR, env=env, **kwargs)


# --- loading -------------------------------------------------------------------------------------


def load(database_url: str, *, users: int, transactions: int, busy_wallet: int, log) -> dict:
    """Migrate and seed (seed_demo tops up, so a loaded database costs only a check); then ANALYZE.
    ``busy_wallet`` of the transactions start from one wallet, the busiest, whose list is measured."""
    manage(database_url, "migrate", "--verbosity", "0", check=True)
    began = time.perf_counter()
    manage(
        database_url,
        "seed_demo",
        "--users",
        str(users),
        "--transactions",
        str(transactions),
        "--busy-wallet",
        str(busy_wallet),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seeded_s = time.perf_counter() - began
    log(f"  seed_demo: {seeded_s:.0f} s")
    # What the periodic seal job (every minute on a live system) would have done: the dashboard counts
    # the events no seal covers yet, a short tail in production, not the whole seeded trail.
    began = time.perf_counter()
    manage(database_url, "seal_audit", check=True, stdout=subprocess.DEVNULL)
    log(f"  seal_audit: {time.perf_counter() - began:.0f} s")
    import psycopg

    began = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("ANALYZE")
        counts = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("transactions_transaction", "transactions_entry")
        }
    return {"seed_demo_s": round(seeded_s, 1), "analyze_s": round(time.perf_counter() - began, 1), "rows": counts}


# --- the pages -----------------------------------------------------------------------------------


def actors():
    """The busiest wallet (and how many transactions go into or out of it), a token of its owner and a
    superuser."""
    from django.conf import settings
    from django.db.models import Count, Q
    from knox.models import AuthToken

    from transactions.models import Transaction
    from users.models import User
    from wallets.models import Wallet

    busiest = Transaction.objects.values("wallet").annotate(count=Count("id")).order_by("-count").first()
    wallet = Wallet.objects.select_related("owner").get(pk=busiest["wallet"])
    involved = Transaction.objects.filter(Q(wallet=wallet) | Q(to_wallet=wallet)).count()
    _, owner_token = AuthToken.objects.create(wallet.owner, expiry=settings.TOKEN_TTL)
    staff = User.objects.filter(email=STAFF_EMAIL).first() or User.objects.create_superuser(
        email=STAFF_EMAIL, password="bench-Pa55word-long", first_name="Bench", last_name="Staff"
    )
    _, staff_token = AuthToken.objects.create(staff, expiry=settings.TOKEN_TTL)
    some_id = Transaction.objects.filter(wallet=wallet).values_list("pk", flat=True).first()
    return wallet, involved, owner_token, staff, staff_token, some_id


def statement_instants(wallet) -> tuple[str, datetime, datetime, datetime, int]:
    """The busiest wallet's busiest currency; a month's range ending at its newest entry and how many
    entries it holds; the middle of its history, the past instant whose balance is asked for.
    (Bulk-seeded entries carry the moment they were written, like every entry, so the month may
    cover the whole history.)"""
    from django.db.models import Count, Max, Min

    from transactions.models import Entry

    busiest = (
        Entry.objects.filter(wallet=wallet).values("currency").annotate(count=Count("id")).order_by("-count").first()
    )
    entries = Entry.objects.filter(wallet=wallet, currency=busiest["currency"])
    span = entries.aggregate(first=Min("created_at"), last=Max("created_at"))
    month_from = span["last"] - timedelta(days=30)
    in_month = entries.filter(created_at__gte=month_from).count()
    middle = span["first"] + (span["last"] - span["first"]) / 2
    return busiest["currency"], month_from, span["last"], middle, in_month


def zulu(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def statement_pages(wallet) -> list[tuple[str, str, str, str]]:
    """(group, label, path, who) of the statement and balance-as-of requests (SPEC §14)."""
    currency, month_from, month_to, middle, in_month = statement_instants(wallet)
    statement = (
        f"/api/wallets/{wallet.pk}/statement/?currency={currency}"
        f"&from={zulu(month_from)}&to={zulu(month_to)}&page_size=50"
    )
    deep = max(1, min(20, -(-in_month // 50)))  # page 20, or the last one of a smaller month
    return [
        ("statement", f"a month ({in_month} entries), first page of 50", statement, "owner"),
        ("statement", f"a month, page {deep}", f"{statement}&page={deep}", "owner"),
        ("balance", "as of the middle of its history", f"/api/wallets/{wallet.pk}/balance/?at={zulu(middle)}", "owner"),
    ]


def pages(wallet, transaction_id) -> list[tuple[str, str, str, str]]:
    """(group, label, path, who) of every page measured."""
    week_ago = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    api = "/api/transactions/"
    admin = "/admin/transactions/transaction/"
    return [
        ("api", "wallet = busiest (owner)", f"{api}?wallet={wallet.pk}", "owner"),
        ("api", "wallet = busiest, page 20 (owner)", f"{api}?wallet={wallet.pk}&page=20", "owner"),
        ("api", "own list, busiest wallet's owner", api, "owner"),
        ("api", "wallet = busiest, ordering = -amount (owner)", f"{api}?wallet={wallet.pk}&ordering=-amount", "owner"),
        ("api", "wallet = busiest, kind = withdrawal (owner)", f"{api}?wallet={wallet.pk}&kind=withdrawal", "owner"),
        ("api", "unfiltered (staff)", api, "staff"),
        ("api", "wallet = busiest (staff)", f"{api}?wallet={wallet.pk}", "staff"),
        ("api", "status = pending (staff)", f"{api}?status=pending", "staff"),
        ("api", "kind = withdrawal (staff)", f"{api}?kind=withdrawal", "staff"),
        ("api", "created_after = 7 days ago (staff)", f"{api}?created_after={week_ago}", "staff"),
        ("api", "amount_min = 500 (staff)", f"{api}?amount_min=500", "staff"),
        ("api", "ordering = -amount (staff)", f"{api}?ordering=-amount", "staff"),
        ("admin", "changelist, unfiltered", admin, "admin"),
        ("admin", "changelist, status = pending", f"{admin}?status__exact=pending", "admin"),
        ("admin", "changelist, status = posted", f"{admin}?status__exact=posted", "admin"),
        ("admin", "changelist, search by id", f"{admin}?q={transaction_id}", "admin"),
        ("admin", "changelist, busiest wallet (search by address)", f"{admin}?q={wallet.address}", "admin"),
        ("admin", "changelist, busiest wallet, page 5", f"{admin}?q={wallet.address}&p=5", "admin"),
        ("dashboard", "admin index (the operators' dashboard)", "/admin/", "admin"),
    ]


def measure_pages(page_list, clients, repeats: int, *, log) -> list[Page]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    results = []
    for group, label, path, who in page_list:
        page = Page(group=group, label=label, path=path)
        client = clients[who]
        log(f"  {group} {label}…")
        for attempt in range(repeats + 1):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - began) * 1000
            if attempt == 0:
                continue  # warm-up: caches, the prepared plans, the first page of the table in memory
            page.timings_ms.append(elapsed)
            page.sql_ms.append(sum(float(query["time"]) for query in captured.captured_queries) * 1000)
            page.queries.append(len(captured.captured_queries))
            page.statuses.append(response.status_code)
        results.append(page)
    return results


def queries_by_page_size(client, wallet) -> dict[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for size in (10, 200):
        client.get(f"/api/transactions/?wallet={wallet.pk}&page_size={size}")
        with CaptureQueriesContext(connection) as captured:
            client.get(f"/api/transactions/?wallet={wallet.pk}&page_size={size}")
        counts[size] = len(captured.captured_queries)
    return counts


# --- the commands --------------------------------------------------------------------------------


def time_reconcile(database_url: str) -> dict:
    began = time.perf_counter()
    result = manage(database_url, "reconcile", capture_output=True, text=True)
    return {
        "seconds": round(time.perf_counter() - began, 1),
        "exit_status": result.returncode,
        "clean": result.returncode == 0,
        "report_tail": result.stdout.strip().splitlines()[-3:],
    }


# Peak RSS must be read from a small parent: Linux carries the ``ru_maxrss`` of the image a process
# replaces across ``execve``, so a child forked straight from this (Django-loaded) process would report
# at least this process's size. This launcher is a bare interpreter; its child's figure is its own.
RSS_LAUNCHER = """\
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_rss(database_url: str, *arguments: str) -> tuple[int, float, float]:
    """Run ``manage.py <arguments>``: exit status, seconds and peak RSS in MB (Linux: ru_maxrss is in kB)."""
    env = {**os.environ, **database_env(database_url), "DJANGO_SETTINGS_MODULE": "walletmanager.settings"}
    with tempfile.NamedTemporaryFile(prefix="bench-rss-", mode="r") as report:
        began = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-S", "-c", RSS_LAUNCHER, report.name, sys.executable, "manage.py", *arguments],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - began
        kilobytes = int(report.read() or 0)
    return result.returncode, seconds, kilobytes / 1024


def export_peak(database_url: str, *extra: str) -> dict:
    """Run export_transactions to a file: its peak RSS, rows and bytes, and the time taken."""
    with tempfile.TemporaryDirectory(prefix="bench-export-") as directory:
        output = Path(directory) / "transactions.csv"
        status, seconds, megabytes = peak_rss(database_url, "export_transactions", "--output", str(output), *extra)
        with output.open("rb") as handle:
            rows = sum(1 for _ in handle) - 1
        size = output.stat().st_size
    return {
        "arguments": list(extra),
        "exit_status": status,
        "rows": rows,
        "megabytes": round(size / 1e6, 1),
        "seconds": round(seconds, 1),
        "max_rss_mb": round(megabytes, 1),
    }


# --- the run -------------------------------------------------------------------------------------


def main(options) -> int:
    started = datetime.now(UTC)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731 - progress on stderr
    load_at_start = load_average()
    url = server_url()
    version = server_version(url)
    database = options.scale_database or f"walletmanager_scale_{os.getpid()}"
    reuse = bool(options.scale_database)
    log(f"PostgreSQL {version}; database {database}; nproc {os.cpu_count()}; load average {load_at_start}")

    with throwaway_database(url, database, keep=options.keep or reuse, reuse=reuse) as database_url:
        log(f"Loading {options.scale_transactions} transactions ({options.scale_users} clients)…")
        busy_wallet = min(options.scale_busy_wallet, options.scale_transactions // 20)
        loaded = load(
            database_url,
            users=options.scale_users,
            transactions=options.scale_transactions,
            busy_wallet=busy_wallet,
            log=log,
        )
        log(f"  {loaded['rows']}")

        setup_django(database_url, extra_env={"DJANGO_ALLOWED_HOSTS": "testserver", "DJANGO_SECURE_SSL_REDIRECT": "0"})
        from django.test import Client

        wallet, wallet_count, owner_token, staff, staff_token, some_id = actors()
        clients = {
            "owner": Client(HTTP_AUTHORIZATION=f"Token {owner_token}"),
            "staff": Client(HTTP_AUTHORIZATION=f"Token {staff_token}"),
            "admin": Client(),
        }
        # The admin wants a session verified by the second factor, as after a login with a code.
        from walletmanager.testing.two_factor import verified_staff_login

        verified_staff_login(clients["admin"], staff)
        log(f"Pages ({options.scale_repeats} timed requests each; busiest wallet: {wallet_count} transactions)…")
        measured = measure_pages(
            pages(wallet, some_id) + statement_pages(wallet), clients, options.scale_repeats, log=log
        )
        page_size_queries = queries_by_page_size(clients["owner"], wallet)
        close_django_connections()

        log("reconcile…")
        reconcile = time_reconcile(database_url)
        exports = []
        baseline_rss_mb = None
        if not options.skip_export:
            baseline_rss_mb = round(peak_rss(database_url, "check")[2], 1)
            since = (datetime.now(UTC) - timedelta(days=SEED_DAYS // 10)).strftime("%Y-%m-%d")
            log(f"export_transactions --since {since}…")
            exports.append(export_peak(database_url, "--since", since))
            log("export_transactions (everything)…")
            exports.append(export_peak(database_url))

    report = build_report(
        measured,
        started=started,
        version=version,
        options=options,
        loaded=loaded,
        busiest_wallet_transactions=wallet_count,
        page_size_queries=page_size_queries,
        reconcile=reconcile,
        exports=exports,
        baseline_rss_mb=baseline_rss_mb,
        load={"start": load_at_start, "end": load_average()},
    )
    print(render_table(report))
    path = write_result("scale", started, report)
    print(f"\nwritten {path.relative_to(BASE_DIR)}")
    failed = any(status >= 400 for page in report["pages"] for status in page["statuses"])
    failed |= any(export["exit_status"] != 0 for export in exports)
    return 1 if failed or not reconcile["clean"] else 0


def build_report(
    measured,
    *,
    started,
    version,
    options,
    loaded,
    busiest_wallet_transactions,
    page_size_queries,
    reconcile,
    exports,
    baseline_rss_mb,
    load,
) -> dict:
    summaries = [page.summary() for page in measured]
    api_p95 = max((page["p95_ms"] for page in summaries if page["group"] == "api"), default=None)
    admin_p95 = max((page["p95_ms"] for page in summaries if page["group"] == "admin"), default=None)
    dashboard_p95 = max((page["p95_ms"] for page in summaries if page["group"] == "dashboard"), default=None)
    statement_p95 = max((page["p95_ms"] for page in summaries if page["group"] == "statement"), default=None)
    balance_p95 = max((page["p95_ms"] for page in summaries if page["group"] == "balance"), default=None)
    # (The dashboard's count varies with what it shows, e.g. whether a reconciliation ever ran.)
    constant = len(set(page_size_queries.values())) == 1 and all(
        len(page["queries"]) == 1 for page in summaries if page["group"] in ("api", "admin")
    )
    memory_ratio = round(exports[1]["max_rss_mb"] / exports[0]["max_rss_mb"], 2) if len(exports) == 2 else None
    return {
        "benchmark": "scale",
        "started_at": started.isoformat(),
        "nproc": os.cpu_count(),
        "load_average": load,
        "postgresql": version,
        "transactions_requested": options.scale_transactions,
        "loaded": loaded,
        "busiest_wallet_transactions": busiest_wallet_transactions,
        "repeats": options.scale_repeats,
        "pages": summaries,
        "api_queries_by_page_size": page_size_queries,
        "reconcile": reconcile,
        "exports": exports,
        "manage_py_check_peak_rss_mb": baseline_rss_mb,
        "export_peak_rss_full_over_tenth": memory_ratio,
        "targets": {
            f"a wallet with >= {BUSY_WALLET_TARGET:,} transactions in the data (busiest: "
            f"{busiest_wallet_transactions:,})": busiest_wallet_transactions >= BUSY_WALLET_TARGET,
            f"every list API p95 <= {LIST_API_P95_TARGET_MS:g} ms, the busiest wallet's included": (
                api_p95 <= LIST_API_P95_TARGET_MS if api_p95 else None
            ),
            f"every admin changelist p95 <= {CHANGELIST_P95_TARGET_MS:g} ms": (
                admin_p95 <= CHANGELIST_P95_TARGET_MS if admin_p95 else None
            ),
            f"admin dashboard p95 <= {DASHBOARD_P95_TARGET_MS:g} ms": (
                dashboard_p95 <= DASHBOARD_P95_TARGET_MS if dashboard_p95 else None
            ),
            "constant query count per list request": constant,
            f"busiest wallet's statement page p95 <= {STATEMENT_P95_TARGET_MS:g} ms": (
                statement_p95 <= STATEMENT_P95_TARGET_MS if statement_p95 else None
            ),
            f"busiest wallet's balance as of a past instant p95 <= {BALANCE_AS_OF_P95_TARGET_MS:g} ms": (
                balance_p95 <= BALANCE_AS_OF_P95_TARGET_MS if balance_p95 else None
            ),
        },
    }


def render_table(report: dict) -> str:
    rows = report["loaded"]["rows"]
    lines = [
        f"Scale benchmark {report['started_at'][:19]}Z — PostgreSQL {report['postgresql']}, nproc {report['nproc']}, "
        f"{rows['transactions_transaction']:,} transactions, {rows['transactions_entry']:,} entries; "
        f"busiest wallet {report['busiest_wallet_transactions']:,} transactions; {report['repeats']} timed requests "
        "per page (Django test client, in process)",
        f"load average (1/5/15 min) at start {report['load_average']['start']}, at end {report['load_average']['end']}",
        "",
        f"{'page':<45} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL p50':>8} {'queries':>8}",
    ]
    for page in report["pages"]:
        queries = ",".join(str(count) for count in page["queries"])
        lines.append(
            f"{page['group'] + ' ' + page['label']:<45} {page['p50_ms']:>8.1f} {page['p95_ms']:>8.1f} "
            f"{page['max_ms']:>8.1f} {page['sql_p50_ms']:>8.1f} {queries:>8}"
        )
    lines.append("")
    sizes = report["api_queries_by_page_size"]
    lines.append("list API queries by page size: " + ", ".join(f"{size}: {count}" for size, count in sizes.items()))
    reconcile = report["reconcile"]
    lines.append(f"reconcile: {reconcile['seconds']:.1f} s, {'clean' if reconcile['clean'] else 'DRIFT'}")
    for export in report["exports"]:
        scope = " ".join(export["arguments"]) or "everything"
        lines.append(
            f"export_transactions ({scope}): {export['rows']:,} rows, {export['megabytes']} MB in "
            f"{export['seconds']:.1f} s, peak RSS {export['max_rss_mb']} MB"
        )
    if report["manage_py_check_peak_rss_mb"] is not None:
        lines.append(f"peak RSS of `manage.py check` (Django alone): {report['manage_py_check_peak_rss_mb']} MB")
    if report["export_peak_rss_full_over_tenth"] is not None:
        lines.append(f"peak RSS, everything / a tenth: {report['export_peak_rss_full_over_tenth']:.2f}×")
    lines.append("")
    for target, met in report["targets"].items():
        lines.append(f"target {target}: {'met' if met else 'MISSED' if met is False else 'not measured'}")
    return "\n".join(lines)
