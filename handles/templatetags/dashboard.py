"""Template filters the dashboard pages share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from handles.selectors import is_online as handle_is_online

register = template.Library()


@register.filter
def get_item(mapping: dict[Any, Any], key: Any) -> Any:
    """`mapping[key]`, or None (`{{ depths|get_item:handle.pk }}`)."""
    return mapping.get(key) if mapping else None


@register.filter
def is_online(last_seen_at: datetime | None) -> bool:
    """Whether a device last seen then still counts as online."""
    return handle_is_online(last_seen_at)
