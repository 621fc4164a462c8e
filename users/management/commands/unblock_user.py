from users import selectors, services
from walletmanager.commands import OperatorCommand


class Command(OperatorCommand):
    help = "Restore a blocked user (by email) to active."

    def add_arguments(self, parser):
        parser.add_argument("email", help="The user's email (any case).")
        parser.add_argument(
            "--by",
            metavar="SUPERUSER_EMAIL",
            help="Act as this operator (audited as the actor); required for a staff member, and must be a superuser.",
        )
        parser.add_argument("--reason", default="", help="Optional; recorded in the audit trail.")

    def run(self, *args, **options):
        user = selectors.user_get_by_email_or_error(email=options["email"])
        already = user.status == user.Status.ACTIVE
        user = services.user_unblock(
            actor=selectors.user_command_actor(by=options["by"], user=user), user=user, reason=options["reason"]
        )
        self.stdout.write(f"{user.email} was already active." if already else f"Unblocked {user.email}.")
