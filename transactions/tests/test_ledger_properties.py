"""Hypothesis: any sequence of movements keeps every ledger invariant (SPEC §11)."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from balances.models import Currency
from transactions import services
from transactions.models import ExchangeRate, FeeRule, Transaction
from transactions.tests.conftest import PIN, assert_ledger_consistent, deposit, make_wallet, seed_reference_data
from users.tests.factories import StaffFactory
from walletmanager.exceptions import DomainError

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
        self.staff = StaffFactory()
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
        self.attempt(services.transaction_withdraw, actor=wallet.owner, wallet=wallet, currency=self.usd, amount=amount, pin=PIN)

    @rule(source=st.integers(0, 3), dest=st.integers(0, 3), amount=amounts)
    def transfer(self, source, dest, amount):
        wallet = self.wallets[source]
        self.attempt(
            services.transaction_transfer, actor=wallet.owner, wallet=wallet, to_address=self.wallets[dest].address,
            currency=self.usd, amount=amount, pin=PIN,
        )

    @rule(amount=amounts, back=st.booleans())
    def exchange(self, amount, back):
        wallet = self.wallets[0]
        from_currency, to_currency = (self.eur, self.usd) if back else (self.usd, self.eur)
        self.attempt(
            services.transaction_exchange, actor=wallet.owner, wallet=wallet, from_currency=from_currency,
            to_currency=to_currency, amount=amount,
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
        self.attempt(services.transaction_reverse, actor=self.staff, transaction=posted[pick % len(posted)], reason="undo")

    @invariant()
    def ledger_is_consistent(self):
        assert_ledger_consistent()


@pytest.mark.django_db(transaction=True)
def test_any_sequence_of_movements_keeps_the_ledger_consistent():
    machine = LedgerMachine.TestCase
    machine.settings = settings(
        max_examples=5, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )

    from django.core.management import call_command

    def teardown(self):
        # Each example starts from an empty ledger.
        call_command("flush", interactive=False, verbosity=0, reset_sequences=False)

    LedgerMachine.teardown = teardown
    machine().runTest()
