"""Schemathesis against the live API: what the document says is what the server does.

Every check (`--checks all`), positive and negative data, then the stateful phase (links it
infers between operations), on a live server with a seeded account, its API key and a
simulated device, so synchronous actions can succeed. The budget is bounded and the seed
fixed, yet two runs differ: schemathesis gives each operation a share of the time, so how
far it gets (the coverage phase's later cases, how long the fuzzing and stateful phases
repeat) depends on the machine's speed. A finding of any run is fixed in the product or its
document, or excused below with its reason; longer runs (SCHEMATHESIS_MAX_SECONDS,
SCHEMATHESIS_MAX_EXAMPLES) reach what a short one sometimes does. The run's report, each
finding with the request that made it, goes to var/schemathesis/ and is printed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from accounts import services as account_services
from contract.schema import render_document
from handles import services as handle_services

pytestmark = pytest.mark.slow(seconds=90)

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
REPORTS = Path(__file__).resolve().parents[2] / "var" / "schemathesis"
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5"))
SEED = 20261127
# The whole run's budget (the examples and coverage phases run once, fuzzing and stateful
# repeat until it is spent): within 90 s on a loaded 2-core machine, server start included.
MAX_SECONDS = int(os.environ.get("SCHEMATHESIS_MAX_SECONDS", "55"))

CONFIG = """
[cache]
enabled = false

[auth.openapi.ApiKey]
bearer = "${SB_API_KEY}"

[auth.openapi.DeviceToken]
api_key = "Device ${SB_DEVICE_TOKEN}"

[generation]
max-examples = %(max_examples)d
deterministic = true
database = "none"

# Handles must be real numbers (or emails): most of the time, give the generator real ones,
# so that messages, chats and their actions get made and followed, not only refused.
[dictionaries.handles]
values = ["+14155550100", "+14155550123", "+14155550124", "+442079460000", "ann@example.com"]

[parameters]
"query.handle" = { dictionary = "handles", probability = 0.9 }
"path.handle" = { dictionary = "handles", probability = 0.9 }
"body.handle" = { dictionary = "handles", probability = 0.9 }
"body.to" = { dictionary = "handles", probability = 0.9 }
"body.from_handle" = { dictionary = "handles", probability = 0.5 }
"query.from_handle" = { dictionary = "handles", probability = 0.5 }
"query.to" = { dictionary = "handles", probability = 0.5 }
"body.participants[*]" = { dictionary = "handles", probability = 0.9 }
"query.recipient" = { dictionary = "handles", probability = 0.9 }
"path.recipient" = { dictionary = "handles", probability = 0.9 }
"body.recipient" = { dictionary = "handles", probability = 0.9 }

# Its error feedback reads a 400's `fields` (our envelope: "error", "message", "fields":
# {name: [problems]}) as a body property named `fields`, and adds one to the schema of the
# operation's next requests though the schema forbids unknown properties; the server then
# rightly refuses them (ST202 on a body with "fields", found in clean runs). What it would
# learn from our errors is never true, so it learns nothing.
[phases.fuzzing.error-feedback]
enabled = false

