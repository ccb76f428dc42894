"""The one JSON parser of every API and device endpoint: what it returns PostgreSQL can store.

A body is refused with 400 `invalid_request` (never a 500) when it is:
- nested deeper than `MAX_DEPTH` arrays/objects (counted on the text, before `json` could
  recurse; a thousand `[` would otherwise be a RecursionError);
- not UTF-8, not JSON, or has a number JSON cannot carry (`NaN`, `Infinity`, `1e999`, an
  integer over 4,300 digits) or the same key twice in one object;
- holding a NUL (`\\u0000`) or an unpaired surrogate in any string or key (PostgreSQL's
  text and jsonb cannot hold them); `fields` names the JSON path (`metadata.a`, `events.0.id`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import IO, Any

from rest_framework.parsers import JSONParser

from contract.errors import InvalidRequest

MAX_DEPTH = 32
# What decides nesting outside strings, and where strings start and end.
_STRUCTURE = re.compile(r'["\\\[\]{}]')
# NUL and lone surrogates: text PostgreSQL refuses (surrogates cannot even be encoded).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_TEXT = "Must not contain NUL (\\u0000) or unpaired surrogate characters."


def _malformed(reason: str) -> InvalidRequest:
    return InvalidRequest(f"Malformed request body: {reason}")


def nesting_depth_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays/objects in `text` nest deeper than `limit`, strings skipped; no parsing."""
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _STRUCTURE.finditer(text):
        position = match.start()
        char = text[position]
        if in_string:
            if position == escaped_at:
                continue
            if char == "\\":
                escaped_at = position + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"the number {literal[:40]} is out of range")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key[:40]!r} appears twice in one object")
        found[key] = value
    return found


def unstorable_paths(value: Any) -> dict[str, list[str]]:
    """The JSON path of every string or key holding text PostgreSQL cannot store."""
    problems: dict[str, list[str]] = {}
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                problems[path or "non_field_errors"] = [UNSTORABLE_TEXT]
        elif isinstance(item, Mapping):
            for key, child in item.items():
                if _UNSTORABLE.search(key):
                    problems[path or "non_field_errors"] = [f"A key: {UNSTORABLE_TEXT}"]
                    continue
                pending.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            pending.extend(
                (f"{path}.{index}" if path else str(index), child)
                for index, child in enumerate(item)
            )
    return dict(sorted(problems.items()))


def loads_strict(text: str) -> Any:
    """Parse a JSON text by the rules above; `InvalidRequest` when it breaks one."""
    if nesting_depth_exceeds(text):
        raise _malformed(f"arrays and objects nest deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(
            text,
            parse_float=_finite_float,
            parse_constant=_no_constants,
            object_pairs_hook=_unique_keys,
        )
    except ValueError as exc:  # JSONDecodeError, our hooks, and over-long integers
        raise _malformed(f"JSON parse error - {exc}") from exc
    problems = unstorable_paths(value)
    if problems:
        name, messages = next(iter(problems.items()))
        raise InvalidRequest(f"{name}: {messages[0]}", fields=problems)
    return value


class StrictJSONParser(JSONParser):
    """DRF's JSON parser with the rules of this module (the REST_FRAMEWORK default)."""

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise _malformed(f"the body is not valid {encoding} text") from exc
        return loads_strict(text)
