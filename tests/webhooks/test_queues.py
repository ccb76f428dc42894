"""Webhook work has a queue and a worker of its own; every queue has a Procfile worker."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from accounts import services as account_services
from config.celery import app as celery_app
from config.procfile import procfile_commands
from messaging.services.lifecycle import DISPATCH_TASK
from webhooks import services, tasks
from webhooks.services import DELIVER_TASK, DRAIN_TASK, FAN_OUT_TASK


def queue_of(task_name: str) -> str:
    """The queue `send_task(task_name)` puts it on (services enqueue by name)."""
    return str(celery_app.amqp.router.route({}, task_name)["queue"].name)


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_drain_fan_out_delivery_and_their_sweep_go_to_the_webhooks_queue():
    tasks = [DRAIN_TASK, FAN_OUT_TASK, DELIVER_TASK, "webhooks.tasks.deliveries_sweep"]
    assert {queue_of(task) for task in tasks} == {"webhooks"}


def test_message_dispatch_does_not_share_the_webhooks_queue():
    assert queue_of(DISPATCH_TASK) == settings.CELERY_TASK_DEFAULT_QUEUE != "webhooks"


def test_every_queue_a_task_can_go_to_is_consumed_by_a_procfile_worker():
    scheduled = [str(entry["task"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    routed = {queue_of(task) for task in [*scheduled, DISPATCH_TASK, DRAIN_TASK]}
    consumed = {
        queue
        for argv in procfile_commands({}).values()
        if "worker" in argv and "--queues" in argv
        for queue in option(argv, "--queues").split(",")
    }
    assert routed <= consumed


def test_the_delivery_worker_is_a_thread_pool_as_large_as_the_settings_say():
    webhooks = procfile_commands({})["webhooks"]
    assert option(webhooks, "--queues") == "webhooks"
    assert option(webhooks, "--pool") == "threads"
    assert int(option(webhooks, "--concurrency")) == settings.SWITCHBOARD_WEBHOOK_CONCURRENCY


def test_an_endpoint_may_hold_only_a_small_share_of_the_delivery_pool():
    share = (
        settings.SWITCHBOARD_WEBHOOK_ENDPOINT_CONCURRENCY / settings.SWITCHBOARD_WEBHOOK_CONCURRENCY
    )
    assert 0 < share <= 1 / 8


@pytest.mark.django_db(transaction=True)
def test_a_delivery_thread_holds_no_database_connection_once_its_task_is_done(receiver):
    account, _ = account_services.account_create(name="Threads")
    endpoint = services.webhook_endpoint_create(account=account, url=receiver.url, events=["*"])
    delivery = services.webhook_endpoint_test(endpoint=endpoint)
    tasks.webhook_deliver(delivery.pk)  # in this thread, as a pool thread runs it
    assert len(receiver.received) == 1
    assert connection.connection is None
