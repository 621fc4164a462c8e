"""The webhook POST and its SSRF guard (SPEC §15), against real servers on 127.0.0.1."""

import ipaddress
import socket
import threading
import time

import pytest

from walletmanager.webhooks.signing import secret_generate, signature_headers
from walletmanager.webhooks.transport import (
    EXCERPT_BYTES,
    HOST_NOT_ALLOWED,
    USER_AGENT,
    WebhookURLRefused,
    is_public_address,
    post,
    url_check,
)

BODY = b'{"id":"evt_1","type":"transaction.posted","data":{}}'


def test_a_delivery_reaches_the_receiver_with_body_and_headers(webhook_receiver):
    result = post(webhook_receiver.url, body=BODY, headers={"webhook-id": "evt_1"}, allow_private=True)

    assert result.status_code == 200 and result.delivered
    assert result.error == "" and result.response_excerpt == "ok" and result.duration_ms >= 0
    [(headers, body)] = webhook_receiver.requests
    assert body == BODY
    assert headers["webhook-id"] == "evt_1"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == USER_AGENT
    assert headers["host"] == f"127.0.0.1:{webhook_receiver.port}"


def test_the_receivers_script_answers_in_turn_then_repeats_the_last(webhook_receiver):
    webhook_receiver.respond(500, 500, 200)

    statuses = [post(webhook_receiver.url, body=BODY, headers={}, allow_private=True).status_code for _ in range(4)]

    assert statuses == [500, 500, 200, 200]
    assert len(webhook_receiver.wait_for(4)) == 4


def test_an_error_answer_is_reported_with_an_excerpt_of_its_body(webhook_receiver):
    webhook_receiver.respond(500, body=b'{"error": "database down"}' + b"x" * 5000)

    result = post(webhook_receiver.url, body=BODY, headers={}, allow_private=True)

    assert result.status_code == 500 and not result.delivered and result.error == ""
    assert result.response_excerpt.startswith('{"error": "database down"}')
    assert len(result.response_excerpt) == EXCERPT_BYTES


def test_an_undecodable_answer_is_excerpted_leniently(webhook_receiver):
    webhook_receiver.respond(400, body=b"\xff\xfe bad \xc3")

    result = post(webhook_receiver.url, body=BODY, headers={}, allow_private=True)

    assert result.status_code == 400 and "bad" in result.response_excerpt


def test_a_redirect_is_not_followed(webhook_receiver):
    webhook_receiver.respond(302, 200, headers={"Location": webhook_receiver.url + "/elsewhere"})

    result = post(webhook_receiver.url, body=BODY, headers={}, allow_private=True)

    assert result.status_code == 302 and not result.delivered
    assert len(webhook_receiver.requests) == 1


def test_a_closed_port_is_an_error_not_an_exception(closed_port):
    result = post(f"http://127.0.0.1:{closed_port}/", body=BODY, headers={}, allow_private=True)

    assert result.status_code is None and not result.delivered
    assert result.error == "connection refused"


def test_a_receiver_slower_than_the_timeout_is_a_timeout(webhook_receiver):
    webhook_receiver.respond(200, delay=3)

    result = post(webhook_receiver.url, body=BODY, headers={}, timeout=0.3, allow_private=True)

    assert result.status_code is None and result.error == "timeout"
    assert 300 <= result.duration_ms < 2000


def test_a_receiver_answering_a_byte_at_a_time_is_cut_at_the_timeout():
    """Each byte comes well within a socket timeout; the attempt as a whole still ends in time."""
    server = socket.create_server(("127.0.0.1", 0))

    def drip():
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            try:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 50:
                    connection.sendall(bytes([byte]))
                    time.sleep(0.1)
            except OSError:
                pass  # the sender hung up, as it should

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/"
        result = post(url, body=BODY, headers={}, timeout=0.5, allow_private=True)
    finally:
        thread.join(timeout=10)
        server.close()

    assert result.error == "timeout" and 500 <= result.duration_ms < 2000


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://127.8.9.10/",
        "https://10.1.2.3/",
        "https://172.16.0.1/",
        "https://192.168.1.1/",
        "https://100.64.0.1/",  # shared address space (carrier-grade NAT)
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://255.255.255.255/",
        "https://[::1]/",
        "https://[::]/",
        "https://[fe80::1]/",
        "https://[fd00::1]/",
        "https://[ff02::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:169.254.169.254]/",
        "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "https://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "https://2130706433/",  # 127.0.0.1 written as one number: the resolver's answer is what counts
        "https://0x7f.1/",
        "https://localhost/",
        "https://localhost:8443/webhooks",
    ],
)
def test_non_public_addresses_are_refused(url):
    with pytest.raises(WebhookURLRefused, match="not allowed"):
        url_check(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/", "not http"),
        ("ftp://example.com/", "only https"),
        ("file:///etc/passwd", "only https"),
        ("example.com/webhooks", "only https"),
        ("https://user:password@example.com/", "user name or password"),
        ("https://user@example.com/", "user name or password"),
        ("https:///webhooks", "no host"),
        ("https://example.com:99999/", "port"),
        ("https://example.com:0/", "port"),
        ("https://example.com:http/", "port"),
        ("https://example.com/a b", "spaces or control characters"),
        ("https://example.com/\r\nX-Injected: 1", "spaces or control characters"),
    ],
)
def test_malformed_or_unsafe_urls_are_refused_with_a_reason(url, reason):
    with pytest.raises(WebhookURLRefused, match=reason):
        url_check(url, allow_private=False)


