"""The README's commands work as typed in a checkout (SPEC §8, issue 24): `make run` writes the development
settings to `.env`, which the settings read, so `manage.py reconcile` (or `shell`, or a worker started by
hand) runs as `make run` does; a variable set in the environment still wins; `make run PORT=…` serves
elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from walletmanager.testing.database import database_env

CHECKOUT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "from django.conf import settings; import os; "
    "print(settings.DEBUG, os.environ.get('WEBHOOK_ALLOW_PRIVATE_URLS'), "
    "settings.SECRET_KEY.startswith('django-insecure'))"
)

pytestmark = pytest.mark.django_db


def write_development_settings(path: Path) -> None:
    """What `make run` does first, through the Makefile's own rule."""
    done = subprocess.run(
        ["make", "-s", f"DEV_SETTINGS={path}", str(path)], cwd=CHECKOUT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def manage(*args: str, env_file: Path, **variables: str) -> subprocess.CompletedProcess:
    """`manage.py *args` as a shell in the checkout runs it: no DJANGO_DEBUG, no secret key exported."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_DEBUG", "DJANGO_SECRET_KEY", "WEBHOOK_ALLOW_PRIVATE_URLS"}
    }
    env.update(database_env(), WALLETMANAGER_ENV_FILE=str(env_file), **variables)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=120
    )


def test_make_run_writes_the_development_settings_that_manage_py_then_reads(tmp_path):
    env_file = tmp_path / ".env"
    write_development_settings(env_file)

    done = manage("shell", "-c", PRINT_SETTINGS, env_file=env_file)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split() == [
        "True",
        "1",
        "True",
    ]  # debug, local webhooks for the worker, the dev key


def test_reconcile_runs_as_typed_once_the_settings_are_written(tmp_path):
    env_file = tmp_path / ".env"
    write_development_settings(env_file)

    done = manage("reconcile", env_file=env_file)

    assert "DJANGO_SECRET_KEY is not set" not in done.stderr
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_without_the_file_the_same_command_says_what_is_missing(tmp_path):
    done = manage("reconcile", env_file=tmp_path / "absent.env")

    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in done.stderr


def test_a_variable_set_in_the_environment_wins_over_the_file(tmp_path):
    env_file = tmp_path / ".env"
    write_development_settings(env_file)

    done = manage("shell", "-c", PRINT_SETTINGS, env_file=env_file, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 50)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split() == ["False", "1", "False"]


def test_an_existing_file_is_left_as_the_developer_wrote_it(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_DEBUG=1\nDJANGO_LOG_LEVEL=DEBUG\n")

    write_development_settings(env_file)

    assert env_file.read_text() == "DJANGO_DEBUG=1\nDJANGO_LOG_LEVEL=DEBUG\n"


def test_make_run_port_serves_elsewhere(tmp_path):
    env_file = tmp_path / ".env"
    write_development_settings(env_file)

    planned = subprocess.run(
        ["make", "-n", "run", "PORT=8001", f"DEV_SETTINGS={env_file}"],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert planned.returncode == 0, planned.stderr
    assert "runserver 127.0.0.1:8001" in planned.stdout
    assert "http://127.0.0.1:8001/admin/" in planned.stdout
    assert ":8000" not in planned.stdout
