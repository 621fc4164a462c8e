from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.models import AuthToken

from users.models import User
from users.services import user_login
from users.tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from users.two_factor import user_totp_enrol
from walletmanager.models import AuditEvent
from walletmanager.testing.database import run_manage


@pytest.mark.django_db
def test_block_user_blocks_by_email_in_any_case_and_audits_as_the_system():
    user = UserFactory(email="mallory@example.com")
    user_login(email=user.email, password=DEFAULT_PASSWORD)
    out = StringIO()

    call_command("block_user", "Mallory@Example.com", "--reason", "card testing", stdout=out)

    user.refresh_from_db()
    assert (user.status, user.block_reason) == ("blocked", "card testing")
    assert not AuthToken.objects.filter(user=user).exists()
    assert out.getvalue().strip() == "Blocked mallory@example.com."
    event = AuditEvent.objects.get(action="user.blocked")
    assert (event.actor, event.reason, event.target_id) == (None, "card testing", str(user.pk))


@pytest.mark.django_db
def test_block_user_twice_says_so_and_writes_one_event():
    user = UserFactory()
    call_command("block_user", user.email, "--reason", "x", stdout=StringIO())
    out = StringIO()

    call_command("block_user", user.email, "--reason", "y", stdout=out)

    assert "already blocked" in out.getvalue()
    assert AuditEvent.objects.filter(action="user.blocked").count() == 1


@pytest.mark.django_db
def test_unblock_user_restores_active():
    user = UserFactory(status=User.Status.BLOCKED, block_reason="x")
    out = StringIO()

    call_command("unblock_user", user.email, stdout=out)

    user.refresh_from_db()
    assert user.status == "active"
    assert out.getvalue().strip() == f"Unblocked {user.email}."
    assert AuditEvent.objects.filter(action="user.unblocked", target_id=str(user.pk)).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, message",
    [
        (["block_user", "ghost@example.com", "--reason", "x"], "No user with email 'ghost@example.com'."),
        (["unblock_user", "ghost@example.com"], "No user with email 'ghost@example.com'."),
        (["block_user", "client-known@example.com", "--reason", "  "], "A reason is required."),
        (["block_user", "client-known@example.com"], "the following arguments are required: --reason"),
        (["block_user"], "the following arguments are required: email"),
    ],
)
def test_bad_arguments_are_a_one_line_command_error(args, message):
    UserFactory(email="client-known@example.com")

    with pytest.raises(CommandError) as error:
        call_command(*args, stdout=StringIO(), stderr=StringIO())

    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert User.objects.get(email="client-known@example.com").status == "active"


@pytest.mark.django_db
def test_commands_refuse_the_system_user_and_closed_users():
    closed = UserFactory(status=User.Status.CLOSED, closed_at=timezone.now())
    system = User.objects.get(is_system=True)

    with pytest.raises(CommandError, match="invalid_state"):
        call_command("block_user", closed.email, "--reason", "x", stdout=StringIO())
    with pytest.raises(CommandError, match="No user"):
        call_command("block_user", system.email, "--reason", "x", stdout=StringIO())


@pytest.mark.django_db
def test_commands_block_staff_only_as_a_named_superuser():
    operator = StaffFactory()
    with pytest.raises(CommandError, match="cannot_block_staff"):
        call_command("block_user", operator.email, "--reason", "left the company", stdout=StringIO())

    call_command(
        "block_user",
        operator.email,
        "--reason",
        "left the company",
        "--by",
        StaffFactory(is_superuser=True).email,
        stdout=StringIO(),
    )

    operator.refresh_from_db()
    assert operator.status == "blocked"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_block_user_from_the_shell_exits_non_zero_without_a_traceback():
    unknown = run_manage("block_user", "ghost@example.com", "--reason", "x")
    missing_reason = run_manage("block_user", "ghost@example.com")

    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines() == [
        "CommandError: user_not_found: No user with email 'ghost@example.com'."
    ]
    assert missing_reason.returncode != 0
    for result in (unknown, missing_reason):
        assert "Traceback" not in result.stderr


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_createsuperuser_noinput_takes_email_and_names_from_the_environment(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]  # what the subprocess used
    result = run_manage(
        "createsuperuser",
        "--noinput",
        env={
            "DJANGO_SUPERUSER_EMAIL": "Root@Example.com",
            "DJANGO_SUPERUSER_PASSWORD": "marble-canyon-73",
            "DJANGO_SUPERUSER_FIRST_NAME": "Root",
            "DJANGO_SUPERUSER_LAST_NAME": "Admin",
        },
    )

    assert result.returncode == 0, result.stderr
    root = User.objects.get(email="root@example.com")
    assert (root.is_superuser, root.is_staff, root.role, root.status) == (True, True, "admin", "active")
    assert (root.first_name, root.last_name) == ("Root", "Admin")
    assert root.check_password("marble-canyon-73")


@pytest.mark.django_db
def test_createsuperuser_with_options(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "marble-canyon-73")

    call_command(
        "createsuperuser",
        "--noinput",
        "--email",
        "ops@example.com",
        "--first_name",
        "Op",
        "--last_name",
        "Erator",
        stdout=StringIO(),
    )

    ops = User.objects.get(email="ops@example.com")
    assert ops.is_superuser and ops.is_staff and ops.check_password("marble-canyon-73")
    # Staff log in with a second factor: enrolled the way ops enrol one (staff_totp).
    recovery = user_totp_enrol(actor=None, user=ops).recovery_codes[0]
    assert user_login(email="ops@example.com", password="marble-canyon-73", otp=recovery)[1]
