from walletmanager.commands import OperatorCommand
from wallets import selectors, services
from wallets.models import Wallet


class Command(OperatorCommand):
    help = "Close an empty wallet (by id or address), for good (as the system: no PIN) (SPEC §4)."

    def add_arguments(self, parser):
        parser.add_argument("wallet", help="The wallet's id (a UUID) or its address.")
        parser.add_argument("--reason", default="", help="Optional; recorded in the audit trail.")

    def run(self, *args, **options):
        wallet = selectors.wallet_get_by_reference(reference=options["wallet"])
        already = wallet.status == Wallet.Status.CLOSED
        wallet = services.wallet_close(actor=self.get_actor(), wallet=wallet, reason=options["reason"])
        self.stdout.write(f"{wallet.pk} was already closed." if already else f"Closed wallet {wallet.pk}.")
