from users import selectors, services
from walletmanager.commands import OperatorCommand


class Command(OperatorCommand):
    help = "Lift the lockout of a staff account (by email) after too many failed logins (SPEC §13)."

    def add_arguments(self, parser):
        parser.add_argument("email", help="The user's email (any case).")
        parser.add_argument("--reason", default="", help="Optional; recorded in the audit trail.")

    def run(self, *args, **options):
        user = selectors.user_get_by_email_or_error(email=options["email"])
        locked = user.locked_until
        user = services.user_unlock(actor=self.get_actor(), user=user, reason=options["reason"])
        self.stdout.write(
            f"Unlocked {user.email}." if locked and user.locked_until is None else f"{user.email} was not locked."
        )
