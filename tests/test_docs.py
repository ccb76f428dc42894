"""The docs say what the code does: what they name exists, and every event type is listed."""

from __future__ import annotations

import re
from pathlib import Path

from webhooks.events import EVENT_TYPES

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_file_the_architecture_page_names_exists():
    text = (DOCS / "architecture.md").read_text()
    named = set(re.findall(r"`([a-z_]+(?:/[a-z_.<>]+)+\.(?:py|json|md))`", text))
    named = {path for path in named if "<" not in path}
    assert named, "the page names no files"
    root = DOCS.parent
    missing = sorted(path for path in named if not (root / path).exists())
    assert missing == []


def test_every_event_type_is_in_the_webhooks_guide():
    text = (DOCS / "webhooks.md").read_text()
    assert [t for t in EVENT_TYPES if f"`{t}`" not in text] == []
