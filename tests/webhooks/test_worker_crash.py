"""A worker killed in the middle of a delivery: the event is still delivered."""

from __future__ import annotations

import time

import pytest

from accounts import services as account_services
from tests.messaging.test_worker_crash import start_worker
from tests.procfile_processes import kill, stop, wait_for_workers
from webhooks import services
from webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_worker_killed_mid_delivery_loses_no_event(receiver, tmp_path):
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    receiver.delay = 4  # the first request hangs: the worker is mid-delivery
    account, _ = account_services.account_create(name="Crash")
    services.webhook_endpoint_create(account=account, url=receiver.url, events=["*"])
    victim = start_worker("victim", tmp_path, line="webhooks")
    survivor = None
    try:
        wait_for_workers(1)
        services.event_publish(account=account, type="handle.online", data={"handle": "+1"})
        deadline = time.monotonic() + 30
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert receiver.received, "the first attempt never arrived"
        kill(victim)
        receiver.delay = 0
        survivor = start_worker("survivor", tmp_path, line="webhooks")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if WebhookDelivery.objects.filter(status="succeeded").exists():
                break
            services.deliveries_sweep()  # what beat does every 5 s
            time.sleep(1)
        assert WebhookDelivery.objects.get().status == "succeeded"
        assert len(receiver.received) >= 2
        assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    finally:
        stop([victim, survivor])
