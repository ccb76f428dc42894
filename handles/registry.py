"""How higher apps plug into the device boundary without `handles` importing them.

`handles` knows jobs and device events only as kind + payload. An app that creates `send`
jobs or understands `message.received` events registers its handlers here from its
`AppConfig.ready()`; they run inside the transaction that records the result or event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from handles.models import Device, Handle, Job

JobResultHandler = Callable[["Job"], None]
DeviceEventHandler = Callable[["Device", str, dict[str, Any]], None]
QueueDepthProvider = Callable[[Iterable["Handle"]], dict[int, int]]
HandleOnlineListener = Callable[[int], None]

_job_result_handlers: dict[str, JobResultHandler] = {}
_device_event_handlers: dict[str, DeviceEventHandler] = {}
_queue_depth_providers: list[QueueDepthProvider] = []
_handle_online_listeners: list[HandleOnlineListener] = []


def on_job_result(kind: str) -> Callable[[JobResultHandler], JobResultHandler]:
    """Register the handler of finished jobs of `kind` (called with the finished job)."""

    def register(handler: JobResultHandler) -> JobResultHandler:
        _job_result_handlers[kind] = handler
        return handler

    return register


def on_device_event(event_type: str) -> Callable[[DeviceEventHandler], DeviceEventHandler]:
    """Register the handler of device events of `event_type` (device, external id, data)."""

    def register(handler: DeviceEventHandler) -> DeviceEventHandler:
        _device_event_handlers[event_type] = handler
        return handler

    return register


def add_queue_depth_provider(provider: QueueDepthProvider) -> None:
    """Count more work waiting per handle (e.g. messages paced before they become jobs)."""
    if provider not in _queue_depth_providers:
        _queue_depth_providers.append(provider)


def on_handle_online(listener: HandleOnlineListener) -> HandleOnlineListener:
    """Call `listener(handle_id)` after a handle comes back online (after commit)."""
    if listener not in _handle_online_listeners:
        _handle_online_listeners.append(listener)
    return listener


def handle_online_listeners() -> list[HandleOnlineListener]:
    return list(_handle_online_listeners)


def job_result_handler(kind: str) -> JobResultHandler | None:
    return _job_result_handlers.get(kind)


def device_event_handler(event_type: str) -> DeviceEventHandler | None:
    return _device_event_handlers.get(event_type)


def device_event_types() -> list[str]:
    """Every event type a device may push: those some app registered a handler for."""
    return sorted(_device_event_handlers)


def queue_depth_providers() -> list[QueueDepthProvider]:
    return list(_queue_depth_providers)
