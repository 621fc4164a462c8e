"""``manage.py verify_audit``: recompute the audit seal's chain (SPEC §15); exit 0 when every sealed
block still matches, 1 naming the first one that does not."""

import sys

from walletmanager.audit_seal import audit_verify
from walletmanager.commands import OperatorCommand


class Command(OperatorCommand):
    help = "Recompute the audit trail's hash chain. Exit status 0 when it holds, 1 naming the first broken block."

    def run(self, *args, **options):
        verification = audit_verify()
        if verification.ok:
            self.stdout.write(verification.as_text())
            return
        self.stderr.write(verification.as_text())
        self.stderr.flush()
        sys.exit(1)
