"""Demo data for a fresh installation, made so every ledger invariant holds.

Idempotent, and run by every ``make run``: demo logins, wallets and rates are created once;
``--transactions N`` tops the number of demo transactions up to N rather than adding N more; and every
queue an operator works from is topped up to ``DEMO_WAITING`` items — withdrawals waiting for approval,
deposits waiting for their money, adjustments waiting for a second operator — through the services,
so the approvals desk always has something to decide.

The history is spread over the past ``--days`` days (default 30), so the dashboard's chart has a month
to show. A service posts at the present moment and a posted transaction is immutable (the ledger's
triggers), so the history is written by a set-based path that writes what the services would write —
posted deposits (as the provider's callback settles them), withdrawals and transfers in USD with the
fees of the active fee rules, balanced entries and one audit event each (``deposit.settled``,
``withdrawal.posted``, ``transfer.posted``, without
the per-call ``after`` balance snapshot) — in batches of ``BULK_BATCH`` per database transaction. The
entries go in in time order and PostgreSQL moves the client assets' ``posted`` as each one is
inserted, exactly as for a service (running balance, sequence, floor CHECK; the zero sum at COMMIT),
so ``reconcile`` stays clean.
"""

from __future__ import annotations

import os
import sys
import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import F, Q
from tqdm import tqdm

from balances.models import Currency
from balances.services import currency_update
from transactions import deposits, pricing, services
from transactions.models import ExchangeRate, FeeRule, Transaction
from transactions.pricing import RateQuote
from users.models import AuthenticatorDevice, User
from users.two_factor import totp_secret, user_totp_enrol
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.services import approval_request
from walletmanager.commands import OperatorCommand
from wallets.models import Wallet
from wallets.services import wallet_create

DEMO_DESCRIPTION = "demo"
DEMO_PIN = "2468"
DEMO_LOGINS = [
    # email, password, role, superuser, group, first name, last name
    ("admin@walletmanager.test", "demo-admin-password", User.Role.ADMIN, True, None, "Ada", "Admin"),
    ("support@walletmanager.test", "demo-support-password", User.Role.ADMIN, False, "Support", "Sam", "Support"),
    ("finance@walletmanager.test", "demo-finance-password", User.Role.ADMIN, False, "Finance", "Fran", "Finance"),
    # A second Finance operator: what one of them requests (an adjustment, a reversal, a credit
    # limit), the other approves (SPEC §12).
    ("finance2@walletmanager.test", "demo-finance2-password", User.Role.ADMIN, False, "Finance", "Felix", "Finance"),
    ("client@walletmanager.test", "demo-client-password", User.Role.CLIENT, False, None, "Chris", "Client"),
]
DEMO_RATES = [
    ("USD", "EUR", "0.92"),
    ("USD", "GBP", "0.79"),
    ("BTC", "USD", "65000"),
    ("ETH", "USD", "3200"),
    ("USDT", "USD", "1"),
    ("TON", "USD", "5.2"),
]
# Items kept waiting in each queue (pending withdrawals, pending deposits, approval requests).
DEMO_WAITING = 3
# Adjustments the demo's first Finance operator asks for; the second one decides them on the desk.
DEMO_ADJUSTMENTS = [
    ("50.00", "Goodwill credit: a card payment failed twice on our side (ticket 4121)"),
    ("75.00", "Refund of a fee charged twice (ticket 4188)"),
    ("120.00", "Compensation agreed by phone for a delayed withdrawal (ticket 4203)"),
]
# Transactions written per database transaction by the set-based history.
BULK_BATCH = 25_000
# Share of each kind in bulk data; the rest are transfers.
BULK_DEPOSITS = 0.45
BULK_WITHDRAWALS = 0.15


