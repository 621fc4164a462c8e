# The wallet fixtures are shared: balances tests open wallets exactly as the wallets tests do.
from wallets.tests.conftest import (  # noqa: F401
    client_api,
    client_user,
    credit_wallet,
    finance_user,
    open_wallet,
    other_api,
    other_client,
    staff_api,
    staff_user,
    system_wallet,
    wallet,
)
