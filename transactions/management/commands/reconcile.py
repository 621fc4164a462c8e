"""``manage.py reconcile``: check every ledger invariant; exit 0 when clean, 1 on any drift (SPEC §9)."""

import json
import sys

from transactions.reconciliation import reconcile
from walletmanager.commands import OperatorCommand


class Command(OperatorCommand):
    help = "Check every ledger invariant and print a report. Exit status 0 when clean, 1 on any drift."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the report as JSON instead of text.")

    def run(self, *args, **options):
        report = reconcile()
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(report.as_text())
        if not report.is_clean:
            self.stdout.flush()
            sys.exit(1)
