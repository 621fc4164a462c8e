"""Demo data for a fresh installation, made through the services so every ledger invariant holds.

Idempotent: demo logins, wallets and rates are created once; ``--transactions N`` tops the number of
demo transactions up to N rather than adding N more each run.
"""

from __future__ import annotations

import random
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.db import transaction as db_transaction
from tqdm import tqdm

from balances.models import Currency
from transactions import services
from transactions.models import ExchangeRate, FeeRule, Transaction
from users.models import User
from walletmanager.commands import OperatorCommand
from walletmanager.exceptions import DomainError
from wallets.models import Wallet
from wallets.services import wallet_create

DEMO_DESCRIPTION = "demo"
DEMO_PIN = "2468"
DEMO_LOGINS = [
    # email, password, role, superuser, group, first name, last name
    ("admin@walletmanager.test", "demo-admin-password", User.Role.ADMIN, True, None, "Ada", "Admin"),
    ("support@walletmanager.test", "demo-support-password", User.Role.ADMIN, False, "Support", "Sam", "Support"),
    ("finance@walletmanager.test", "demo-finance-password", User.Role.ADMIN, False, "Finance", "Fran", "Finance"),
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


class Command(OperatorCommand):
    help = "Create demo logins, wallets, rates and transactions (idempotent) and print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=5, help="demo clients besides the demo logins (default 5)")
        parser.add_argument(
            "--transactions", type=int, default=30, help="demo transactions to have in total (default 30)"
        )
        parser.add_argument("--seed", type=int, default=2026, help="random seed, for repeatable data")

    def run(self, *args, users: int, transactions: int, seed: int, **options):
        if users < 0 or transactions < 0:
            raise CommandError("--users and --transactions must be zero or more.")
        rng = random.Random(seed)
        self.usd = Currency.objects.get(code="USD")
        self.eur = Currency.objects.get(code="EUR")
        logins = self._demo_logins()
        self._rates_and_fees()
        clients = [logins["client@walletmanager.test"]] + self._demo_clients(users)
        wallets = [self._wallets_of(client) for client in clients]
        self._transactions(rng, [w for pair in wallets for w in pair], target=transactions)

        self.stdout.write(self.style.SUCCESS("Demo data is ready. Logins:"))
        for email, password, role, superuser, group, *_ in DEMO_LOGINS:
            label = "superuser" if superuser else (group or role)
            self.stdout.write(f"  {label:<10} {email:<30} {password}")
        self.stdout.write(f"  demo wallets' PIN: {DEMO_PIN}")

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

    def _rates_and_fees(self) -> None:
        if not ExchangeRate.objects.filter(source="demo").exists():
            ExchangeRate.objects.bulk_create(
                ExchangeRate(base_id=base, quote_id=quote, rate=Decimal(rate), source="demo")
                for base, quote, rate in DEMO_RATES
            )
        FeeRule.objects.get_or_create(
            kind=Transaction.Kind.TRANSFER, currency=None, is_active=True,
            defaults={"percent_bps": 50, "min_fee": Decimal("0"), "flat": Decimal("0")},
        )
        Currency.objects.filter(code="USD", withdrawal_approval_threshold__isnull=True).update(
            withdrawal_approval_threshold=Decimal("10000")
        )

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
                    actor=client, owner=client, name="Everyday USD", balance_kind="regular", currency="USD", pin=DEMO_PIN
                )
                services.transaction_deposit(
                    actor=client, wallet=usd, currency=self.usd, amount=Decimal("5000.00"), description=DEMO_DESCRIPTION
                )
        multi = existing.get("Travel (multi-currency)")
        if multi is None:
            with db_transaction.atomic():
                multi = wallet_create(
                    actor=client, owner=client, name="Travel (multi-currency)", balance_kind="multi",
                    currency=None, pin=DEMO_PIN,
                )
                services.transaction_deposit(
                    actor=client, wallet=multi, currency=self.eur, amount=Decimal("1000.00"), description=DEMO_DESCRIPTION
                )
        return usd, multi

    def _transactions(self, rng: random.Random, wallets: list[Wallet], *, target: int) -> None:
        existing = Transaction.objects.filter(description=DEMO_DESCRIPTION).count()
        missing = max(0, target - existing)
        if not missing:
            return
        usd_wallets = [w for w in wallets if w.name == "Everyday USD"]
        for _ in tqdm(range(missing), desc="demo transactions", unit="tx", disable=missing < 20):
            wallet = rng.choice(usd_wallets)
            amount = Decimal(rng.randint(100, 20000)) / 100
            choice = rng.random()
            try:
                if choice < 0.4:
                    services.transaction_deposit(
                        actor=wallet.owner, wallet=wallet, currency=self.usd, amount=amount, description=DEMO_DESCRIPTION
                    )
                elif choice < 0.7:
                    services.transaction_withdraw(
                        actor=wallet.owner, wallet=wallet, currency=self.usd, amount=amount, pin=DEMO_PIN,
                        description=DEMO_DESCRIPTION,
                    )
                else:
                    other = rng.choice([w for w in usd_wallets if w != wallet] or usd_wallets)
                    services.transaction_transfer(
                        actor=wallet.owner, wallet=wallet, to_address=other.address, currency=self.usd, amount=amount,
                        pin=DEMO_PIN, description=DEMO_DESCRIPTION,
                    )
            except DomainError:
                # e.g. not enough money for this draw: a refused demo operation changes nothing.
                services.transaction_deposit(
                    actor=wallet.owner, wallet=wallet, currency=self.usd, amount=amount, description=DEMO_DESCRIPTION
                )
