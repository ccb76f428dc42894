"""/metrics: behind its own bearer token, a 404 while the token is unset, and what it shows
moves with what the platform does (counters) and matches the database (gauges)."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from contract import metrics
from handles import services as handle_services
from handles.models import Device
from messaging.models import Message
from tests.conftest import assert_error, send
from tests.messaging.conftest import wait_until
from tests.monitoring.conftest import handle_of, queued, silent_device
from webhooks import services as webhook_services

TOKEN = "metrics-token-for-tests-0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scrape: dict, name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_on(settings):
    settings.SWITCHBOARD_METRICS_TOKEN = TOKEN


def scrape(client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(response.content.decode())


def test_without_the_setting_metrics_is_not_found(client, settings):
    settings.SWITCHBOARD_METRICS_TOKEN = ""
    assert_error(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"), 404, "not_found")


def test_without_a_token_metrics_is_unauthorized(client, metrics_on):
    response = client.get("/metrics")
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_with_a_wrong_token_metrics_is_unauthorized(client, metrics_on):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x")
    assert_error(response, 401, "unauthorized")


def test_an_api_key_is_not_a_metrics_token(alice, metrics_on):
    assert_error(alice.client.get("/metrics"), 401, "unauthorized")


def test_queue_gauges_match_the_database(client, alice, metrics_on):
    handle = handle_of(alice, "+14155550160", online=True)
    first, *_ = queued(alice, handle, 3)
    Message.objects.filter(pk=first).update(queued_at=timezone.now() - timedelta(minutes=5))
    empty = handle_of(alice, "+14155550161")
    found = scrape(client)
    labels = {"handle": handle.address, "account": alice.account.pk}
    database_depth = Message.objects.filter(handle=handle, status="queued").count()
    assert value(found, "switchboard_handle_queue_depth", **labels) == database_depth == 3
    assert 300 <= value(found, "switchboard_handle_oldest_queued_seconds", **labels) < 360
    assert value(found, "switchboard_handle_online", **labels) == 1
    empty_labels = {"handle": empty.address, "account": alice.account.pk}
    assert value(found, "switchboard_handle_queue_depth", **empty_labels) == 0
    assert value(found, "switchboard_handle_online", **empty_labels) == 0


def test_devices_online_matches_the_database(client, alice, metrics_on, settings):
    settings.SWITCHBOARD_DEVICE_OFFLINE_AFTER = 60
    silent_device(handle_of(alice, "+14155550162"), seconds_ago=5)
    silent_device(handle_of(alice, "+14155550163"), seconds_ago=5)
    silent_device(handle_of(alice, "+14155550164"), seconds_ago=600)
    online = Device.objects.filter(
        revoked_at__isnull=True, last_seen_at__gte=timezone.now() - timedelta(seconds=60)
    ).count()
    assert value(scrape(client), "switchboard_devices_online") == online == 2


def test_http_requests_are_counted_by_route_and_status(client, alice, metrics_on):
    route = {"route": "v1/messages", "method": "POST", "status": "202"}
    before = value(scrape(client), "switchboard_http_requests_total", **route)
    handle = handle_of(alice, "+14155550165", online=True)
    queued(alice, handle, 2)
    after = value(scrape(client), "switchboard_http_requests_total", **route)
    assert after - before == 2


@pytest.mark.django_db(transaction=True)
def test_five_sends_end_to_end_move_the_counters_by_five(platform, metrics_on):
    """The whole pipeline (API, Celery worker, simulated device), scraped over HTTP."""

    def scrape_live() -> dict:
        response = requests.get(
            f"{platform.base_url}/metrics",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        assert response.status_code == 200
        return samples(response.text)

    sent = {"status": "sent", "channel": "imessage"}
    before = scrape_live()
    platform.handle("+14155550123")
    ids = []
    for n in range(5):
        response = requests.post(
            f"{platform.base_url}/v1/messages",
            json={"to": "+14155550199", "text": f"hello {n}"},
            headers={"Authorization": f"Bearer {platform.key}"},
            timeout=30,
        )
        assert response.status_code == 202
        ids.append(response.json()["data"]["id"])

    def all_delivered() -> bool:
        return Message.objects.filter(pk__in=ids, status__in=["delivered", "read"]).count() == 5

    wait_until(all_delivered, what="five messages delivered")
    after = scrape_live()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("switchboard_messages_total", status="queued", channel="imessage") == 5
    assert moved("switchboard_messages_total", **sent) == 5
    assert moved("switchboard_messages_total", status="delivered", channel="imessage") == 5
    assert moved("switchboard_message_dispatch_seconds_count", channel="imessage") == 5
    assert moved("switchboard_message_delivery_seconds_count", channel="imessage") == 5
    assert (
        moved("switchboard_http_requests_total", route="v1/messages", method="POST", status="202")
        == 5
    )
    assert value(after, "switchboard_devices_online") == 1


def test_a_paused_handle_is_paused_in_the_metrics(client, alice, metrics_on):
    paused = handle_of(alice, "+14155550166", online=True)
    running = handle_of(alice, "+14155550167", online=True)
    handle_services.handle_pause(handle=paused)
    found = scrape(client)
    account = alice.account.pk
    assert value(found, "switchboard_handle_paused", handle=paused.address, account=account) == 1
    assert value(found, "switchboard_handle_paused", handle=running.address, account=account) == 0


def test_webhook_attempts_are_counted_by_result_with_their_latency(
    client, alice, metrics_on, receiver_factory
):
    receiver = receiver_factory(statuses=[500])
    endpoint = webhook_services.webhook_endpoint_create(
        account=alice.account, url=receiver.url, events=["*"]
    )
    before = scrape(client)
    webhook_services.webhook_endpoint_test(endpoint=endpoint)
    webhook_services.endpoint_drain(endpoint_id=endpoint.id)
    after = scrape(client)
    assert len(receiver.received) == 1

    def moved(name: str, result: str) -> float:
        return value(after, name, result=result) - value(before, name, result=result)

    assert moved("switchboard_webhook_attempts_total", "http_5xx") == 1
    assert moved("switchboard_webhook_attempts_total", "succeeded") == 0
    assert moved("switchboard_webhook_attempt_seconds_count", "http_5xx") == 1


@pytest.mark.django_db(transaction=True)  # a synchronous action runs outside a transaction
def test_a_sync_action_on_an_offline_device_is_counted_offline(client, alice, metrics_on):
    handle = handle_of(alice, "+14155550168", online=True)
    chat_id = send(alice, to="+14155550199", text="hi", from_handle=handle.address)["chat_id"]
    labels = {"kind": "typing", "outcome": "offline"}
    before = value(scrape(client), "switchboard_sync_actions_total", **labels)
    response = alice.client.post(f"/v1/chats/{chat_id}/typing", {}, format="json")
    assert_error(response, 503, "device_offline")
    after = value(scrape(client), "switchboard_sync_actions_total", **labels)
    assert after - before == 1


def test_static_files_and_unknown_paths_are_counted_apart(client, db, metrics_on):
    static = {"route": "static", "method": "GET", "status": "200"}
    unknown = {"route": "unmatched", "method": "GET", "status": "404"}
    before = scrape(client)
    assert client.get("/static/monitoring/overview.css").status_code == 200
    assert client.get("/no/such/path").status_code == 404
    after = scrape(client)
    for labels in (static, unknown):
        moved = value(after, "switchboard_http_requests_total", **labels) - value(
            before, "switchboard_http_requests_total", **labels
        )
        assert moved == 1, labels


def _exited_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def test_a_host_starting_over_removes_the_files_of_its_previous_run(tmp_path, monkeypatch):
    monkeypatch.setattr(metrics, "METRICS_DIR", tmp_path)
    left = [tmp_path / f"counter_{_exited_pid()}.db", tmp_path / f"histogram_{_exited_pid()}.db"]
    for path in left:
        path.touch()
    assert metrics.metrics_directory_prepare() == 2
    assert list(tmp_path.iterdir()) == []


def test_while_a_run_goes_on_the_files_of_its_exited_processes_stay(tmp_path, monkeypatch):
    """Removing them would make counters go down: Prometheus would read a reset."""
    monkeypatch.setattr(metrics, "METRICS_DIR", tmp_path)
    exited = tmp_path / f"counter_{_exited_pid()}.db"
    running = tmp_path / f"counter_{os.getppid()}.db"  # the process that started pytest
    exited.touch()
    running.touch()
    assert metrics.metrics_directory_prepare() == 0
    assert exited.exists()
