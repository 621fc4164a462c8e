from wallets import selectors, services
from wallets.models import Wallet
from walletmanager.commands import OperatorCommand


class Command(OperatorCommand):
    help = "Close an empty wallet by id, for good (as the system: no PIN) (SPEC §4)."

    def add_arguments(self, parser):
        parser.add_argument("wallet_id", help="The wallet's UUID.")
        parser.add_argument("--reason", default="", help="Optional; recorded in the audit trail.")

    def run(self, *args, **options):
        wallet = selectors.wallet_get_by_id(wallet_id=options["wallet_id"])
        already = wallet.status == Wallet.Status.CLOSED
        wallet = services.wallet_close(actor=self.get_actor(), wallet=wallet, reason=options["reason"])
        self.stdout.write(f"{wallet.pk} was already closed." if already else f"Closed wallet {wallet.pk}.")
