from balances import services
from balances.models import Balance
from walletmanager.commands import OperatorCommand
from wallets import selectors as wallet_selectors


class Command(OperatorCommand):
    help = "Freeze a wallet's balance: money still comes in, nothing goes out (SPEC §4)."

    def add_arguments(self, parser):
        parser.add_argument("wallet", help="The wallet's id (a UUID) or its address.")
        # Checked by the service rather than argparse, so a missing reason is one line, not a usage dump.
        parser.add_argument("--reason", default="", help="Why (required); recorded in the audit trail.")

    def run(self, *args, **options):
        wallet = wallet_selectors.wallet_get_by_reference(reference=options["wallet"])
        balance = Balance.objects.get(wallet=wallet)
        already = balance.status == Balance.Status.FROZEN
        services.balance_freeze(actor=self.get_actor(), balance=balance, reason=options["reason"])
        self.stdout.write(
            f"The balance of {wallet.pk} was already frozen." if already else f"Froze the balance of {wallet.pk}."
        )
