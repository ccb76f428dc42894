"""Work is enqueued by task name (services never import tasks): every name must be a task."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from config.celery import app as celery_app
from messaging.services.lifecycle import DISPATCH_DUE_TASK, DISPATCH_TASK
from messaging.services.new_contacts import RELEASE_TASK
from webhooks.services import DELIVER_TASK, DRAIN_TASK, FAN_OUT_TASK


def registered_tasks() -> set[str]:
    celery_app.loader.import_default_modules()
    return set(celery_app.tasks)


def test_every_task_services_enqueue_by_name_is_registered():
    assert {
        DISPATCH_TASK,
        DISPATCH_DUE_TASK,
        DRAIN_TASK,
        DELIVER_TASK,
        FAN_OUT_TASK,
        RELEASE_TASK,
    } <= registered_tasks()


def test_every_task_beat_runs_is_registered():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= registered_tasks()


def test_the_broker_publishes_through_one_redis_client():
    """kombu builds a Redis client for every message it publishes; ours keeps one."""
    with celery_app.connection_for_write() as connection:
        channel: Any = connection.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.ping()
