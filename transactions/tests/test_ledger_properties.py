"""Hypothesis: any sequence of movements keeps every ledger invariant (SPEC §11), and no sequence of
client calls creates money without a confirmed deposit (SPEC §12)."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from balances.models import Currency
from transactions import deposits, services
from transactions.models import ExchangeRate, FeeRule, Transaction
from users.tests.factories import StaffFactory
from walletmanager.exceptions import DomainError
from walletmanager.testing.ledger import PIN, assert_ledger_consistent, deposit, make_wallet, seed_reference_data

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("150"), places=2)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        seed_reference_data()
        Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("60"))
        FeeRule.objects.create(kind="withdrawal", currency=None, percent_bps=125, flat=Decimal("0.01"))
        FeeRule.objects.create(kind="transfer", currency=None, percent_bps=33, max_fee=Decimal("0.5"))
        FeeRule.objects.create(kind="exchange", currency=None, percent_bps=50)
        ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.913"))
        self.usd = Currency.objects.get(code="USD")
        self.eur = Currency.objects.get(code="EUR")
        # The flush between examples drops the migrations' groups: grant the permissions directly.
        self.staff = StaffFactory()
        self.staff.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="transactions", codename__in=["approve_withdrawal", "reverse_transaction"]
            )
        )
        self.staff = type(self.staff).objects.get(pk=self.staff.pk)  # a fresh permission cache
        owner = make_wallet().owner
        self.wallets = [
            make_wallet(owner=owner, balance_kind="multi", currency=None),
            make_wallet(owner=owner),
            make_wallet(),
            make_wallet(kind="credit", credit_limit=Decimal("40")),
        ]

    def attempt(self, function, **kwargs):
        try:
            function(**kwargs)
        except DomainError:
            pass  # refused: must change nothing, which the invariants check

    @rule(index=st.integers(0, 3), amount=amounts)
    def deposit(self, index, amount):
        self.attempt(deposit, wallet=self.wallets[index], amount=amount)

    @rule(index=st.integers(0, 3), amount=amounts)
    def withdraw(self, index, amount):
        wallet = self.wallets[index]
        self.attempt(
            services.transaction_withdraw, actor=wallet.owner, wallet=wallet, currency=self.usd, amount=amount, pin=PIN
        )

    @rule(source=st.integers(0, 3), dest=st.integers(0, 3), amount=amounts)
    def transfer(self, source, dest, amount):
        wallet = self.wallets[source]
        self.attempt(
            services.transaction_transfer,
            actor=wallet.owner,
            wallet=wallet,
            to_address=self.wallets[dest].address,
            currency=self.usd,
            amount=amount,
            pin=PIN,
        )

    @rule(amount=amounts, back=st.booleans())
    def exchange(self, amount, back):
        wallet = self.wallets[0]
        from_currency, to_currency = (self.eur, self.usd) if back else (self.usd, self.eur)
        self.attempt(
            services.transaction_exchange,
            actor=wallet.owner,
            wallet=wallet,
            from_currency=from_currency,
            to_currency=to_currency,
            amount=amount,
        )

    @precondition(lambda self: Transaction.objects.filter(status="pending").exists())
    @rule(decision=st.sampled_from(["approve", "reject", "cancel"]))
    def resolve(self, decision):
        pending = Transaction.objects.filter(status="pending").select_related("wallet__owner").first()
        if decision == "approve":
            self.attempt(services.transaction_approve, actor=self.staff, transaction=pending)
        elif decision == "reject":
            self.attempt(services.transaction_reject, actor=self.staff, transaction=pending, reason="no")
        else:
            self.attempt(services.transaction_cancel, actor=pending.wallet.owner, transaction=pending)

    @precondition(lambda self: Transaction.objects.filter(status="posted").exists())
    @rule(pick=st.integers(0, 50))
    def reverse(self, pick):
        posted = list(Transaction.objects.filter(status="posted").order_by("created_at", "id"))
        self.attempt(
            services.transaction_reverse, actor=self.staff, transaction=posted[pick % len(posted)], reason="undo"
        )

    @invariant()
    def ledger_is_consistent(self):
        assert_ledger_consistent()


@pytest.mark.django_db(transaction=True)
def test_any_sequence_of_movements_keeps_the_ledger_consistent():
    machine = LedgerMachine.TestCase
    machine.settings = settings(
        max_examples=5,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )

    from django.core.management import call_command

    def teardown(self):
        # Each example starts from an empty ledger.
        call_command("flush", interactive=False, verbosity=0, reset_sequences=False)

    LedgerMachine.teardown = teardown
    machine().runTest()


class ClientMachine(RuleBasedStateMachine):
    """Clients doing whatever the API lets them: ask to deposit, withdraw, transfer, cancel. Only the
    provider's confirmation may add money to the clients' side of the ledger."""

    def __init__(self):
        super().__init__()
        seed_reference_data()
        Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("60"))
        self.usd = Currency.objects.get(code="USD")
        self.wallets = [make_wallet(), make_wallet(), make_wallet(balance_kind="multi", currency=None)]
        self.confirmed = Decimal(0)
        self.provider_ids = 0

    def attempt(self, function, **kwargs):
        try:
            return function(**kwargs)
        except DomainError:
            return None

    @rule(index=st.integers(0, 2), amount=amounts)
    def ask_to_deposit(self, index, amount):
        wallet = self.wallets[index]
        self.attempt(deposits.transaction_deposit, actor=wallet.owner, wallet=wallet, currency=self.usd, amount=amount)

    @rule(index=st.integers(0, 2), amount=amounts)
    def withdraw(self, index, amount):
        wallet = self.wallets[index]
        self.attempt(
            services.transaction_withdraw, actor=wallet.owner, wallet=wallet, currency=self.usd, amount=amount, pin=PIN
        )

    @rule(source=st.integers(0, 2), dest=st.integers(0, 2), amount=amounts)
    def transfer(self, source, dest, amount):
        wallet = self.wallets[source]
        self.attempt(
            services.transaction_transfer,
            actor=wallet.owner,
            wallet=wallet,
            to_address=self.wallets[dest].address,
            currency=self.usd,
            amount=amount,
            pin=PIN,
        )

    @precondition(lambda self: Transaction.objects.filter(status="pending", kind="withdrawal").exists())
    @rule(pick=st.integers(0, 50))
    def cancel(self, pick):
        pending = list(Transaction.objects.filter(status="pending", kind="withdrawal").order_by("created_at", "id"))
        chosen = pending[pick % len(pending)]
        self.attempt(services.transaction_cancel, actor=chosen.wallet.owner, transaction=chosen)

    @precondition(lambda self: Transaction.objects.filter(status="pending", kind="deposit").exists())
    @rule(pick=st.integers(0, 50), received=amounts, failed=st.booleans())
    def provider_reports(self, pick, received, failed):
        pending = list(Transaction.objects.filter(status="pending", kind="deposit").order_by("created_at", "id"))
        chosen = pending[pick % len(pending)]
        self.provider_ids += 1
        result = self.attempt(
            deposits.deposit_settle,
            event=deposits.PaymentEvent(
                reference=chosen.reference,
                provider_id=f"p{self.provider_ids}",
                amount=received,
                currency="USD",
                status="failed" if failed else "succeeded",
            ),
        )
        if result is not None and result[0].status == "posted":
            self.confirmed += result[0].received_amount - result[0].fee

    @invariant()
    def clients_hold_no_more_than_was_confirmed(self):
        held_by_clients = sum(
            (asset.posted for wallet in self.wallets for asset in wallet.balance.assets.filter(currency_id="USD")),
            Decimal(0),
        )
        assert held_by_clients <= self.confirmed

    @invariant()
    def ledger_is_consistent(self):
        assert_ledger_consistent()


@pytest.mark.django_db(transaction=True)
def test_no_sequence_of_client_calls_creates_money_without_a_confirmed_deposit():
    machine = ClientMachine.TestCase
    machine.settings = settings(
        max_examples=5,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )

    from django.core.management import call_command

    def teardown(self):
        call_command("flush", interactive=False, verbosity=0, reset_sequences=False)

    ClientMachine.teardown = teardown
    machine().runTest()
