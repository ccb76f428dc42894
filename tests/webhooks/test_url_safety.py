"""Webhook URLs must be public http(s) endpoints, judged by the addresses they resolve to."""

from __future__ import annotations

import ipaddress

import pytest

from contract.errors import DomainError
from tests.conftest import assert_error
from webhooks.models import WebhookEndpoint
from webhooks.urls_safety import check_webhook_url, is_public_address

REJECTED = [
    "http://127.0.0.1/hook",
    "http://localhost/hook",
    "http://2130706433/hook",  # 127.0.0.1 as a decimal
    "http://0x7f.1/hook",  # hex, short form
    "http://0177.0.0.1/hook",  # octal
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data",  # cloud metadata
    "http://100.64.0.1/",  # CGNAT
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://[::1]/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "https://user:secret@hooks.example.com/",
    "ftp://93.184.216.34/",
    "file:///etc/passwd",
    "gopher://93.184.216.34/",
    "not a url",
]


@pytest.fixture
def strict(settings):
    settings.SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_URLS = False


@pytest.mark.parametrize("url", REJECTED)
def test_a_non_public_url_is_invalid(strict, url):
    with pytest.raises(DomainError) as error:
        check_webhook_url(url)
    assert error.value.code == "invalid_url"
    assert error.value.status == 400


@pytest.mark.parametrize("url", ["http://93.184.216.34/hooks", "https://[2606:2800:220:1::]/x"])
def test_a_public_address_is_accepted(strict, url):
    assert check_webhook_url(url) == url


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("100.64.1.1", False),
        ("::ffff:10.0.0.1", False),
        ("2001:4860:4860::8888", True),
        ("fd00::1", False),
    ],
)
def test_which_addresses_are_public(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_registering_a_private_url_is_refused_and_writes_nothing(alice, strict):
    response = alice.client.post(
        "/v1/webhooks", {"url": "http://169.254.169.254/", "events": ["*"]}, format="json"
    )
    body = assert_error(response, 400, "invalid_url")
    assert "url" in body["fields"]
    assert not WebhookEndpoint.objects.exists()
