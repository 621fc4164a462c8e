"""Webhook receivers for tests (``walletmanager/testing/webhook_receiver.py`` has the server and
how to use it): ``webhook_receiver`` over http, ``tls_webhook_receiver`` over https with a
certificate for ``localhost``, and a ``closed_port`` nothing listens on."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess

import pytest

from walletmanager.testing.webhook_receiver import WebhookReceiver


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def localhost_certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate (and its key) for the name ``localhost`` only, not for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    certificate, key = str(folder / "localhost.pem"), str(folder / "localhost-key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return certificate, key


@pytest.fixture
def tls_webhook_receiver(localhost_certificate, monkeypatch):
    certificate, key = localhost_certificate
    # ssl.create_default_context() reads the trusted certificates from here, as OpenSSL does.
    monkeypatch.setenv("SSL_CERT_FILE", certificate)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    receiver = WebhookReceiver(tls=context, host="localhost")
    yield receiver
    receiver.close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
