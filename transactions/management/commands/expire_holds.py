"""``manage.py expire_holds``: expire pending withdrawals older than HOLD_TTL, releasing their holds (SPEC §5)."""

from transactions.services import transaction_expire_holds
from walletmanager.commands import OperatorCommand


class Command(OperatorCommand):
    help = "Expire pending withdrawals older than HOLD_TTL and release their holds. Prints how many expired."

    def run(self, *args, **options):
        expired = transaction_expire_holds()
        self.stdout.write(f"Expired {expired} pending withdrawal{'s' if expired != 1 else ''}.")
