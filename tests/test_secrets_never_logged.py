"""Secrets never reach a log: redacted by every handler, and the run's logs are grepped for them."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from django.conf import settings

from accounts.services import KEY_PREFIX
from config.logging import SECRET_PREFIXES, redact
from handles.selectors import DEVICE_TOKEN_PREFIX
from tests import log_capture
from webhooks.signing import PREFIX as WEBHOOK_SECRET_PREFIX


def this_process_log_lines() -> list[str]:
    """What the handlers of this process wrote to the run's log directory so far."""
    lines: list[str] = []
    for handler in logging.getLogger().handlers:
        if getattr(handler, "log_dir", None) is not None:
            handler.flush()
            path = Path(handler.baseFilename)  # type: ignore[attr-defined]
            if path.exists():
                lines += path.read_text(encoding="utf-8").splitlines()
    return lines


def test_the_redacted_prefixes_are_those_the_platform_issues():
    assert set(SECRET_PREFIXES) == {KEY_PREFIX, WEBHOOK_SECRET_PREFIX, DEVICE_TOKEN_PREFIX}


def test_every_configured_log_handler_redacts_secrets():
    for name, handler in settings.LOGGING["handlers"].items():
        assert "redact_secrets" in handler.get("filters", []) or name == "log_dir", name


def test_an_authorization_header_logged_at_debug_is_redacted(alice, alice_device):
    marker = f"marker-{secrets.token_hex(8)}"
    meta = {
        "HTTP_AUTHORIZATION": f"Bearer {alice.key}",
        "QUERY_STRING": f"api_key={alice.key}&token={alice_device.token}",
    }
    logging.getLogger("django.request").debug("%s request %s", marker, meta)
    logged = [line for line in this_process_log_lines() if marker in line]
    assert len(logged) == 1
    assert alice.key not in logged[0]
    assert alice_device.token not in logged[0]
    assert "[redacted]" in logged[0]


def test_a_webhook_secret_in_an_exception_and_an_extra_field_is_redacted():
    secret = WEBHOOK_SECRET_PREFIX + "c2VjcmV0LW9mLWEtdGVzdC1lbmRwb2ludA=="
    marker = f"marker-{secrets.token_hex(8)}"
    try:
        raise ValueError(f"could not sign with {secret}")
    except ValueError:
        logging.getLogger("switchboard.test").exception(marker, extra={"endpoint": secret})
    logged = [line for line in this_process_log_lines() if marker in line]
    assert len(logged) == 1
    assert secret not in logged[0]
    assert "could not sign with whsec_[redacted]" in logged[0]


def test_redact_keeps_what_is_not_a_secret():
    assert (
        redact("GET /v1/messages 200 key sk_live_AbCd")
        == "GET /v1/messages 200 key sk_live_[redacted]"
    )
    assert redact("no secret here: whsec or sbd") == "no secret here: whsec or sbd"
    assert redact("Authorization: Device sbd_x") == "Authorization: [redacted]"


def test_the_run_check_finds_a_secret_written_to_the_log_directory(tmp_path):
    (tmp_path / "gunicorn-1.log").write_text(
        "ok line\n" + "GET /v1/account?key=sk_live_" + "A" * 32 + " 200\n"
    )
    findings = log_capture.find_secrets(tmp_path)
    assert [(f.path.name, f.line_number) for f in findings] == [("gunicorn-1.log", 2)]


def test_the_run_check_ignores_displayed_prefixes_and_redacted_secrets(tmp_path):
    (tmp_path / "django-1.log").write_text('{"m": "key sk_live_AbCd, sbd_[redacted]"}\n')
    assert log_capture.find_secrets(tmp_path) == []
