"""It keeps serving (SPEC §18), tried as it was tried: a burst of 40 clients three times on a threaded
server, PostgreSQL restarted under load, a worker killed in the middle of a delivery. Real processes
(``runserver`` and ``manage.py worker`` as ``make run`` starts them), real connections, a real
receiver; nothing mocked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection
from knox.models import AuthToken
from rest_framework.test import APIClient

from users.tests.factories import UserFactory
from walletmanager.testing.database import database_env, runtime_connection
from walletmanager.testing.ledger import deposit, make_wallet
from walletmanager.testing.servers import ROOT, Answer, get, own_cluster, start, stop, web_server
from walletmanager.testing.webhook_receiver import WebhookReceiver
from walletmanager.webhooks.models import WebhookDelivery

SERVER_APPLICATION_NAME = "walletmanager-burst-test"


def connections_named(name: str) -> int:
    with runtime_connection() as other:
        return other.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [name]).fetchone()[0]


def assert_never_broken(answers: list[Answer]) -> None:
    """Every answer is a 200, or a 503 service_unavailable with Retry-After: never a 500, never no answer."""
    for answer in answers:
        assert answer.status in (200, 503), (answer.status, answer.body[:300])
        if answer.status == 503:
            assert answer.json()["code"] == "service_unavailable" and int(answer.retry_after) >= 1


# --- the pool ------------------------------------------------------------------------------------


@pytest.fixture
def small_pool(monkeypatch):
    """This process's pool made afresh with one connection and a one-second wait."""
    connection.close()
    connection.close_pool()
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "pool", {"min_size": 0, "max_size": 1, "timeout": 1})
    yield
    connection.close()
    connection.close_pool()


@pytest.mark.django_db(transaction=True)
def test_a_request_that_finds_every_connection_busy_waits_then_answers_503_and_is_served_once_one_frees(small_pool):
    owner = UserFactory()
    api = APIClient()
    api.force_authenticate(owner)
    connection.close()  # the pool's one connection is free
    holding, release = threading.Event(), threading.Event()

    def hold_the_only_connection():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            holding.set()
            release.wait(30)
        connection.close()

    holder = threading.Thread(target=hold_the_only_connection)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        busy = api.get("/api/wallets/")
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join(30)

    assert busy.status_code == 503, busy.content
    assert busy.json() == {"code": "service_unavailable", "detail": "The service is unavailable. Retry later."}
    assert int(busy["Retry-After"]) >= 1
    assert 0.9 <= waited < 10  # the pool's timeout, not for ever
    served = api.get("/api/wallets/")
    assert served.status_code == 200 and served.json()["results"] == []


@pytest.mark.django_db(transaction=True)
def test_a_pooled_connection_keeps_its_prepared_statements_across_requests(small_pool):
    """psycopg prepares per connection; the pool hands the same connection out again with what it
    prepared, so a hot statement is parsed and planned once per connection, not once per request."""
    from walletmanager.database.base import prepared

    hot = prepared("SELECT count(*) FROM users_user WHERE id <> %s")
    seen = "SELECT pg_backend_pid(), count(*) FROM pg_prepared_statements WHERE statement = %s"
    text = "SELECT count(*) FROM users_user WHERE id <> $1"
    connection.close()
    with connection.cursor() as cursor:  # a first request runs the hot statement
        cursor.execute(seen, [text])
        first_pid, before = cursor.fetchone()
        cursor.execute(hot, [0])
    connection.close()  # the request ends: the connection goes back to the pool, open
    with connection.cursor() as cursor:  # the next request, on the pool's one connection
        cursor.execute(seen, [text])
        second_pid, after = cursor.fetchone()
    connection.close()

    assert (before, after) == (0, 1)  # prepared by the first request, still there for the next
    assert second_pid == first_pid


