"""Behind a proxy: the client address header never breaks a request, and lists are read right."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory, override_settings

from contract import client_ip as client_ip_module
from contract.client_ip import client_ip
from tests.conftest import assert_error

BEHIND_PROXY = override_settings(SWITCHBOARD_CLIENT_IP_HEADER="HTTP_X_REAL_IP")
BAD_HEADERS = {
    "missing": {},
    "empty": {"HTTP_X_REAL_IP": ""},
    "garbage": {"HTTP_X_REAL_IP": "garbage"},
    "a list with garbage on the right": {"HTTP_X_REAL_IP": "203.0.113.5, garbage"},
    "only commas": {"HTTP_X_REAL_IP": " , ,"},
}


@pytest.fixture(autouse=True)
def _log_again():
    """Each test sees the once-per-process warning afresh."""
    client_ip_module._logged.clear()
    yield
    client_ip_module._logged.clear()


def address_of(**meta: str) -> str:
    request = RequestFactory().get("/v1/account")
    request.META.update({"REMOTE_ADDR": "192.0.2.10", **meta})
    return client_ip(request)


@BEHIND_PROXY
@pytest.mark.parametrize("meta", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_an_authenticated_call_succeeds_whatever_the_proxy_header_holds(alice, meta):
    response = alice.client.get("/v1/account", **meta)
    assert response.status_code == 200, response.content


@BEHIND_PROXY
@pytest.mark.parametrize("meta", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_a_bad_proxy_header_falls_back_to_the_socket_address(meta):
    assert address_of(**meta) == "192.0.2.10"


@BEHIND_PROXY
def test_a_list_is_read_from_the_right_one_trusted_proxy_by_default():
    assert address_of(HTTP_X_REAL_IP="198.51.100.1, 203.0.113.5") == "203.0.113.5"


@override_settings(
    SWITCHBOARD_CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", SWITCHBOARD_TRUSTED_PROXIES=2
)
def test_with_two_trusted_proxies_the_second_address_from_the_right_is_the_client():
    forwarded = "1.1.1.1, 198.51.100.1, 203.0.113.5"
    assert address_of(HTTP_X_FORWARDED_FOR=forwarded) == "198.51.100.1"


@override_settings(
    SWITCHBOARD_CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", SWITCHBOARD_TRUSTED_PROXIES=2
)
def test_a_list_shorter_than_the_trusted_proxies_falls_back_to_the_socket_address():
    assert address_of(HTTP_X_FORWARDED_FOR="203.0.113.5") == "192.0.2.10"


@BEHIND_PROXY
def test_addresses_with_ports_and_ipv6_are_understood():
    assert address_of(HTTP_X_REAL_IP="203.0.113.5:4711") == "203.0.113.5"
    assert address_of(HTTP_X_REAL_IP="[2001:db8::1]:443") == "2001:db8::1"
    assert address_of(HTTP_X_REAL_IP="2001:DB8::1") == "2001:db8::1"


def test_without_a_proxy_header_the_socket_address_is_used_and_headers_are_ignored():
    assert address_of(HTTP_X_REAL_IP="203.0.113.5") == "192.0.2.10"


@BEHIND_PROXY
def test_a_broken_proxy_header_is_logged_once_per_process_not_per_request(caplog):
    with caplog.at_level(logging.WARNING, logger="switchboard.client_ip"):
        for _ in range(3):
            address_of(HTTP_X_REAL_IP="garbage")
    warnings = [r for r in caplog.records if r.name == "switchboard.client_ip"]
    assert len(warnings) == 1
    assert "HTTP_X_REAL_IP" in warnings[0].getMessage()


def test_failed_authentications_are_counted_per_proxied_client(anonymous, db, settings):
    # One override mechanism per test: pytest-django's `settings` undoes its own changes
    # after a decorator's, and would restore the decorator's.
    settings.SWITCHBOARD_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    settings.SWITCHBOARD_FAILED_AUTH_PER_MINUTE = 2
    bad = {"HTTP_AUTHORIZATION": "Bearer sk_live_wrong", "REMOTE_ADDR": "10.0.0.2"}
    first = [
        anonymous.get("/v1/account", HTTP_X_REAL_IP="203.0.113.5", **bad).status_code
        for _ in range(3)
    ]
    other_client = anonymous.get("/v1/account", HTTP_X_REAL_IP="203.0.113.6", **bad)
    assert first == [401, 401, 429]
    assert_error(other_client, 401, "unauthorized")


@BEHIND_PROXY
def test_a_dashboard_sign_in_behind_a_broken_proxy_header_is_not_a_server_error(client, db):
    response = client.post(
        "/dashboard/login/",
        {"username": "nobody@example.com", "password": "wrong"},
        HTTP_X_REAL_IP="garbage",
    )
    assert response.status_code == 200


def test_every_reader_of_the_client_address_uses_the_one_function():
    assert django_settings.RATELIMIT_IP_META_KEY == "contract.client_ip.client_ip"
    assert django_settings.AXES_CLIENT_IP_CALLABLE == "contract.client_ip.client_ip"
