"""The overview's line-health card: handles at risk or critical, critical first, with why,
linked to the filtered changelist (docs/compliance.md, "Line health")."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import parse_qs, urlparse

from handles import services as handle_services
from handles.models import Handle
from tests.monitoring.conftest import card, handle_of


def judged(handle: Handle, health: str, message: str) -> None:
    reason = {"code": "failure_rate", "level": health, "value": 0.5, "threshold": 0.1}
    handle_services.handle_health_set(
        handle=handle, health=health, reasons=[{**reason, "message": message}], cleared_at=None
    )


def test_handles_at_risk_or_critical_are_listed_critical_first_with_why(operator, alice):
    handle_of(alice, "+14155550101")
    judged(handle_of(alice, "+14155550102"), "at_risk", "Some sends failed.")
    judged(handle_of(alice, "+14155550103"), "critical", "Half the sends failed.")
    found = card(operator.get("/admin/").content.decode(), "line-health")
    assert "+14155550101" not in found
    assert found.index("+14155550103") < found.index("+14155550102")
    assert "Half the sends failed." in found
    assert "Some sends failed." in found


def test_the_line_health_card_links_to_the_critical_handles(operator, alice):
    judged(handle_of(alice, "+14155550103"), "critical", "Half the sends failed.")
    found = card(operator.get("/admin/").content.decode(), "line-health")
    link = html_lib.unescape(re.findall(r'href="([^"]+)"', found)[0])
    assert parse_qs(urlparse(link).query)["health__exact"] == ["critical"]
    assert "+14155550103" in operator.get(link).content.decode()


def test_with_every_handle_healthy_the_card_says_so(operator, alice):
    handle_of(alice, "+14155550101")
    found = card(operator.get("/admin/").content.decode(), "line-health")
    assert "Every assigned handle is healthy." in found