def test_a_host_that_does_not_resolve_is_refused(monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)

    with pytest.raises(WebhookURLRefused, match="not allowed"):
        url_check("https://hooks.example.invalid/", allow_private=False)


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch):
    def mixed(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", mixed)

    with pytest.raises(WebhookURLRefused) as refused:
        url_check("https://hooks.example.com/", allow_private=False)

    assert refused.value.reason == HOST_NOT_ALLOWED and "10.0.0.5" not in refused.value.reason


@pytest.mark.parametrize("url", ["https://93.184.215.14/webhooks", "https://[2606:4700:4700::1111]:8443/x?y=1"])
def test_public_https_urls_pass(url):
    url_check(url, allow_private=False)  # an address literal: nothing is looked up


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "64:ff9b::5db8:d70e", "::ffff:8.8.8.8"])
def test_public_addresses_are_public(address):
    assert is_public_address(ipaddress.ip_address(address))


def test_allowing_private_urls_allows_http_and_loopback_but_not_other_schemes_or_userinfo():
    url_check("http://127.0.0.1:8000/hooks", allow_private=True)
    url_check("http://localhost:8000/hooks", allow_private=True)
    for url in ("ftp://127.0.0.1/", "http://user:pw@127.0.0.1/"):
        with pytest.raises(WebhookURLRefused):
            url_check(url, allow_private=True)


def test_the_setting_decides_when_the_caller_does_not(settings, webhook_receiver):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    with pytest.raises(WebhookURLRefused):
        url_check(webhook_receiver.url)
    refused = post(webhook_receiver.url, body=BODY, headers={})

    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    url_check(webhook_receiver.url)
    delivered = post(webhook_receiver.url, body=BODY, headers={})

    assert refused.status_code is None and refused.error.startswith("URL refused: ")
    assert delivered.status_code == 200
    assert len(webhook_receiver.requests) == 1


def test_a_refused_url_sends_nothing(webhook_receiver):
    result = post(webhook_receiver.url, body=BODY, headers={}, allow_private=False)

    assert result.status_code is None
    assert result.error == "URL refused: only https URLs are accepted, not http"
    assert webhook_receiver.requests == []


def test_the_host_is_resolved_once_and_the_checked_address_is_the_one_connected_to(webhook_receiver, monkeypatch):
    """DNS rebinding: a name that answers 127.0.0.1 when checked and anything else later is still
    delivered to 127.0.0.1, because nothing asks the resolver a second time."""
    calls = []

    def rebinding_resolver(host, port, *args, **kwargs):
        calls.append(host)
        if len(calls) > 1:
            raise AssertionError("the host was resolved a second time")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_resolver)

    url = f"http://hooks.example.com:{webhook_receiver.port}/webhooks"
    result = post(url, body=BODY, headers={}, allow_private=True)

    assert result.status_code == 200, result.error
    assert calls == ["hooks.example.com"]
    [(headers, _body)] = webhook_receiver.requests
    assert headers["host"] == f"hooks.example.com:{webhook_receiver.port}"


def test_https_verifies_the_certificate_against_the_urls_host_name(tls_webhook_receiver):
    result = post(tls_webhook_receiver.url, body=BODY, headers={}, allow_private=True)

    assert result.status_code == 200, result.error
    assert tls_webhook_receiver.requests[0].headers["host"] == f"localhost:{tls_webhook_receiver.port}"


def test_https_refuses_a_certificate_for_another_name(tls_webhook_receiver):
    """Same server, same address: named 127.0.0.1, which the certificate does not cover."""
    url = f"https://127.0.0.1:{tls_webhook_receiver.port}/webhooks"

    result = post(url, body=BODY, headers={}, allow_private=True)

    assert result.status_code is None and result.error.startswith("TLS certificate refused")
    assert tls_webhook_receiver.requests == []


def test_https_refuses_an_untrusted_certificate(tls_webhook_receiver, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")  # back to the system's trusted authorities, which never signed it

    result = post(tls_webhook_receiver.url, body=BODY, headers={}, allow_private=True)

    assert result.status_code is None and result.error.startswith("TLS certificate refused")


def test_a_signed_delivery_verifies_at_the_receiver(webhook_receiver):
    secret = secret_generate()
    headers = signature_headers(secret=secret, message_id="evt_1", timestamp=int(time.time()), body=BODY)

    post(webhook_receiver.url, body=BODY, headers=headers, allow_private=True)

    [received] = webhook_receiver.wait_for(1)
    assert received.verify(secret)["type"] == "transaction.posted"
