from walletmanager.commands import OperatorCommand
from wallets import selectors, services
from wallets.models import Wallet


class Command(OperatorCommand):
    help = "Block a wallet (by id or address): nothing moves in or out until it is unblocked (SPEC §4)."

    def add_arguments(self, parser):
        parser.add_argument("wallet", help="The wallet's id (a UUID) or its address.")
        # Checked by the service rather than argparse, so a missing reason is one line, not a usage dump.
        parser.add_argument("--reason", default="", help="Why (required); recorded in the audit trail.")

    def run(self, *args, **options):
        wallet = selectors.wallet_get_by_reference(reference=options["wallet"])
        already = wallet.status == Wallet.Status.BLOCKED
        wallet = services.wallet_block(actor=self.get_actor(), wallet=wallet, reason=options["reason"])
        self.stdout.write(f"{wallet.pk} was already blocked." if already else f"Blocked wallet {wallet.pk}.")
