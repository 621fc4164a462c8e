from balances import services
from balances.models import Balance
from walletmanager.commands import OperatorCommand
from wallets import selectors as wallet_selectors


class Command(OperatorCommand):
    help = "Unfreeze a wallet's balance (SPEC §4)."

    def add_arguments(self, parser):
        parser.add_argument("wallet", help="The wallet's id (a UUID) or its address.")
        parser.add_argument("--reason", default="", help="Optional; recorded in the audit trail.")

    def run(self, *args, **options):
        wallet = wallet_selectors.wallet_get_by_reference(reference=options["wallet"])
        balance = Balance.objects.get(wallet=wallet)
        already = balance.status == Balance.Status.ACTIVE
        services.balance_unfreeze(actor=self.get_actor(), balance=balance, reason=options["reason"])
        self.stdout.write(
            f"The balance of {wallet.pk} was not frozen." if already else f"Unfroze the balance of {wallet.pk}."
        )
