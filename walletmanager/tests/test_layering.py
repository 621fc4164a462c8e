"""Dependencies point one way, users ← wallets ← balances ← transactions, and the shared kernel
(walletmanager) names no domain: a lower app never imports, nor looks up by name, a higher one
(STYLE "Layout of an app"). Tests are left out: they may set up any app's rows."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

ORDER = ["users", "wallets", "balances", "transactions"]
# The project's composition roots: the URLconf mounts every app's API, and the jobs module schedules
# thin calls of domain services (STYLE "Where new things live"). Every other kernel module is used by
# the domains and names none of them; they register what it needs (approvals, webhooks, admin panels).
COMPOSITION_ROOTS = {"walletmanager/urls.py", "walletmanager/jobs.py"}


def imported_apps(path: Path) -> set[str]:
    """The top-level packages a module imports (anywhere in it) or names in ``apps.get_model``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_model"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value.split(".")[0])
    return found


def modules(package: str) -> list[Path]:
    root = Path(settings.BASE_DIR) / package
    return [
        path
        for path in root.rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts and "testing" not in path.parts
    ]


@pytest.mark.parametrize("app", ORDER[:-1])
def test_a_lower_app_never_reaches_a_higher_one(app):
    higher = set(ORDER[ORDER.index(app) + 1 :])
    offending = {
        str(path.relative_to(settings.BASE_DIR)): sorted(imported_apps(path) & higher) for path in modules(app)
    }
    assert {path: apps for path, apps in offending.items() if apps} == {}


def test_the_kernel_names_no_domain_but_in_its_composition_roots():
    offending = {
        str(path.relative_to(settings.BASE_DIR)): sorted(imported_apps(path) & set(ORDER))
        for path in modules("walletmanager")
        if str(path.relative_to(settings.BASE_DIR)) not in COMPOSITION_ROOTS
    }
    assert {path: apps for path, apps in offending.items() if apps} == {}


# The wallets admin and the API's balance serializer (its plain representation reads
# ``balance.assets`` as its ``source="assets.all"`` does) read the assets to display a wallet's
# balance per currency; everything else in wallets (its services above all) asks the balances app's
# registered steps instead.
ASSET_READERS = {"wallets/admin.py", "wallets/serializers.py"}


def asset_references(path: Path) -> list[str]:
    """Where a module names the balances app's asset rows: the reverse relation ``.assets`` or the
    ``BalanceAsset`` model (as a name, an attribute, or a string such as ``"balances.BalanceAsset"``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("assets", "BalanceAsset"):
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id == "BalanceAsset":
            found.append(f"{node.lineno}: BalanceAsset")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "balanceasset" in node.value.lower():
            found.append(f"{node.lineno}: {node.value!r}")
    return found


def test_wallets_leaves_the_asset_rows_to_the_balances_app():
    """Locking the assets, mirroring a credit limit on them and checking them before a close are the
    balances app's steps (``wallets.services.register_balance_steps``): a source-level check, since
    the reverse relation ``wallet.balance.assets`` needs no import for the test above to catch."""
    offending = {
        str(path.relative_to(settings.BASE_DIR)): asset_references(path)
        for path in modules("wallets")
        if str(path.relative_to(settings.BASE_DIR)) not in ASSET_READERS
    }
    assert {path: found for path, found in offending.items() if found} == {}