def test_the_embedded_postgresql_has_room_for_what_make_run_starts(db):
    """``make run`` starts runserver (one pool) and a worker (a pool for its tasks, Procrastinate's
    own pool of 4 and its LISTEN connection); a shell or a command beside them takes a few more."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        max_connections = int(cursor.fetchone()[0])
        cursor.execute("SHOW superuser_reserved_connections")
        reserved = int(cursor.fetchone()[0])
    web = settings.DATABASE_POOL_MAX_SIZE
    worker = settings.DATABASE_POOL_MAX_SIZE + 4 + 1
    beside = 2 * settings.DATABASE_POOL_MAX_SIZE  # two shells or commands, each with its own pool
    assert web + 2 * worker + beside <= max_connections - reserved  # a dying worker and its successor


# --- a burst on a threaded server ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_40_clients_three_times_leaves_the_server_serving_with_connections_bounded(tmp_path):
    """Tried: 120 requests from 40 clients on runserver left 97 idle connections and a server that
    answered 503 to everything, logins included, until restarted."""
    owner = UserFactory()
    wallet = make_wallet(owner=owner)
    deposit(wallet, "100")
    _, token = AuthToken.objects.create(owner, expiry=timedelta(hours=1))
    pool_size = 4
    env = {
        **database_env(),
        "DJANGO_DEBUG": "1",  # as under make run
        "DATABASE_POOL_MAX_SIZE": str(pool_size),
        "DATABASE_POOL_TIMEOUT_SECONDS": "3",
        "PGAPPNAME": SERVER_APPLICATION_NAME,  # libpq names the server's connections
    }
    answers: list[Answer] = []
    peak = 0
    with web_server(env=env, log=tmp_path / "runserver.log") as port, ThreadPoolExecutor(40) as clients:
        sampling = threading.Event()

        def sample_connections():
            nonlocal peak
            while not sampling.is_set():
                peak = max(peak, connections_named(SERVER_APPLICATION_NAME))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample_connections)
        sampler.start()
        try:
            for _burst in range(3):
                answers += clients.map(lambda _: get(port, "/api/wallets/", token=token), range(40))
        finally:
            sampling.set()
            sampler.join()

        assert_never_broken(answers)
        assert sum(answer.status == 200 for answer in answers) >= 60, [a.status for a in answers]
        after = get(port, "/api/wallets/", token=token)
        assert after.status == 200
        assert after.json()["results"][0]["balance"]["assets"][0]["posted"] == "100.00"
        assert 1 <= peak <= pool_size, peak
        assert connections_named(SERVER_APPLICATION_NAME) <= pool_size


# --- PostgreSQL restarted under load -------------------------------------------------------------

TOKEN_SCRIPT = """
from datetime import timedelta
from knox.models import AuthToken
from users.tests.factories import UserFactory
print(AuthToken.objects.create(UserFactory(), expiry=timedelta(hours=1))[1])
"""

FAST_HEARTBEATS = {"WORKER_HEARTBEAT_SECONDS": "1", "JOB_STALLED_AFTER_SECONDS": "3", "STALLED_JOBS_CHECK_SECONDS": "2"}


def test_postgresql_restarted_under_load_web_and_worker_carry_on_within_30_seconds(tmp_path):
    """Tried: after ``pg_ctl restart -m immediate`` both workers logged "Side task listener failed …
    stopping worker", exited 0, and no job ran for 114 s until someone started one by hand."""
    with own_cluster() as cluster:
        made = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", TOKEN_SCRIPT],
            cwd=ROOT,
            env={**os.environ, **cluster.env, "DJANGO_DEBUG": "1"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip().splitlines()[-1]
        env = {**cluster.env, "DJANGO_DEBUG": "1", "DATABASE_POOL_TIMEOUT_SECONDS": "2", **FAST_HEARTBEATS}
        worker = start("worker", env=env, log=tmp_path / "worker.log")
        try:
            with web_server(env=env, log=tmp_path / "runserver.log") as port:
                wait_for(lambda: cluster.execute("SELECT count(*) FROM procrastinate_workers")[0][0] == 1, 30)
                loading, answers = threading.Event(), []

                def load():
                    while not loading.is_set():
                        answers.append(get(port, "/api/wallets/", token=token, timeout=10))

                clients = [threading.Thread(target=load) for _ in range(4)]
                for client in clients:
                    client.start()
                try:
                    time.sleep(1)
                    cluster.restart(mode="immediate")
                    restarted = time.monotonic()
                    # A job deferred after the restart runs: the worker carries on.
                    (job,) = cluster.execute(
                        "INSERT INTO procrastinate_jobs (queue_name, task_name, args)"
                        " VALUES ('maintenance', 'purge_expired_tokens', '{\"timestamp\": 0}') RETURNING id"
                    )
                    wait_for(
                        lambda: (
                            cluster.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job[0]])[0][0]
                            == "succeeded"
                        ),
                        30 - (time.monotonic() - restarted),
                        log=tmp_path / "worker.log",
                    )
                    worker_back = time.monotonic() - restarted
                    wait_for(lambda: answers and answers[-1].status == 200, 30 - (time.monotonic() - restarted))
                    web_back = time.monotonic() - restarted
                    time.sleep(1)
                finally:
                    loading.set()
                    for client in clients:
                        client.join(30)
                assert_never_broken(answers)
                assert answers[-1].status == 200
                assert worker.poll() is None, "the worker exited instead of reconnecting"
                print(
                    f"after the restart: worker ran a new job in {worker_back:.1f} s, web answered 200 in "
                    f"{web_back:.1f} s; {len(answers)} requests: "
                    f"{sum(a.status == 200 for a in answers)} × 200, {sum(a.status == 503 for a in answers)} × 503"
                )
        finally:
            assert stop(worker) == 0, (tmp_path / "worker.log").read_text()


