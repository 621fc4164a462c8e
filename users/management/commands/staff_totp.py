from users import selectors, two_factor
from walletmanager.commands import OperatorCommand


class Command(OperatorCommand):
    help = (
        "Enrol (or re-enrol) a staff account's second factor (SPEC §13): prints the otpauth:// URI for an "
        "authenticator app and 10 single-use recovery codes. Earlier devices and codes stop working."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The operator's email (any case).")

    def run(self, *args, **options):
        user = selectors.user_get_by_email_or_error(email=options["email"])
        enrolment = two_factor.user_totp_enrol(actor=self.get_actor(), user=user)
        self.stdout.write(f"Enrolled an authenticator for {user.email}. Add it to an authenticator app:")
        self.stdout.write(f"  URI:    {enrolment.config_url}")
        self.stdout.write(f"  secret: {enrolment.secret}")
        self.stdout.write("Recovery codes (each works once in place of a code; shown only now):")
        for code in enrolment.recovery_codes:
            self.stdout.write(f"  {code}")