[[operations]]
include-operation-id = "device_jobs_lease"
# A long-poll holds the request up to `wait` seconds by design; the budget cannot wait.
parameters = { "query.wait" = 0 }
"""


def _run(
    base_url: str, env: dict[str, str], config: Path
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    completed = subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            str(config),
            "run",
            f"{base_url}/v1/openapi.json",
            "--checks",
            "all",
            "--mode",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            # An operation is explored to the end of its share of the budget: an excused
            # finding (an invalid handle) does not end it, so what a run reaches does not hang
            # on which case happened to fail first.
            "--continue-on-failure",
            "--seed",
            str(SEED),
            "--workers",
            "2",
            "--request-timeout",
            "15",
            "--max-time",
            str(MAX_SECONDS),
            "--no-color",
            "--report",
            "junit,ndjson",
            "--report-dir",
            str(REPORTS),
        ],
        env={**os.environ, **env},
        cwd=REPORTS,  # what it keeps on disk stays in var/
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return completed, time.monotonic() - started


@dataclass(frozen=True)
class Finding:
    code: str  # schemathesis's failure code, e.g. ST202
    operation: str
    status: int | None
    body: Any
    request: str = ""  # what was sent: method, URL and body, to reproduce it

    def __str__(self) -> str:
        answer = f"{self.status} {json.dumps(self.body)[:300]}"
        return f"{self.code} {self.operation}: {self.request[:400]} -> {answer}"


def _error(finding: Finding) -> str:
    return finding.body.get("error", "") if isinstance(finding.body, dict) else ""


def _fields(finding: Finding) -> dict[str, list[str]]:
    return finding.body.get("fields", {}) if isinstance(finding.body, dict) else {}


def _only_problems(finding: Finding, allowed: dict[str, set[str]]) -> bool:
    """Whether the 400 names fields, each for problems among `allowed` only."""
    fields = _fields(finding)
    return bool(fields) and all(
        set(problems) <= allowed.get(name, set()) for name, problems in fields.items()
    )


MESSAGE_RULES = {
    "to": {"Required (or give chat_id).", "Give exactly one of to and chat_id."},
    "text": {"Give text or attachments."},
    "send_at": {"Must be in the future.", "Must be at most 30 days ahead."},
    "metadata": {"Keys must be 1 to 40 characters."},
}


# What schemathesis reports that is our documented semantics, each with its reason. Only
# "schema-valid request rejected" (ST202) and one inferred link (ST302) may be excused: a
# server error, a response that breaks its schema or an undocumented status never is.
ACCEPTED: list[tuple[str, Callable[[Finding], bool]]] = [
    (
        "422 idempotency_key_reused: schemathesis sends one generated Idempotency-Key with "
        "different requests, which the contract answers with 422 (docs/api.md)",
        lambda f: f.code == "ST202" and _error(f) == "idempotency_key_reused",
    ),
    (
        "400 invalid_handle: a handle must be a real number (phonenumbers) or an email, which "
        "JSON Schema cannot say; random strings are rejected by design",
        lambda f: f.code == "ST202" and _error(f) == "invalid_handle",
    ),
    (
        "400 invalid_url: a webhook URL must resolve to a public address, decided on the "
        "resolver's answer (docs/webhooks.md)",
        lambda f: f.code == "ST202" and _error(f) == "invalid_url",
    ),
    (
        "400 on `cursor`: a cursor is opaque, only a `next_cursor` we wrote is one",
        lambda f: f.code == "ST202" and set(_fields(f)) == {"cursor"},
    ),
    (
        "400 on NUL: text with NUL (\\u0000) cannot be stored and is refused naming the field "
        "(docs/api.md); JSON Schema has no way to exclude one character from every string",
        lambda f: (
            f.code == "ST202"
            and any("NUL" in problem for problems in _fields(f).values() for problem in problems)
        ),
    ),
    (
        "400 on a message's rules its schema cannot state (docs/messages.md): exactly one of "
        "`to` and `chat_id`, and text or attachments (cross-field); `send_at` in the future "
        "and at most 30 days ahead (relative to now); metadata keys of 1 to 40 characters "
        "(OpenAPI 3.0 has no `propertyNames`)",
        lambda f: (
            f.code == "ST202"
            and f.operation == "POST /v1/messages"
            and _only_problems(f, MESSAGE_RULES)
        ),
    ),
    (
        "400 invalid_from_handle: `from_handle` must be one of the account's handles, and a "
        "chat's own handle for a message into it",
        lambda f: f.code == "ST202" and _error(f) == "invalid_from_handle",
    ),
    (
        "400 on a group's members: two or more *different* people (duplicates, emails in "
        "any case, count once) and never the group's own handle; not expressible as schema",
        lambda f: (
            f.code == "ST202"
            and f.operation in {"POST /v1/chats", "POST /v1/chats/{chat_id}/participants"}
            and _fields(f)
            in (
                {"participants": ["A group needs 2 or more different people."]},
                {"participants": ["Includes the sending handle."]},
                {"handle": ["The group's own handle."]},
            )
        ),
    ),
    (
        "400 on a job result: `error` is required when `ok` is false, a cross-field rule the "
        "document states in words (docs/device-protocol.md)",
        lambda f: (
            f.code == "ST202"
            and f.operation == "POST /device/v1/jobs/{job_id}/result"
            and _fields(f) == {"error": ["Required when ok is false."]}
        ),
    ),
    (
        "400 on a batch of job results: the same rule for each item (`results.N.error`)",
        lambda f: (
            f.code == "ST202"
            and f.operation == "POST /device/v1/jobs/results"
            and bool(_fields(f))
            and all(
                re.fullmatch(r"results\.\d+\.error", name)
                and problems == ["Required when ok is false."]
                for name, problems in _fields(f).items()
            )
        ),
    ),
    (
        "400 on a device event's `data`: its content depends on its `type` "
        "(docs/device-protocol.md); the document types `data` as an object",
        lambda f: (
            f.code == "ST202"
            and f.operation == "POST /device/v1/events"
            and isinstance(f.body, dict)
            and f.body.get("message", "").startswith("data.")
        ),
    ),
    (
        "a device reads only attachments named in a send job of its handle: the inbound "
        "media it uploads is for the API, so the inferred upload -> download link is wrong",
        lambda f: f.code == "ST302" and f.operation == "POST /device/v1/attachments",
    ),
]


def _findings(ndjson: Path) -> tuple[list[Finding], dict[str, int]]:
    """Every failed check of the run, with the response it failed on; and the run's size."""
    findings: list[Finding] = []
    totals = {"cases": 0, "requests": 0}
    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished["recorder"]
        totals["cases"] += len(recorder.get("cases", {}))
        totals["requests"] += len(recorder.get("interactions", {}))
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                if check["status"] == "success":
                    continue
                failure = check["failure_info"]["failure"]
                interaction = recorder["interactions"].get(case_id) or {}
                response = interaction.get("response") or {}
                findings.append(
                    Finding(
                        code=failure["code"],
                        operation=failure.get("operation") or recorder["label"],
                        status=response.get("status_code"),
                        body=_decoded(response.get("content")),
                        request=_request(interaction.get("request") or {}),
                    )
                )
    return findings, totals


