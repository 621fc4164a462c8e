import factory
from django.contrib.auth.models import Group

from users.models import User

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"client{n}@example.com")
    first_name = "Ada"
    last_name = "Lovelace"
    role = User.Role.CLIENT
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*(Group.objects.get(name=name) if isinstance(name, str) else name for name in extracted))
        if create:
            self.save()


class StaffFactory(UserFactory):
    """A staff operator with an enrolled authenticator (``authenticator=False`` for none); pass
    ``groups=["Support"]`` or ``["Finance"]`` for an operator's permissions."""

    email = factory.Sequence(lambda n: f"operator{n}@example.com")
    first_name = "Grace"
    last_name = "Hopper"
    role = User.Role.ADMIN

    @factory.post_generation
    def authenticator(self, create, extracted, **kwargs):
        if create and extracted is not False:
            from walletmanager.testing.two_factor import totp_device

            totp_device(self)


class SuperuserFactory(StaffFactory):
    email = factory.Sequence(lambda n: f"root{n}@example.com")
    is_superuser = True