class Command(OperatorCommand):
    help = "Create demo logins, wallets, rates and transactions (idempotent) and print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=5, help="demo clients besides the demo logins (default 5)")
        parser.add_argument(
            "--transactions", type=int, default=30, help="demo transactions to have in total (default 30)"
        )
        parser.add_argument("--seed", type=int, default=2026, help="random seed, for repeatable data")
        parser.add_argument(
            "--days", type=int, default=30, help="the history is spread over this many past days (default 30)"
        )
        parser.add_argument(
            "--busy-wallet",
            type=int,
            default=0,
            metavar="N",
            help="the demo client's USD wallet starts about N of the transactions written now, the rest are "
            "spread evenly (default 0: it is drawn like every other wallet)",
        )

    def run(self, *args, users: int, transactions: int, seed: int, days: int, busy_wallet: int, **options):
        if users < 0 or transactions < 0 or busy_wallet < 0:
            raise CommandError("--users, --transactions and --busy-wallet must be zero or more.")
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if not settings.DEBUG:
            # The demo passwords and TOTP secrets are published (README): never on a production system.
            raise CommandError(
                "seed_demo creates the demo logins whose passwords are published; refusing with DJANGO_DEBUG off. "
                "Run it on a development machine (DJANGO_DEBUG=1)."
            )
        self.usd = Currency.objects.get(code="USD")
        self.eur = Currency.objects.get(code="EUR")
        logins = self._demo_logins()
        self._rates_and_fees()
        self.usd.refresh_from_db()  # the approval threshold may just have been set
        clients = [logins["client@walletmanager.test"]] + self._demo_clients(users)
        wallets = [self._wallets_of(client) for client in clients]
        usd_wallets = [usd for usd, _ in wallets]
        self._pending_withdrawals(usd_wallets)
        waiting_deposits = self._pending_deposits(usd_wallets)
        self._approval_requests(logins["finance@walletmanager.test"], usd_wallets)
        existing = Transaction.objects.filter(description=DEMO_DESCRIPTION).count()
        missing = max(0, transactions - existing)
        if missing:
            self._bulk_transactions(seed, usd_wallets, missing=missing, days=days, busy=min(busy_wallet, missing))

        self.stdout.write(self.style.SUCCESS("Demo data is ready. Logins:"))
        for email, password, role, superuser, group, *_ in DEMO_LOGINS:
            label = "superuser" if superuser else (group or role)
            self.stdout.write(f"  {label:<10} {email:<30} {password}")
        self.stdout.write(f"  demo wallets' PIN: {DEMO_PIN}")
        # The interpreter as the operator would type it from the checkout (.venv/bin/python), so the line
        # works when pasted: a bare "python" is not the one with the project's packages.
        python = os.path.relpath(sys.executable) if not os.path.relpath(sys.executable).startswith("..") else "python"
        for waiting in waiting_deposits:
            self.stdout.write(
                f"  a deposit waits for its money: {python} manage.py simulate_payment {waiting.reference}"
            )
        self._print_operator_secrets(logins)

    def _demo_logins(self) -> dict[str, User]:
        logins = {}
        for email, password, role, superuser, group, first_name, last_name in DEMO_LOGINS:
            user = User.objects.filter(email=email).first()
            if user is None:
                if superuser:
                    user = User.objects.create_superuser(email, password, first_name=first_name, last_name=last_name)
                else:
                    user = User.objects.create_user(
                        email, password, role=role, first_name=first_name, last_name=last_name
                    )
                if group:
                    user.groups.add(Group.objects.get(name=group))
            logins[email] = user
        return logins

    def _print_operator_secrets(self, logins: dict[str, User]) -> None:
        """Staff log in with a TOTP code (SPEC §13): enrol each demo operator once and print their secret,
        so any authenticator app (or the one-line command in the README) gives the code."""
        self.stdout.write("Operators' TOTP secrets (add one to an authenticator app, or see README, 'Demo logins'):")
        for email, user in logins.items():
            if not user.is_staff:
                continue
            device = AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                device = user_totp_enrol(actor=None, user=user).device
            self.stdout.write(f"  {email:<30} {totp_secret(device)}")

    def _rates_and_fees(self) -> None:
        # Through the services an operator's edits take, so the demo's prices obey the same rules and
        # leave the same audit events (by the system).
        if not ExchangeRate.objects.filter(source="demo").exists():
            pricing.exchange_rate_set(
                actor=None,
                rates=[RateQuote(base=base, quote=quote, rate=rate, source="demo") for base, quote, rate in DEMO_RATES],
            )
        if not FeeRule.objects.filter(kind=Transaction.Kind.TRANSFER, currency=None, is_active=True).exists():
            pricing.fee_rule_create(actor=None, kind=Transaction.Kind.TRANSFER, currency=None, percent_bps=50)
        if self.usd.withdrawal_approval_threshold is None:
            self.usd = currency_update(actor=None, currency=self.usd, withdrawal_approval_threshold=Decimal("10000"))

    def _fund(
        self, *, actor: User, wallet: Wallet, currency: Currency, amount: Decimal, description: str = ""
    ) -> Transaction:
        """Money in the way a client's money really comes (SPEC §12): the client asks to deposit, the
        payment provider's (signed) callback says it arrived — the same service the callback view calls."""
        pending = deposits.transaction_deposit(
            actor=actor, wallet=wallet, currency=currency, amount=amount, description=description
        )
        posted, _ = deposits.deposit_settle(
            event=deposits.PaymentEvent(
                reference=pending.reference,
                provider_id=f"demo_{pending.pk.hex}",
                amount=amount,
                currency=currency.code,
                status="succeeded",
            )
        )
        return posted

    def _demo_clients(self, count: int) -> list[User]:
        clients = []
        for number in range(1, count + 1):
            email = f"demo-client-{number:04d}@example.com"
            user = User.objects.filter(email=email).first() or User.objects.create_user(
                email, None, first_name="Demo", last_name=f"Client {number}"
            )
            clients.append(user)
        return clients

    def _wallets_of(self, client: User) -> tuple[Wallet, Wallet]:
        """Every demo client has a USD wallet and a multi-currency one, each funded once."""
        existing = {wallet.name: wallet for wallet in Wallet.objects.filter(owner=client)}
        usd = existing.get("Everyday USD")
        if usd is None:
            with db_transaction.atomic():
                usd = wallet_create(
                    actor=client,
                    owner=client,
                    name="Everyday USD",
                    balance_kind="regular",
                    currency="USD",
                    pin=DEMO_PIN,
                )
                self._fund(
                    actor=client, wallet=usd, currency=self.usd, amount=Decimal("5000.00"), description=DEMO_DESCRIPTION
                )
        multi = existing.get("Travel (multi-currency)")
        if multi is None:
            with db_transaction.atomic():
                multi = wallet_create(
                    actor=client,
                    owner=client,
                    name="Travel (multi-currency)",
                    balance_kind="multi",
                    currency=None,
                    pin=DEMO_PIN,
                )
                self._fund(
                    actor=client,
                    wallet=multi,
                    currency=self.eur,
                    amount=Decimal("1000.00"),
                    description=DEMO_DESCRIPTION,
                )
        return usd, multi

    def _pending_withdrawals(self, wallets: list[Wallet]) -> None:
        """Withdrawals above the approval threshold wait for Finance: topped up to ``DEMO_WAITING``,
        each from the next client's wallet, funded for it first."""
        threshold = self.usd.withdrawal_approval_threshold
        waiting = Transaction.objects.filter(
            kind=Transaction.Kind.WITHDRAWAL, status=Transaction.Status.PENDING, description=DEMO_DESCRIPTION
        ).count()
        if threshold is None:
            return
        for number in range(waiting, DEMO_WAITING):
            wallet = wallets[number % len(wallets)]
            amount = threshold + Decimal(500 * (number + 1))
            with db_transaction.atomic():
                self._fund(
                    actor=wallet.owner,
                    wallet=wallet,
                    currency=self.usd,
                    amount=amount + threshold,
                    description=DEMO_DESCRIPTION,
                )
                services.transaction_withdraw(
                    actor=wallet.owner,
                    wallet=wallet,
                    currency=self.usd,
                    amount=amount,
                    pin=DEMO_PIN,
                    description=DEMO_DESCRIPTION,
                )

    def _pending_deposits(self, wallets: list[Wallet]) -> list[Transaction]:
        """Deposits wait for their money, so the provider's callback (``simulate_payment``) and Finance's
        confirmation can be tried; topped up to ``DEMO_WAITING`` as they resolve."""
        waiting = list(
            Transaction.objects.filter(
                kind=Transaction.Kind.DEPOSIT, status=Transaction.Status.PENDING, description=DEMO_DESCRIPTION
            ).order_by("created_at")
        )
        for number in range(len(waiting), DEMO_WAITING):
            wallet = wallets[number % len(wallets)]
            waiting.append(
                deposits.transaction_deposit(
                    actor=wallet.owner,
                    wallet=wallet,
                    currency=self.usd,
                    amount=Decimal(250 + 100 * number),
                    description=DEMO_DESCRIPTION,
                )
            )
        return waiting

    def _approval_requests(self, maker: User, wallets: list[Wallet]) -> None:
        """Adjustments the first Finance operator asked for wait for the second one (SPEC §12)."""
        waiting = ApprovalRequest.objects.filter(
            requested_by=maker, action="adjust", status=ApprovalRequest.Status.PENDING
        ).count()
        for number in range(waiting, DEMO_WAITING):
            amount, reason = DEMO_ADJUSTMENTS[number % len(DEMO_ADJUSTMENTS)]
            approval_request(
                actor=maker,
                action="adjust",
                reason=reason,
                wallet=wallets[number % len(wallets)],
                currency=self.usd,
                amount=amount,
                direction="credit",
            )

    # --- the fast path ---------------------------------------------------------------------------

    def _bulk_transactions(self, seed: int, wallets: list[Wallet], *, missing: int, days: int, busy: int) -> None:
        """Top up to the target with set-based SQL, ``BULK_BATCH`` transactions per database transaction;
        ``busy`` of them (about) start from the first wallet, the demo client's (a busy wallet to measure)."""
        wallet_ids = list(
            Wallet.objects.filter(
                pk__in=[wallet.pk for wallet in wallets],
                status=Wallet.Status.ACTIVE,
                owner__status=User.Status.ACTIVE,
                balance__status="active",
            ).values_list("pk", flat=True)
        )
        if len(wallet_ids) < 2:
            raise CommandError("The demo history needs at least two active demo wallets: use --users 1 or more.")
        # The busy wallet goes first: the batch draws it as source index 0.
        if busy and wallets[0].pk in wallet_ids:
            wallet_ids.remove(wallets[0].pk)
            wallet_ids.insert(0, wallets[0].pk)
        else:
            busy = 0
        system = dict(Wallet.objects.filter(system_role__in=["external", "fees"]).values_list("system_role", "pk"))
        params = {
            "wallet_ids": wallet_ids,
            "external": system["external"],
            "fees": system["fees"],
            "days": days,
            "busy_share": busy / missing,
            **self._fee_params(),
        }
        started = time.monotonic()
        written = 0
        # As the schema owner: the runtime role writes the ledger only through its functions (SPEC §16),
        # and a history dated over past days is not a movement a function makes. Its ANALYZE and VACUUM
        # keep the plans of the zero-sum trigger linear; the ledger's triggers apply to it all the same.
        if connection.in_atomic_block:
            raise CommandError(
                "The bulk demo history is written as the schema owner, which cannot happen inside a transaction."
            )
        with connection.as_owner(), tqdm(total=missing, desc="demo transactions (bulk)", unit="tx") as progress:
            batch_number = 0
            while written < missing:
                size = min(BULK_BATCH, missing - written)
                # Repeatable data: each batch's random() sequence depends only on --seed and its position.
                batch_seed = ((seed * 1_000_003 + written) % 2_000_000) / 1_000_000 - 1
                done = self._bulk_batch(size=size, batch_seed=batch_seed, analyze=batch_number < 3, **params)
                written += done
                batch_number += 1
                progress.update(done)
            if not connection.in_atomic_block:
                with connection.cursor() as cursor:
                    # What autovacuum would do later, now: fresh planner statistics (the admin's estimated
                    # counts and plans rely on them) and a visibility map, so counts use index-only scans.
                    cursor.execute(
                        "VACUUM (ANALYZE) transactions_transaction, transactions_entry, walletmanager_auditevent, "
                        "balances_balanceasset"
                    )
        self.stdout.write(
            f"Wrote {written} demo transactions in {time.monotonic() - started:.1f} s ({batch_number} batches)."
        )

    def _fee_params(self) -> dict[str, object]:
        """The fee rule in force per kind for USD, as SQL parameters (no rule: a rule charging nothing)."""
        params: dict[str, object] = {}
        for kind in ("deposit", "withdrawal", "transfer"):
            rule = (
                FeeRule.objects.filter(kind=kind, is_active=True)
                .filter(Q(currency_id="USD") | Q(currency__isnull=True))
                .order_by(F("currency").asc(nulls_last=True))
                .first()
            )
            params[f"{kind}_bps"] = rule.percent_bps if rule else 0
            params[f"{kind}_flat"] = rule.flat if rule else Decimal(0)
            params[f"{kind}_min"] = rule.min_fee if rule else Decimal(0)
            params[f"{kind}_max"] = rule.max_fee if rule else None
        params["scale"] = 10**self.usd.decimals
        return params

    def _bulk_batch(self, *, size: int, batch_seed: float, analyze: bool, **params) -> int:
        params = {**params, "size": size, "seed": batch_seed, "description": DEMO_DESCRIPTION}

        def fee(kind: str) -> str:
            # fee_for: clamp(amount × bps / 10 000 + flat, min, max), then ROUND_UP to the currency's decimals.
            return (
                # (LEAST ignores a NULL maximum.)
                f"CEIL(LEAST(GREATEST(amount * %({kind}_bps)s / 10000.0 + %({kind}_flat)s, %({kind}_min)s),"
                f" %({kind}_max)s::numeric) * %(scale)s) / %(scale)s"
            )

        with db_transaction.atomic(), connection.cursor() as cursor:
            # ON COMMIT DROP does not fire when the caller's transaction is still open (tests): drop explicitly.
            cursor.execute("DROP TABLE IF EXISTS demo_batch, demo_legs")
            cursor.execute("SELECT setseed(%(seed)s)", params)
            cursor.execute(
                f"""
                CREATE TEMP TABLE demo_batch ON COMMIT DROP AS
                WITH draws AS (
                    SELECT random() AS pick, random() AS size_draw, random() AS age,
                           CASE WHEN random() < %(busy_share)s THEN 0
                                ELSE floor(random() * cardinality(%(wallet_ids)s::uuid[]))::int END AS source,
                           1 + floor(random() * (cardinality(%(wallet_ids)s::uuid[]) - 1))::int AS step
                      FROM generate_series(1, %(size)s)
                ), movements AS (
                    SELECT gen_random_uuid() AS id,
                           CASE WHEN pick < {BULK_DEPOSITS} THEN 'deposit'
                                WHEN pick < {BULK_DEPOSITS + BULK_WITHDRAWALS} THEN 'withdrawal'
                                ELSE 'transfer' END AS kind,
                           (%(wallet_ids)s::uuid[])[1 + source] AS wallet_id,
                           (%(wallet_ids)s::uuid[])[1 + (source + step) %% cardinality(%(wallet_ids)s::uuid[])]
                               AS other_wallet_id,
                           -- deposits 1.00–200.00, money going out 1.00–50.00: wallets only grow on average
                           CASE WHEN pick < {BULK_DEPOSITS} THEN (100 + floor(size_draw * 19901)::int)::numeric / 100
                                ELSE (100 + floor(size_draw * 4901)::int)::numeric / 100 END AS amount,
                           now() - age * make_interval(days => %(days)s) AS created_at
                      FROM draws
                )
                SELECT m.id, m.kind, m.wallet_id,
                       CASE WHEN m.kind = 'transfer' THEN m.other_wallet_id END AS to_wallet_id,
                       m.amount,
                       CASE m.kind WHEN 'deposit' THEN {fee("deposit")}
                                   WHEN 'withdrawal' THEN {fee("withdrawal")}
                                   ELSE {fee("transfer")} END AS fee,
                       m.created_at, w.owner_id
                  FROM movements m
                  JOIN wallets_wallet w ON w.id = m.wallet_id
                """,
                params,
            )
            # The service refuses a deposit whose fee eats it; so does the fast path.
            cursor.execute("DELETE FROM demo_batch WHERE kind = 'deposit' AND fee >= amount")
            cursor.execute(
                """
                INSERT INTO transactions_transaction
                    (id, kind, status, wallet_id, currency_id, amount, fee, to_wallet_id, description,
                     created_by_id, created_at, posted_at, reason, received_amount, provider_id, resolved_at)
                -- a deposit as the provider's callback settles it: the amount received and its payment id
                SELECT id, kind, 'posted', wallet_id, 'USD', amount, fee, to_wallet_id, %(description)s,
                       owner_id, created_at, created_at, '',
                       CASE WHEN kind = 'deposit' THEN amount END,
                       CASE WHEN kind = 'deposit' THEN 'demo_' || replace(id::text, '-', '') END,
                       CASE WHEN kind = 'deposit' THEN created_at END
                  FROM demo_batch
                """,
                params,
            )
            written = cursor.rowcount
            # The legs of transaction_deposit / _withdraw / _transfer; a zero fee leg is no entry.
            cursor.execute(
                """
                CREATE TEMP TABLE demo_legs ON COMMIT DROP AS
                SELECT b.id AS transaction_id, leg.wallet_id, leg.amount, b.created_at
                  FROM demo_batch b
                 CROSS JOIN LATERAL (VALUES
                     (CASE b.kind WHEN 'deposit' THEN %(external)s::uuid ELSE b.wallet_id END,
                      CASE b.kind WHEN 'deposit' THEN -b.amount ELSE -(b.amount + b.fee) END),
                     (CASE b.kind WHEN 'deposit' THEN b.wallet_id
                                  WHEN 'withdrawal' THEN %(external)s::uuid
                                  ELSE b.to_wallet_id END,
                      CASE b.kind WHEN 'deposit' THEN b.amount - b.fee ELSE b.amount END),
                     (%(fees)s::uuid, b.fee)
                 ) AS leg(wallet_id, amount)
                 WHERE leg.amount <> 0
                """,
                params,
            )
            cursor.execute(
                """
                INSERT INTO transactions_entry (transaction_id, wallet_id, currency_id, amount, created_at)
                SELECT transaction_id, wallet_id, 'USD', amount, created_at FROM demo_legs ORDER BY created_at
                """
            )
            if analyze:
                # The deferred zero-sum trigger runs one query per new entry at COMMIT. Planned with the
                # statistics of a near-empty table it walks a whole index for each entry (quadratic);
                # statistics that count this batch's rows (ANALYZE sees them) make it one index lookup.
                cursor.execute("ANALYZE transactions_entry")
            cursor.execute(
                """
                INSERT INTO walletmanager_auditevent
                    (actor_id, action, target_type, target_id, reason, data, ip, created_at)
                SELECT owner_id, CASE kind WHEN 'deposit' THEN 'deposit.settled' ELSE kind || '.posted' END,
                       'transactions.transaction', id::text, '',
                       jsonb_strip_nulls(jsonb_build_object(
                           'kind', kind, 'status', 'posted', 'wallet', wallet_id::text, 'currency', 'USD',
                           'amount', amount::text, 'fee', fee::text, 'to_wallet', to_wallet_id::text, 'bulk', true
                       )),
                       NULL, created_at
                  FROM demo_batch
                """
            )
            cursor.execute("DROP TABLE demo_batch, demo_legs")
        return written
