"""/metrics: what every process counted (contract.metrics, prometheus-client's multiprocess
files), and what the database says at scrape time.

Gauges are read from the database when scraped, not kept by processes: a queue's depth or a
device being online is a fact of the database, the same whichever web worker is scraped, and
right after any process restarts. Counters and histograms are what processes saw happen
(a send, a webhook attempt, a request) and are added up across processes from their files.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from contract.metrics import METRICS_DIR
from monitoring import selectors


class DatabaseCollector(Collector):
    """Gauges read at scrape time: queues per handle, devices online. A few bounded queries
    (monitoring.selectors), whatever the size of the messages table."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        depth = GaugeMetricFamily(
            "switchboard_handle_queue_depth",
            f"Queued messages of a handle (counted up to {selectors.DEPTH_COUNTED_UP_TO}).",
            labels=["handle", "account"],
        )
        oldest = GaugeMetricFamily(
            "switchboard_handle_oldest_queued_seconds",
            "Age of a handle's oldest queued message, 0 when its queue is empty.",
            labels=["handle", "account"],
        )
        online = GaugeMetricFamily(
            "switchboard_handle_online",
            "1 while a handle's device calls in, 0 once the handle is offline.",
            labels=["handle", "account"],
        )
        paused = GaugeMetricFamily(
            "switchboard_handle_paused",
            "1 while an operator holds a handle's dispatch (admin or pause_handle).",
            labels=["handle", "account"],
        )
        for handle in selectors.queues_all():
            labels = [handle.address, str(handle.account_id)]
            depth.add_metric(labels, handle.depth)  # type: ignore[attr-defined]
            queued_at = handle.oldest_queued_at  # type: ignore[attr-defined]
            age = (now - queued_at).total_seconds() if queued_at is not None else 0.0
            oldest.add_metric(labels, max(0.0, age))
            online.add_metric(labels, 1.0 if handle.status == handle.Status.ONLINE else 0.0)
            paused.add_metric(labels, 1.0 if handle.paused else 0.0)
        yield depth
        yield oldest
        yield online
        yield paused
        yield GaugeMetricFamily(
            "switchboard_devices_online",
            "Live devices that called within SWITCHBOARD_DEVICE_OFFLINE_AFTER seconds.",
            value=selectors.devices_online(now=now),
        )


def metrics_text() -> bytes:
    """The Prometheus text exposition of every metric, for one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=str(METRICS_DIR))
    registry.register(DatabaseCollector())
    return generate_latest(registry)
