"""An operator (a staff superuser) signed in to the admin, and a seeded state to look at."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from contract.metrics import metrics_directory_prepare
from handles import services as handle_services
from handles.models import Device, Handle, Job
from messaging.models import Message
from tests.conftest import send
from tests.messaging.conftest import celery_worker, platform  # noqa: F401  (the real pipeline)
from tests.webhooks.conftest import receiver_factory  # noqa: F401  (a scripted HTTP receiver)


@pytest.fixture(scope="session", autouse=True)
def _metrics_directory_swept() -> None:
    """Every test process leaves its files in this worker's metrics directory; those of
    processes gone are removed once a session, as a deployment's processes do at start."""
    metrics_directory_prepare()


@pytest.fixture
def operator(db: Any) -> Client:
    user = get_user_model().objects.create_superuser(
        "operator", "operator@example.com", "correct horse battery"
    )
    client = Client()
    client.force_login(user)
    return client


def card(html: str, key: str) -> str:
    """The HTML of one overview card (templates/admin/monitoring/overview.html)."""
    found = re.search(
        rf'id="card-{key}">(.*?)(?=<div class="module overview-card|</section>)', html, re.S
    )
    assert found is not None, f"no card {key}"
    return found.group(1)


def handle_of(tenant: Any, address: str, *, online: bool = False) -> Handle:
    handle = handle_services.handle_assign(account=tenant.account, address=address)
    if online:
        Handle.objects.filter(pk=handle.pk).update(
            status=Handle.Status.ONLINE, status_changed_at=timezone.now()
        )
    return handle


def queued(tenant: Any, handle: Handle, count: int) -> list[str]:
    """`count` messages sent from `handle` (no device runs them: they stay queued)."""
    return [
        send(tenant, to="+14155550199", text=f"n{n}", from_handle=handle.address)["id"]
        for n in range(count)
    ]


def stuck_sending(handle: Handle, message_id: str, *, seconds_ago: int) -> None:
    """Put a message in `sending`, its job made `seconds_ago`."""
    job = Job.objects.create(handle=handle, kind="send", payload={"message_id": message_id})
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=seconds_ago))
    Message.objects.filter(pk=message_id).update(status=Message.Status.SENDING, job=job)


def silent_device(handle: Handle, *, seconds_ago: int | None) -> Device:
    device = handle_services.device_attach(handle=handle).device
    last_seen = None if seconds_ago is None else timezone.now() - timedelta(seconds=seconds_ago)
    Device.objects.filter(pk=device.pk).update(last_seen_at=last_seen)
    return device
