"""Reconciliation: check every ledger invariant of SPEC §5 against the whole database, and that the
audit seal holds (SPEC §14).

Each ledger check is one set-based SQL statement (aggregates and anti-joins, no per-row Python), so
those stay in seconds at millions of transactions; the audit seal's check rehashes every sealed event
(streamed, flat memory), so it grows with the audit trail. All checks read one REPEATABLE READ
snapshot, so money moving while the report is built cannot show up as drift. The result is stored as a
``ReconciliationRun`` for the admin dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db import transaction as db_transaction
from django.utils import timezone

from balances.models import Currency
from transactions.models import ReconciliationRun
from walletmanager.audit_seal import audit_verify
from walletmanager.money import format_money, format_number, fractional_digits

# How many offending rows a report lists per check; the count of all of them is always given.
ROW_CAP = 20


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    columns: tuple[str, ...]
    sql: str  # selects the offending rows, in a stable order


@dataclass
class CheckResult:
    name: str
    description: str
    columns: tuple[str, ...]
    count: int
    rows: list[tuple[Any, ...]]

    @property
    def ok(self) -> bool:
        return self.count == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "ok": self.ok,
            "count": self.count,
            "columns": list(self.columns),
            "rows": [[_json_value(value) for value in row] for row in self.rows],
        }


@dataclass
class ReconciliationReport:
    started_at: datetime
    finished_at: datetime
    checks: list[CheckResult]
    # Client liabilities per currency (sum of client assets' posted) and the system wallets' position.
    totals: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)
    # Each currency's decimals, so the text report reads the totals as money ("10,500.00 USD").
    decimals: dict[str, int] = field(default_factory=dict)

    @property
    def is_clean(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "is_clean": self.is_clean,
            "checks": [check.as_dict() for check in self.checks],
            "totals": [
                {"currency": currency, "clients": str(clients), "system": str(system)}
                for currency, clients, system in self.totals
            ],
        }

    def as_text(self) -> str:
        seconds = (self.finished_at - self.started_at).total_seconds()
        lines = [f"Reconciliation at {self.started_at:%Y-%m-%d %H:%M:%S %Z} ({seconds:.2f} s)"]
        width = max(len(check.name) for check in self.checks)
        for check in self.checks:
            if check.ok:
                lines.append(f"  OK     {check.name:<{width}}  {check.description}")
                continue
            lines.append(f"  DRIFT  {check.name:<{width}}  {check.description}: {check.count} offending row(s)")
            lines.append("           " + " | ".join(check.columns))
            for row in check.rows:
                lines.append("           " + " | ".join(_text_value(value) for value in row))
            if check.count > len(check.rows):
                lines.append(f"           … and {check.count - len(check.rows)} more")
        if self.totals:
            lines.append("  Positions per currency (client assets | system wallets):")
            shown = [
                (self._money(clients, currency), self._money(system, currency))
                for currency, clients, system in self.totals
            ]
            width = max(len(clients) for clients, _ in shown)
            for clients, system in shown:
                lines.append(f"           {clients:>{width}} | {system}")
        lines.append("Result: " + ("CLEAN" if self.is_clean else "DRIFT FOUND"))
        return "\n".join(lines)

    def _money(self, amount: Decimal, currency: str) -> str:
        # A total finer than its currency (drift written behind the ledger) keeps its exact digits: a
        # report that rounded it would hide what it exists to show.
        if currency not in self.decimals or fractional_digits(amount) > self.decimals[currency]:
            return f"{format_number(amount, grouped=True)} {currency}"
        return format_money(amount, currency=currency, decimals=self.decimals[currency])


# The asset rows of client wallets, with the wallet they belong to.
_CLIENT_ASSETS = """
    SELECT a.id AS asset_id, b.wallet_id, a.currency_id, a.posted, a.held, a.credit_limit, a.sequence
      FROM balances_balanceasset a
      JOIN balances_balance b ON b.id = a.balance_id
