"""``manage.py expire_holds``: resolve what waited too long (SPEC §5, §12): pending withdrawals older
than HOLD_TTL (their holds are released), pending deposits older than DEPOSIT_TTL and approval
requests older than APPROVAL_TTL."""

from transactions.deposits import deposit_expire_stale
from transactions.services import transaction_expire_holds
from walletmanager.approvals.services import approval_expire_stale
from walletmanager.commands import OperatorCommand


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


class Command(OperatorCommand):
    help = (
        "Expire pending withdrawals older than HOLD_TTL (releasing their holds), pending deposits older than "
        "DEPOSIT_TTL and approval requests older than APPROVAL_TTL. Prints how many of each expired."
    )

    def run(self, *args, **options):
        withdrawals = transaction_expire_holds()
        deposits = deposit_expire_stale()
        approvals = approval_expire_stale()
        self.stdout.write(
            f"Expired {_count(withdrawals, 'pending withdrawal')}, {_count(deposits, 'pending deposit')} "
            f"and {_count(approvals, 'approval request')}."
        )