def wait_for(condition, timeout: float, *, log=None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (DatabaseError, psycopg.Error, OSError):  # the database may still be restarting: ask again
            pass
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s" + (f":\n{log.read_text()}" if log else "")
        time.sleep(0.2)


# --- a worker killed in the middle of a delivery ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_a_delivery_another_delivers_it_with_the_same_webhook_id(
    webhook_receiver, tmp_path, settings, no_job_outlives_the_test
):
    """Tried: a ``webhook_deliver`` job caught by a dying worker stayed ``doing`` for good and its event
    never reached the receiver."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    owner = UserFactory()
    wallet = make_wallet(owner=owner)
    api = APIClient()
    api.force_authenticate(owner)
    endpoint = api.post("/api/webhooks/", {"url": webhook_receiver.url, "events": ["deposit.pending"]}, format="json")
    assert endpoint.status_code == 201, endpoint.json()
    webhook_receiver.respond(200, delay=120)  # the first POST hangs: the worker is killed meanwhile
    env = {**database_env(), "DJANGO_DEBUG": "1", "WEBHOOK_ALLOW_PRIVATE_URLS": "1", **FAST_HEARTBEATS}

    first = start("worker", env=env, log=tmp_path / "first-worker.log")
    try:
        deposit(wallet, "10")
        (caught,) = webhook_receiver.wait_for(1, timeout=60)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    webhook_receiver.respond(200)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"

    second = start("worker", env=env, log=tmp_path / "second-worker.log")
    try:
        caught_again = webhook_receiver.wait_for(2, timeout=60)[1]
        wait_for(lambda: WebhookDelivery.objects.get().status == "delivered", 30)
    finally:
        assert stop(second) == 0, (tmp_path / "second-worker.log").read_text()

    secret = endpoint.json()["secret"]
    assert caught.headers["webhook-id"] == caught_again.headers["webhook-id"] == delivery.event.public_id
    assert caught.verify(secret) == caught_again.verify(secret)
    delivery.refresh_from_db()
    assert delivery.attempt_count == 1 and [a.status_code for a in delivery.attempts.all()] == [200]


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def no_job_outlives_the_test():
    """Real workers defer periodic jobs into Procrastinate's tables, which the flush between tests
    leaves alone: what is left waiting or running goes with the test."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
        cursor.execute("DELETE FROM procrastinate_workers")


# --- giving up -----------------------------------------------------------------------------------


def test_a_worker_that_cannot_reach_the_database_gives_up_with_a_failure_status():
    result = subprocess.run(
        [sys.executable, "manage.py", "worker", "--give-up-after", "2"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": "postgres://walletmanager_app@127.0.0.1:1/walletmanager",
            "DATABASE_MIGRATION_URL": "postgres://walletmanager_owner@127.0.0.1:1/walletmanager",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "The database does not answer yet" in result.stderr
    assert "Gave up: the database stayed unreachable for 2 s." in result.stderr.splitlines()[-1]
