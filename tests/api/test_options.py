"""OPTIONS is answered like any method a path does not serve: 405 in the seed's shape."""

from __future__ import annotations

from tests.conftest import assert_error


def test_options_on_an_api_path_is_a_405_in_the_seed_shape_naming_the_allowed_methods(alice):
    response = alice.client.options("/v1/messages")
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, POST, HEAD"


def test_options_on_a_device_path_is_a_405_too(alice_device):
    response = alice_device.client.options("/device/v1/heartbeat")
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"