"""


def _asset_column_matches(column: str, totals_sql: str) -> str:
    """Client assets whose ``column`` differs from ``totals_sql`` (per wallet and currency), plus
    totals of client wallets that have no asset row at all."""
    return f"""
        WITH totals AS ({totals_sql}), assets AS ({_CLIENT_ASSETS})
        SELECT a.asset_id, w.id, w.address, COALESCE(a.currency_id, t.currency_id),
               a.{column}, COALESCE(t.total, 0), COALESCE(a.{column}, 0) - COALESCE(t.total, 0)
          FROM assets a
          FULL OUTER JOIN totals t ON t.wallet_id = a.wallet_id AND t.currency_id = a.currency_id
          JOIN wallets_wallet w ON w.id = COALESCE(a.wallet_id, t.wallet_id)
         WHERE w.system_role IS NULL
           AND (a.asset_id IS NULL OR a.{column} <> COALESCE(t.total, 0))
         ORDER BY w.id, 4
    """


# Per currency: what client assets hold and what the system wallets' entries sum to (they cancel out
# when the books balance). The currency_totals_zero check and the report's totals both read it.
_CURRENCY_TOTALS = f"""
    WITH clients AS (
        SELECT a.currency_id, SUM(a.posted) AS total
          FROM ({_CLIENT_ASSETS}) a
          JOIN wallets_wallet w ON w.id = a.wallet_id
         WHERE w.system_role IS NULL
         GROUP BY a.currency_id
    ), system AS (
        SELECT e.currency_id, SUM(e.amount) AS total
          FROM transactions_entry e
         WHERE e.wallet_id IN (SELECT id FROM wallets_wallet WHERE system_role IS NOT NULL)
         GROUP BY e.currency_id
    )
    SELECT COALESCE(c.currency_id, s.currency_id) AS currency, COALESCE(c.total, 0) AS clients,
           COALESCE(s.total, 0) AS system
      FROM clients c
      FULL OUTER JOIN system s ON s.currency_id = c.currency_id
