"""``manage.py seal_audit``: seal the audit events no open transaction can still add below (SPEC §15).
The periodic job does the same every minute; this is for an operator who wants it now."""

import math

from django.core.management.base import CommandError

from walletmanager.audit_seal import audit_seal
from walletmanager.commands import OperatorCommand


class Command(OperatorCommand):
    help = "Seal new audit events in hash-chained blocks. Exit status 1 when open transactions held them back."

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait",
            type=float,
            default=10.0,
            help="Seconds to wait for transactions that may still add events (default 10).",
        )

    def run(self, *args, **options):
        wait = options["wait"]
        if not math.isfinite(wait) or wait < 0:
            raise CommandError("--wait must be a number of seconds, 0 or more.")
        seals = audit_seal(wait=wait)
        if not seals:
            self.stdout.write("Nothing new to seal.")
            return
        events = sum(seal.event_count for seal in seals)
        self.stdout.write(f"Sealed {events} event(s) in {len(seals)} block(s):")
        for seal in seals:
            self.stdout.write(f"  block {seal.pk}  events {seal.first_event_id}–{seal.last_event_id}  {seal.hash}")
