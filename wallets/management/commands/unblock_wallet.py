from walletmanager.commands import OperatorCommand
from wallets import selectors, services
from wallets.models import Wallet


class Command(OperatorCommand):
    help = "Unblock a blocked wallet (by id or address) (SPEC §4)."

    def add_arguments(self, parser):
        parser.add_argument("wallet", help="The wallet's id (a UUID) or its address.")
        parser.add_argument("--reason", default="", help="Optional; recorded in the audit trail.")

    def run(self, *args, **options):
        wallet = selectors.wallet_get_by_reference(reference=options["wallet"])
        already = wallet.status == Wallet.Status.ACTIVE
        wallet = services.wallet_unblock(actor=self.get_actor(), wallet=wallet, reason=options["reason"])
        self.stdout.write(f"{wallet.pk} was not blocked." if already else f"Unblocked wallet {wallet.pk}.")
