import threading

import pytest
from django.db import connection
from django.test import override_settings

from users.tests.factories import UserFactory
from walletmanager.exceptions import DomainError
from wallets import services
from wallets.models import Wallet


# Real commits and real connections; serialized_rollback restores the seeded rows afterwards.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(MAX_WALLETS_PER_USER=3)
def test_concurrent_openings_never_exceed_the_wallet_limit():
    owner = UserFactory()
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def open_one() -> None:
        try:
            start.wait()
            services.wallet_create(
                actor=owner, owner=owner, name="Race", balance_kind="regular", currency="USD", pin="1234"
            )
            outcomes.append("created")
        except DomainError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["created"] * 3 + ["wallet_limit_reached"] * 3
    assert Wallet.objects.filter(owner=owner).count() == 3
