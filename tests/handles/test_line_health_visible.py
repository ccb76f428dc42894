"""A handle's line health where people see it: the API, the operators' changelist, its filter,
the "Clear line health" action and the command (docs/compliance.md, "Line health")."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuditEntry
from handles import services
from handles.models import Handle
from tests.conftest import signed_in
from tests.operator_support import result_messages, run_action
from webhooks.models import Event

HANDLES = "/admin/handles/handle/"
REASON = {
    "code": "failure_rate",
    "level": "critical",
    "value": 0.5,
    "threshold": 0.125,
    "message": "50% of the last 20 sends failed (critical from 12.5%).",
}


def critical(handle: Handle) -> Handle:
    services.handle_health_set(
        handle=handle, health="critical", reasons=[REASON], cleared_at=handle.health_cleared_at
    )
    return Handle.objects.get(pk=handle.pk)


def test_the_api_shows_a_handles_health_state_reasons_and_when_it_changed(alice, alice_device):
    handle = critical(alice_device.handle)
    listed = alice.client.get("/v1/handles").json()["data"][0]["health"]
    detail = alice.client.get(f"/v1/handles/{handle.address}").json()["data"]["health"]
    assert listed == detail
    assert detail["state"] == "critical"
    assert detail["reasons"] == [REASON]
    assert detail["changed_at"].endswith("Z")


def test_a_handle_never_judged_is_healthy_in_the_api(alice, alice_device):
    health = alice.client.get(f"/v1/handles/{alice_device.handle.address}").json()["data"]
    assert health["health"] == {"state": "healthy", "reasons": [], "changed_at": None}


def test_the_changelist_shows_each_handles_health_and_filters_by_it(operator, alice, alice_device):
    sick = critical(alice_device.handle)
    services.handle_assign(account=alice.account, address="+14155550124")
    page = operator.get(HANDLES).content.decode()
    assert "Critical: failure_rate" in page
    assert "Healthy" in page
    filtered = operator.get(HANDLES, {"health__exact": "critical"})
    assert [handle.pk for handle in filtered.context["cl"].result_list] == [sick.pk]


def test_clearing_health_in_admin_makes_the_handle_healthy_and_is_audited(
    operator, alice, alice_device
):
    handle = critical(alice_device.handle)
    response = run_action(operator, HANDLES, "clear_health", [handle.pk])
    assert response.status_code == 302
    handle.refresh_from_db()
    assert (handle.health, handle.health_reasons) == ("healthy", [])
    assert handle.health_cleared_at is not None
    assert result_messages(operator.get(HANDLES)) == [
        "1 handle(s) cleared of at-risk or critical health."
    ]
    entry = AuditEntry.objects.get(action="handle.health_clear")
    assert (entry.object_id, entry.account_id, entry.changes) == (
        str(handle.pk),
        alice.account.pk,
        {"health": ["critical", "healthy"]},
    )
    assert entry.operator_name == "operator"
    event = Event.objects.filter(type="handle.health_changed").order_by("-created_at").first()
    assert event is not None
    assert (event.data["previous"], event.data["health"]) == ("critical", "healthy")


def test_the_clear_command_clears_prints_json_and_is_audited_as_command_line(alice, alice_device):
    handle = critical(alice_device.handle)
    before = timezone.now()
    out = StringIO()
    call_command("clear_handle_health", handle.address, "--reason", "new SIM", stdout=out)
    assert json.loads(out.getvalue()) == {
        "handle": handle.address,
        "health": "healthy",
        "previous": "critical",
    }
    handle.refresh_from_db()
    assert handle.health_cleared_at is not None
    assert handle.health_cleared_at >= before
    entry = AuditEntry.objects.get(action="handle.health_clear")
    assert (entry.operator_name, entry.reason) == ("command-line", "new SIM")


def test_the_dashboards_handles_pages_show_the_health_badge_and_why(alice, alice_device):
    owner = signed_in(alice.account, "owner")
    handle = critical(alice_device.handle)
    listed = owner.get(f"/dashboard/{alice.account.pk}/handles/").content.decode()
    detail = owner.get(f"/dashboard/{alice.account.pk}/handles/{handle.address}/").content.decode()
    for page in (listed, detail):
        assert '<span class="badge health-critical">critical</span>' in page
        assert "50% of the last 20 sends failed (critical from 12.5%)." in page


def test_the_dashboard_overview_shows_which_handles_are_critical_and_why(alice, alice_device):
    owner = signed_in(alice.account, "owner")
    healthy = handle_services_assign(alice, "+14155550124")
    critical(alice_device.handle)
    page = owner.get(f"/dashboard/{alice.account.pk}/").content.decode()
    assert '<span class="badge health-critical">critical</span>' in page
    assert '<span class="badge health-healthy">healthy</span>' in page
    assert "50% of the last 20 sends failed" in page
    assert healthy.address in page


def handle_services_assign(tenant, address):
    return services.handle_assign(account=tenant.account, address=address)
