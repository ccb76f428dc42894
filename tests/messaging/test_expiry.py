"""A message not sent within its time to live fails `expired`, unless a device may be sending it."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from handles.models import Job
from messaging.models import Message
from messaging.services.dispatch import messages_sweep
from tests.conftest import send
from tests.messaging.conftest import device_reports, device_takes_jobs, dispatch


def test_a_send_a_device_has_fetched_is_never_expired(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    dispatch(online.handle)
    (job,) = device_takes_jobs(online)
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert messages_sweep().expired == 0
    assert Message.objects.get(pk=message["id"]).status == "sending"
    device_reports(online, job, ok=True, upstream_id="late-but-sent")
    assert Message.objects.get(pk=message["id"]).status == "sent"


def test_a_send_no_device_fetched_expires_and_its_job_is_withdrawn(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    dispatch(online.handle)
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert messages_sweep().expired == 1
    assert Message.objects.get(pk=message["id"]).error_code == "expired"
    assert Job.objects.get().status == "withdrawn"
