"""POST /v1/messages/{id}/retry: a failed message goes again as a new attempt."""

from __future__ import annotations

from messaging.models import Message
from tests.conftest import send
from tests.messaging.conftest import device_reports, device_takes_jobs, dispatch


def test_a_retry_forgets_the_last_attempts_times_and_network_id(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    dispatch(online.handle)
    (job,) = device_takes_jobs(online)
    device_reports(online, job, ok=True, upstream_id="first")
    online.client.post(
        "/device/v1/events",
        {"events": [{"id": "f1", "type": "message.failed", "data": {"upstream_id": "first"}}]},
        format="json",
    )
    data = alice.client.post(f"/v1/messages/{message['id']}/retry").json()["data"]
    assert data["status"] == "queued"
    assert data["sent_at"] is None
    assert data["failed_at"] is None
    dispatch(online.handle)
    (second,) = device_takes_jobs(online)
    device_reports(online, second, ok=True, upstream_id="second")
    stored = Message.objects.get(pk=message["id"])
    assert stored.upstream_id == "second"
    assert stored.sent_at is not None
