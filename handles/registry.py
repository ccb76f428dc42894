"""How higher apps plug into the device boundary without `handles` importing them.

`handles` knows jobs and device events only as kind + payload. An app that creates `send`
jobs or understands `message.received` events registers its handlers here from its
`AppConfig.ready()`; they run inside the transaction that records the result or event.

A handler may also take a whole batch (`on_job_results`, `on_device_events`): a device
reports up to 100 results or events a call, and a batch handler reads what they are about
in one query instead of one per report. Without one, the single handler runs per report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import transaction

if TYPE_CHECKING:
    from datetime import timedelta

    from handles.models import Device, Handle, Job

JobResultHandler = Callable[["Job"], None]
DeviceEventHandler = Callable[["Device", str, dict[str, Any]], None]
QueueDepthProvider = Callable[[Iterable["Handle"]], dict[int, int]]
HandleOnlineListener = Callable[[int], None]
# (handle): runs in the transaction that pauses it.
HandlePausedListener = Callable[["Handle"], None]
# (handle, how long it was paused): runs in the transaction that resumes it.
HandleResumedListener = Callable[["Handle", "timedelta"], None]
# (handle, previous health): runs in the transaction that moves its line health.
HandleHealthChangedListener = Callable[["Handle", str], None]
HandleBudgetChangedListener = Callable[[int], None]
# Annotations (name -> expression over a Handle queryset) for the operators' handle list.
QueueAnnotationProvider = Callable[[], dict[str, Any]]
JobResultsHandler = Callable[[list["Job"]], None]
# (device, [(external id, type, data), …] in the order pushed)
DeviceEventsHandler = Callable[["Device", list[tuple[str, str, dict[str, Any]]]], None]

_job_result_handlers: dict[str, JobResultHandler] = {}
_device_event_handlers: dict[str, DeviceEventHandler] = {}
_job_results_handlers: dict[str, JobResultsHandler] = {}
_device_events_handlers: dict[str, DeviceEventsHandler] = {}
_queue_depth_providers: list[QueueDepthProvider] = []
_handle_online_listeners: list[HandleOnlineListener] = []
_handle_paused_listeners: list[HandlePausedListener] = []
_handle_resumed_listeners: list[HandleResumedListener] = []
_queue_annotation_providers: list[QueueAnnotationProvider] = []
_handle_health_changed_listeners: list[HandleHealthChangedListener] = []
_handle_budget_changed_listeners: list[HandleBudgetChangedListener] = []


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


def on_job_results(kind: str) -> Callable[[JobResultsHandler], JobResultsHandler]:
    """Register the handler of a batch of finished jobs of `kind` (in the order reported)."""

    def register(handler: JobResultsHandler) -> JobResultsHandler:
        _job_results_handlers[kind] = handler
        return handler

    return register


def on_device_events(
    *event_types: str,
) -> Callable[[DeviceEventsHandler], DeviceEventsHandler]:
    """Register the handler of a run of consecutive events of `event_types` (each type must
    also have its single handler: that one names the type as known)."""

    def register(handler: DeviceEventsHandler) -> DeviceEventsHandler:
        for event_type in event_types:
            _device_events_handlers[event_type] = handler
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


def on_handle_paused(listener: HandlePausedListener) -> HandlePausedListener:
    """Call `listener(handle)` in the transaction that pauses a handle (after its row says so)."""
    if listener not in _handle_paused_listeners:
        _handle_paused_listeners.append(listener)
    return listener


def handle_paused_listeners() -> list[HandlePausedListener]:
    return list(_handle_paused_listeners)


def on_handle_resumed(listener: HandleResumedListener) -> HandleResumedListener:
    """Call `listener(handle, paused_for)` in the transaction that resumes a paused handle."""
    if listener not in _handle_resumed_listeners:
        _handle_resumed_listeners.append(listener)
    return listener


def handle_resumed_listeners() -> list[HandleResumedListener]:
    return list(_handle_resumed_listeners)


def on_handle_health_changed(listener: HandleHealthChangedListener) -> HandleHealthChangedListener:
    """Call `listener(handle, previous)` in the transaction that moves a handle's health."""
    if listener not in _handle_health_changed_listeners:
        _handle_health_changed_listeners.append(listener)
    return listener


def handle_health_changed_listeners() -> list[HandleHealthChangedListener]:
    return list(_handle_health_changed_listeners)


def on_handle_budget_changed(listener: HandleBudgetChangedListener) -> HandleBudgetChangedListener:
    """Call `listener(handle_id)` after an operator's change of a handle's new-contact budget
    commits (what waited for a slot may go now)."""
    if listener not in _handle_budget_changed_listeners:
        _handle_budget_changed_listeners.append(listener)
    return listener


def handle_budget_changed(handle_id: int) -> None:
    """Tell the apps, once the caller's transaction commits, that this handle's budget changed."""
    for listener in list(_handle_budget_changed_listeners):
        transaction.on_commit(partial(listener, handle_id), robust=True)


def add_queue_annotations(provider: QueueAnnotationProvider) -> None:
    """Add columns about work waiting per handle to the operators' handle list (one query:
    each a subquery over the provider's own tables)."""
    if provider not in _queue_annotation_providers:
        _queue_annotation_providers.append(provider)


def queue_annotations() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for provider in _queue_annotation_providers:
        found.update(provider())
    return found


def job_result_handler(kind: str) -> JobResultHandler | None:
    return _job_result_handlers.get(kind)


def device_event_handler(event_type: str) -> DeviceEventHandler | None:
    return _device_event_handlers.get(event_type)


def job_results_handler(kind: str) -> JobResultsHandler | None:
    return _job_results_handlers.get(kind)


def device_events_handler(event_type: str) -> DeviceEventsHandler | None:
    return _device_events_handlers.get(event_type)


def device_event_types() -> list[str]:
    """Every event type a device may push: those some app registered a handler for."""
    return sorted(_device_event_handlers)


def queue_depth_providers() -> list[QueueDepthProvider]:
    return list(_queue_depth_providers)


# (handles) -> {handle id: {"used", "budget", "resets_at"}}: their new-contact budgets.
NewContactsProvider = Callable[[Iterable["Handle"]], dict[int, dict[str, Any]]]
_new_contacts_providers: list[NewContactsProvider] = []


def add_new_contacts_provider(provider: NewContactsProvider) -> None:
    """Tell each handle's new-contact budget use (messaging knows whom a handle messaged)."""
    if provider not in _new_contacts_providers:
        _new_contacts_providers.append(provider)


def new_contacts_providers() -> list[NewContactsProvider]:
    return list(_new_contacts_providers)
