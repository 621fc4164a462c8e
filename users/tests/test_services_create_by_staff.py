"""Users an operator adds (the admin) are created by users.services.user_create with the operator as
actor: the same rules as sign-up, plus who may add users and who may add staff."""

import pytest
from django.contrib.auth.models import Permission

from users import services
from users.models import User
from users.tests.factories import StaffFactory, SuperuserFactory
from walletmanager.exceptions import PermissionDeniedError, ValidationFailed
from walletmanager.models import AuditEvent

pytestmark = pytest.mark.django_db

NEW = {"email": "Nina@Example.com", "password": "grapefruit-olive-41", "first_name": "Nina", "last_name": "Simone"}


def test_a_superuser_adds_an_operator_and_the_trail_names_them():
    root = SuperuserFactory()

    created = services.user_create(actor=root, role=User.Role.ADMIN, **NEW)

    assert (created.email, created.role, created.is_staff) == ("nina@example.com", "admin", True)
    assert created.check_password(NEW["password"])
    event = AuditEvent.objects.get(action="user.registered", target_id=str(created.pk))
    assert (event.actor, event.data["after"]) == (root, {"email": "nina@example.com", "role": "admin"})


def test_an_operator_needs_add_user_and_only_a_superuser_adds_staff():
    support = StaffFactory(groups=["Support"])
    editor = StaffFactory()
    editor.user_permissions.add(Permission.objects.get(codename="add_user"))
    editor = User.objects.get(pk=editor.pk)  # a fresh permission cache

    with pytest.raises(PermissionDeniedError):
        services.user_create(actor=support, **NEW)
    with pytest.raises(PermissionDeniedError):
        services.user_create(actor=editor, role=User.Role.ADMIN, **NEW)

    assert not User.objects.filter(email="nina@example.com").exists()
    assert not AuditEvent.objects.filter(action="user.registered").exists()
    client = services.user_create(actor=editor, **NEW)
    assert client.role == "client"


def test_the_operator_gets_the_sign_up_rules_too():
    root = SuperuserFactory()
    services.user_create(actor=root, **NEW)

    with pytest.raises(ValidationFailed) as taken:
        services.user_create(actor=root, **{**NEW, "email": "NINA@example.com"})
    with pytest.raises(ValidationFailed) as weak:
        services.user_create(actor=root, **{**NEW, "email": "other@example.com", "password": "1234567890"})

    assert (taken.value.field, taken.value.code) == ("email", "email_taken")
    assert weak.value.field == "password"
    assert User.objects.filter(email__iexact="nina@example.com").count() == 1
    assert not User.objects.filter(email="other@example.com").exists()