"""

CHECKS: tuple[Check, ...] = (
    Check(
        name="entries_zero_sum",
        description="entries of each transaction sum to zero per currency",
        columns=("transaction", "currency", "sum"),
        sql="""
            SELECT transaction_id, currency_id, SUM(amount) AS total
              FROM transactions_entry
             GROUP BY transaction_id, currency_id
            HAVING SUM(amount) <> 0
             ORDER BY transaction_id, currency_id
        """,
    ),
    Check(
        name="posted_matches_entries",
        description="each client asset's posted equals the sum of its wallet's entries in that currency",
        columns=("asset", "wallet", "address", "currency", "posted", "entries", "difference"),
        sql=_asset_column_matches(
            "posted",
            """
                SELECT wallet_id, currency_id, SUM(amount) AS total
                  FROM transactions_entry
                 GROUP BY wallet_id, currency_id
            """,
        ),
    ),
    Check(
        name="held_matches_pending",
        description="each client asset's held equals amount + fee of its pending withdrawals",
        columns=("asset", "wallet", "address", "currency", "held", "pending", "difference"),
        sql=_asset_column_matches(
            "held",
            """
                SELECT wallet_id, currency_id, SUM(amount + fee) AS total
                  FROM transactions_transaction
                 WHERE status = 'pending' AND kind = 'withdrawal'
                 GROUP BY wallet_id, currency_id
            """,
        ),
    ),
    Check(
        name="currency_totals_zero",
        description="per currency, client assets plus system wallets' entries sum to zero",
        columns=("currency", "clients", "system", "sum"),
        sql=f"""
            SELECT currency, clients, system, clients + system
              FROM ({_CURRENCY_TOTALS}) totals
             WHERE clients + system <> 0
             ORDER BY 1
        """,
    ),
    Check(
        name="posted_have_entries",
        description="every posted or reversed transaction has entries",
        columns=("transaction", "kind", "status", "created_at"),
        sql="""
            SELECT t.id, t.kind, t.status, t.created_at
              FROM transactions_transaction t
             WHERE t.status IN ('posted', 'reversed')
               AND NOT EXISTS (SELECT 1 FROM transactions_entry e WHERE e.transaction_id = t.id)
             ORDER BY t.created_at, t.id
        """,
    ),
    Check(
        name="entries_only_on_posted",
        description="only posted or reversed transactions have entries",
        columns=("transaction", "kind", "status", "entries"),
        sql="""
            SELECT t.id, t.kind, t.status, COUNT(*)
              FROM transactions_entry e
              JOIN transactions_transaction t ON t.id = e.transaction_id
             WHERE t.status NOT IN ('posted', 'reversed')
             GROUP BY t.id, t.kind, t.status
             ORDER BY t.id
        """,
    ),
    Check(
        name="assets_above_floor",
        description="no asset below its floor (debit: posted − held ≥ 0; credit: ≥ −credit limit)",
        columns=("asset", "wallet", "address", "currency", "kind", "posted", "held", "credit_limit"),
        sql=f"""
            SELECT a.asset_id, w.id, w.address, a.currency_id, w.kind, a.posted, a.held, w.credit_limit
              FROM ({_CLIENT_ASSETS}) a
              JOIN wallets_wallet w ON w.id = a.wallet_id
             WHERE a.held < 0
                OR a.posted - a.held < CASE WHEN w.kind = 'debit' THEN 0 ELSE -w.credit_limit END
             ORDER BY w.id, a.currency_id
        """,
    ),
    Check(
        name="credit_limit_mirrored",
        description="each asset's credit_limit mirrors its wallet's (0 for debit wallets)",
        columns=("asset", "wallet", "address", "currency", "asset_limit", "wallet_limit"),
        sql=f"""
            SELECT a.asset_id, w.id, w.address, a.currency_id, a.credit_limit, w.credit_limit
              FROM ({_CLIENT_ASSETS}) a
              JOIN wallets_wallet w ON w.id = a.wallet_id
             WHERE a.credit_limit <> CASE WHEN w.kind = 'debit' THEN 0 ELSE w.credit_limit END
             ORDER BY w.id, a.currency_id
        """,
    ),
    Check(
        name="closed_wallets_hold_nothing",
        description="a closed wallet holds nothing (posted = 0 and held = 0 in every currency)",
        columns=("asset", "wallet", "address", "currency", "posted", "held"),
        sql=f"""
            SELECT a.asset_id, w.id, w.address, a.currency_id, a.posted, a.held
              FROM ({_CLIENT_ASSETS}) a
              JOIN wallets_wallet w ON w.id = a.wallet_id
             WHERE w.status = 'closed' AND (a.posted <> 0 OR a.held <> 0)
             ORDER BY w.id, a.currency_id
        """,
    ),
    Check(
        name="positions_in_whole_units",
        description="positions and entries are whole multiples of their currency's smallest unit",
        columns=("what", "id", "currency", "amount", "decimals"),
        sql="""
            SELECT 'asset posted', a.id::text, a.currency_id, a.posted, c.decimals
              FROM balances_balanceasset a JOIN balances_currency c ON c.code = a.currency_id
             WHERE a.posted <> round(a.posted, c.decimals)
            UNION ALL
            SELECT 'asset held', a.id::text, a.currency_id, a.held, c.decimals
              FROM balances_balanceasset a JOIN balances_currency c ON c.code = a.currency_id
             WHERE a.held <> round(a.held, c.decimals)
            UNION ALL
            SELECT 'entry', e.id::text, e.currency_id, e.amount, c.decimals
              FROM transactions_entry e JOIN balances_currency c ON c.code = e.currency_id
             WHERE e.amount <> round(e.amount, c.decimals)
             ORDER BY 1, 2
        """,
    ),
    Check(
        name="running_balances_match",
        description="client entries are numbered 1, 2, 3 … per asset, each balance_after is the previous "
        "one plus its amount, and the last one is the asset's posted and sequence",
        columns=("wallet", "currency", "sequence", "expected_sequence", "balance_after", "expected_balance"),
        sql=f"""
            WITH history AS (
                SELECT e.wallet_id, e.currency_id, e.sequence, e.balance_after,
                       ROW_NUMBER() OVER asset AS expected_sequence,
                       SUM(e.amount) OVER asset AS expected_balance
                  FROM transactions_entry e
                  JOIN wallets_wallet w ON w.id = e.wallet_id
                 WHERE w.system_role IS NULL
                WINDOW asset AS (PARTITION BY e.wallet_id, e.currency_id ORDER BY e.sequence, e.id)
            ), last AS (
                SELECT DISTINCT ON (wallet_id, currency_id) wallet_id, currency_id, sequence, balance_after
                  FROM history
                 ORDER BY wallet_id, currency_id, expected_sequence DESC
            )
            SELECT h.wallet_id, h.currency_id, h.sequence, h.expected_sequence, h.balance_after, h.expected_balance
              FROM history h
             WHERE h.sequence IS DISTINCT FROM h.expected_sequence
                OR h.balance_after IS DISTINCT FROM h.expected_balance
            UNION ALL
            SELECT a.wallet_id, a.currency_id, a.sequence, COALESCE(l.sequence, 0), a.posted, l.balance_after
              FROM ({_CLIENT_ASSETS}) a
              JOIN wallets_wallet w ON w.id = a.wallet_id
              LEFT JOIN last l ON l.wallet_id = a.wallet_id AND l.currency_id = a.currency_id
             WHERE w.system_role IS NULL
               AND (a.sequence <> COALESCE(l.sequence, 0) OR a.posted <> COALESCE(l.balance_after, 0))
             ORDER BY 1, 2, 3
        """,
    ),
    Check(
        name="daily_volume_matches_transactions",
        description="the dashboard's per-day rollups equal the transactions they count (per UTC day, kind and "
        "currency: transactions, amount, posted)",
        columns=(
            "day",
            "kind",
            "currency",
            "rollup_transactions",
            "transactions",
            "rollup_amount",
            "amount",
            "rollup_posted",
            "posted",
        ),
        sql="""
            WITH rollup AS (
                SELECT day, kind, currency_id AS currency, SUM(transactions) AS transactions,
                       SUM(amount) AS amount, SUM(posted) AS posted
                  FROM transactions_dailyvolume
                 GROUP BY day, kind, currency_id
            ), counted AS (
                SELECT (created_at AT TIME ZONE 'UTC')::date AS day, kind, currency_id AS currency,
                       COUNT(*) AS transactions, SUM(amount) AS amount,
                       COUNT(*) FILTER (WHERE status IN ('posted', 'reversed')) AS posted
                  FROM transactions_transaction
                 GROUP BY 1, 2, 3
            )
            SELECT COALESCE(r.day, c.day), COALESCE(r.kind, c.kind), COALESCE(r.currency, c.currency),
                   COALESCE(r.transactions, 0), COALESCE(c.transactions, 0), COALESCE(r.amount, 0),
                   COALESCE(c.amount, 0), COALESCE(r.posted, 0), COALESCE(c.posted, 0)
              FROM rollup r
              FULL OUTER JOIN counted c ON c.day = r.day AND c.kind = r.kind AND c.currency = r.currency
             WHERE (COALESCE(r.transactions, 0), COALESCE(r.amount, 0), COALESCE(r.posted, 0))
                   IS DISTINCT FROM (COALESCE(c.transactions, 0), COALESCE(c.amount, 0), COALESCE(c.posted, 0))
             ORDER BY 1, 2, 3
        """,
    ),
    Check(
        name="entries_match_the_movement",
        description="a posted transaction's entries are what its kind, amount, fee and to_amount say: the source "
        "wallet's, the recipient's and the fees wallet's legs; a reversal's are its original's, negated",
        columns=("transaction", "kind", "leg", "wallet", "currency", "expected", "entries"),
        sql="""
            WITH fees AS (SELECT id FROM wallets_wallet WHERE system_role = 'fees'),
            expected AS (
                SELECT t.id, t.kind, leg.name, leg.wallet_id, leg.currency_id, leg.amount
                  FROM transactions_transaction t
                 CROSS JOIN LATERAL (VALUES
                     ('source', t.wallet_id, t.currency_id,
                      CASE t.kind WHEN 'deposit' THEN COALESCE(t.received_amount, t.amount) - t.fee
                                  WHEN 'exchange' THEN -t.amount
                                  ELSE -(t.amount + t.fee) END),
                     ('recipient', t.to_wallet_id,
                      CASE WHEN t.kind = 'exchange' THEN t.to_currency_id ELSE t.currency_id END,
                      CASE WHEN t.kind = 'exchange' THEN t.to_amount ELSE t.amount END),
                     ('fees', (SELECT id FROM fees), t.currency_id, t.fee)
                 ) AS leg(name, wallet_id, currency_id, amount)
                 WHERE t.status IN ('posted', 'reversed')
                   AND t.kind IN ('deposit', 'withdrawal', 'transfer', 'exchange')
                   AND (leg.name <> 'recipient' OR t.kind IN ('transfer', 'exchange'))
                   -- an exchange into the same wallet: its two legs are in different currencies
            ), actual AS (
                SELECT e.transaction_id, e.wallet_id, e.currency_id, SUM(e.amount) AS amount
                  FROM transactions_entry e
                 GROUP BY 1, 2, 3
            )
            SELECT x.id, x.kind, x.name, x.wallet_id, x.currency_id, x.amount, COALESCE(a.amount, 0)
              FROM expected x
              LEFT JOIN actual a
                ON a.transaction_id = x.id AND a.wallet_id = x.wallet_id AND a.currency_id = x.currency_id
             WHERE COALESCE(a.amount, 0) <> x.amount
            UNION ALL
            SELECT t.id, t.kind, 'source', t.wallet_id, t.currency_id, t.amount, ABS(COALESCE(a.amount, 0))
              FROM transactions_transaction t
              LEFT JOIN actual a
                ON a.transaction_id = t.id AND a.wallet_id = t.wallet_id AND a.currency_id = t.currency_id
             WHERE t.kind = 'adjustment' AND t.status IN ('posted', 'reversed')
               AND ABS(COALESCE(a.amount, 0)) <> t.amount
            UNION ALL
            SELECT r.id, r.kind, 'reversed', d.wallet_id, d.currency_id, -d.theirs, d.mine
              FROM transactions_transaction r
             CROSS JOIN LATERAL (
                 SELECT COALESCE(m.wallet_id, o.wallet_id) AS wallet_id,
                        COALESCE(m.currency_id, o.currency_id) AS currency_id,
                        COALESCE(m.amount, 0) AS mine, COALESCE(o.amount, 0) AS theirs
                   FROM (SELECT wallet_id, currency_id, SUM(amount) AS amount FROM transactions_entry
                          WHERE transaction_id = r.id GROUP BY 1, 2) m
                   FULL JOIN (SELECT wallet_id, currency_id, SUM(amount) AS amount FROM transactions_entry
                               WHERE transaction_id = r.reverses_id GROUP BY 1, 2) o
                     ON o.wallet_id = m.wallet_id AND o.currency_id = m.currency_id
             ) d
             WHERE r.kind = 'reversal' AND d.mine <> -d.theirs
             ORDER BY 1, 3
        """,
    ),
    Check(
        name="movements_have_audit_events",
        description="every transaction has its audit event",
        columns=("transaction", "kind", "status", "created_at"),
        sql="""
            SELECT t.id, t.kind, t.status, t.created_at
              FROM transactions_transaction t
             WHERE NOT EXISTS (SELECT 1 FROM walletmanager_auditevent e
                                WHERE e.target_type = 'transactions.transaction' AND e.target_id = t.id::text)
             ORDER BY t.created_at, t.id
        """,
    ),
    Check(
        name="single_currency_balances_hold_one_currency",
        description="a single-currency balance holds an asset in its own currency only",
        columns=("asset", "wallet", "balance_currency", "asset_currency", "posted"),
        sql="""
            SELECT a.id, b.wallet_id, b.currency_id, a.currency_id, a.posted
              FROM balances_balanceasset a
              JOIN balances_balance b ON b.id = a.balance_id
             WHERE b.kind = 'regular' AND a.currency_id IS DISTINCT FROM b.currency_id
             ORDER BY b.wallet_id, a.currency_id
        """,
    ),
    Check(
        name="outgoing_volume_matches_transactions",
        description="the velocity buckets (per wallet, currency and quarter hour) equal the live withdrawals, "
        "transfers and exchanges they count",
        columns=("wallet", "currency", "bucket", "bucket_outgoing", "outgoing", "bucket_withdrawn", "withdrawn"),
        sql="""
            WITH counted AS (
                SELECT wallet_id, currency_id, date_bin('15 minutes', created_at, '2000-01-01 00:00:00+00') AS bucket,
                       SUM(amount) AS outgoing, COALESCE(SUM(amount) FILTER (WHERE kind = 'withdrawal'), 0) AS withdrawn
                  FROM transactions_transaction
                 WHERE kind IN ('withdrawal', 'transfer', 'exchange') AND status IN ('pending', 'posted')
                 GROUP BY 1, 2, 3
            )
            SELECT COALESCE(v.wallet_id, c.wallet_id), COALESCE(v.currency_id, c.currency_id),
                   COALESCE(v.bucket, c.bucket), COALESCE(v.outgoing, 0), COALESCE(c.outgoing, 0),
                   COALESCE(v.withdrawn, 0), COALESCE(c.withdrawn, 0)
              FROM transactions_outgoingvolume v
              FULL OUTER JOIN counted c
                ON c.wallet_id = v.wallet_id AND c.currency_id = v.currency_id AND c.bucket = v.bucket
             WHERE (COALESCE(v.outgoing, 0), COALESCE(v.withdrawn, 0))
                   IS DISTINCT FROM (COALESCE(c.outgoing, 0), COALESCE(c.withdrawn, 0))
             ORDER BY 1, 2, 3
        """,
    ),
    Check(
        name="ledger_requests_name_their_transaction",
        description="every request the ledger answered names a transaction that exists",
        columns=("request", "transaction", "created_at"),
        sql="""
            SELECT r.request_id, r.transaction_id, r.created_at
              FROM transactions_ledgerrequest r
             WHERE NOT EXISTS (SELECT 1 FROM transactions_transaction t WHERE t.id = r.transaction_id)
             ORDER BY r.created_at
        """,
    ),
    Check(
        name="system_wallets_have_no_assets",
        description="system wallets hold no asset rows (their positions are their entries)",
        columns=("asset", "wallet", "system_role", "currency", "posted"),
        sql=f"""
            SELECT a.asset_id, w.id, w.system_role, a.currency_id, a.posted
              FROM ({_CLIENT_ASSETS}) a
              JOIN wallets_wallet w ON w.id = a.wallet_id
             WHERE w.system_role IS NOT NULL
             ORDER BY w.id, a.currency_id
        """,
    ),
)

_TOTALS_SQL = f"SELECT currency, clients, system FROM ({_CURRENCY_TOTALS}) totals ORDER BY 1"


def _run_check(cursor, check: Check) -> CheckResult:
    # COUNT(*) OVER () gives the number of offending rows while only ROW_CAP of them travel back.
    cursor.execute(
        f"SELECT offending.*, COUNT(*) OVER () FROM ({check.sql}) AS offending LIMIT %s",
        [ROW_CAP],
    )
    fetched = cursor.fetchall()
    count = fetched[0][-1] if fetched else 0
    return CheckResult(
        name=check.name,
        description=check.description,
        columns=check.columns,
        count=count,
        rows=[tuple(row[:-1]) for row in fetched],
    )


def _audit_seal_check() -> CheckResult:
    """The audit seal (SPEC §15) as one more check: drift is the first block that no longer matches."""
    broken = audit_verify().broken
    return CheckResult(
        name="audit_seal_holds",
        description="every sealed block of the audit trail still hashes to its seal",
        columns=("block", "first_event", "last_event", "problem"),
        count=0 if broken is None else 1,
        rows=[] if broken is None else [(broken.block, broken.first_event_id, broken.last_event_id, broken.problem)],
    )


def reconcile() -> ReconciliationReport:
    """Run every ledger check on one consistent snapshot, store the result and return the report."""
    started_at = timezone.now()
    with db_transaction.atomic():
        with connection.cursor() as cursor:
            # A snapshot shared by every check; only possible as the transaction's first statement,
            # which it is unless we run nested in someone else's transaction (tests).
            if len(connection.atomic_blocks) == 1:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # The aggregates group millions of entries; let them hash in memory instead of spilling to disk.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            checks = [_run_check(cursor, check) for check in CHECKS]
            checks.append(_audit_seal_check())
            cursor.execute(_TOTALS_SQL)
            totals = [(currency, clients, system) for currency, clients, system in cursor.fetchall()]
    report = ReconciliationReport(
        started_at=started_at,
        finished_at=timezone.now(),
        checks=checks,
        totals=totals,
        decimals=dict(Currency.objects.values_list("code", "decimals")),
    )
    ReconciliationRun.objects.create(
        started_at=report.started_at,
        finished_at=report.finished_at,
        is_clean=report.is_clean,
        report=report.as_dict(),
    )
    return report


def reconciliation_last_run() -> ReconciliationRun | None:
    """The latest stored result, for the admin dashboard."""
    return ReconciliationRun.objects.order_by("-started_at", "-id").first()


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _text_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        # 18 stored decimals are noise in a report; keep the significant ones.
        return format_number(value)
    return str(value)