def _request(request: dict[str, Any]) -> str:
    body = _decoded(request.get("body"))
    sent = "" if body is None else f" {json.dumps(body)}"
    return f"{request.get('method')} {request.get('uri')}{sent}"


def _decoded(content: Any) -> Any:
    if not isinstance(content, dict) or "$base64" not in content:
        return content
    raw = base64.b64decode(content["$base64"])
    try:
        return json.loads(raw)
    except ValueError:
        return raw[:200].decode(errors="replace")


def test_schemathesis_finds_nothing_the_document_does_not_say(platform: Any, settings: Any) -> None:
    # The run is one client hammering one key from one address.
    settings.SWITCHBOARD_FAILED_AUTH_PER_MINUTE = 1_000_000
    settings.SWITCHBOARD_SYNC_ACTION_TIMEOUT = 3
    # /metrics as deployed with its token set (unset, it is a 404 by design): no API key opens it.
    settings.SWITCHBOARD_METRICS_TOKEN = "schemathesis-never-sends-this-token"
    account_services.account_set_rate_limit(account=platform.account, per_minute=1_000_000)
    platform.handle("+14155550100")
    # The device endpoints are driven with a device of another account's handle, so that
    # leasing its jobs never takes the simulator's.
    other, _ = account_services.account_create(name="Devices")
    device_handle = handle_services.handle_assign(account=other, address="+14155550199")
    device = handle_services.device_attach(handle=device_handle)

    render_document()  # what the first fetch of a fresh process would spend, spent here
    shutil.rmtree(REPORTS, ignore_errors=True)
    REPORTS.mkdir(parents=True)
    config = REPORTS / "schemathesis.toml"
    config.write_text(CONFIG % {"max_examples": MAX_EXAMPLES})
    completed, seconds = _run(
        platform.base_url,
        {"SB_API_KEY": platform.key, "SB_DEVICE_TOKEN": device.token},
        config,
    )
    (REPORTS / "output.txt").write_text(completed.stdout + completed.stderr)
    (ndjson,) = REPORTS.glob("*.ndjson")
    findings, totals = _findings(ndjson)
    excused: dict[str, int] = {}
    unexcused: list[Finding] = []
    for finding in findings:
        reason = next((reason for reason, applies in ACCEPTED if applies(finding)), None)
        if reason is None:
            unexcused.append(finding)
        else:
            excused[reason] = excused.get(reason, 0) + 1
    report = {
        "wall_seconds": round(seconds),
        "test_cases": totals["cases"],
        "requests": totals["requests"],
        "failures": len(unexcused),
        "accepted_by_reason": excused,
        "schemathesis_exit_code": completed.returncode,
    }
    (REPORTS / "summary.json").write_text(json.dumps(report, indent=2))
    print(completed.stdout[-4000:], json.dumps(report, indent=2), sep="\n")
    assert "Loaded specification" in completed.stdout, completed.stdout + completed.stderr
    assert totals["cases"] > 0
    assert unexcused == [], "\n".join(map(str, unexcused))
