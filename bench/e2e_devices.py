"""The end-to-end benchmark's devices (`bench/e2e.py`): the account and handles it sets up,
and the simulator process that runs one `SimulatedDevice` per handle and counts, by message
id, what the devices received."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any

# --- the simulator process (no Django: only the agent and the simulator) ---------------------


def simulate(
    tokens_file: str, summary_file: str, web: str, agents: str | None, linger: float
) -> None:
    from handles.simulator import Behaviour, SimulatedDevice

    setup = json.loads(Path(tokens_file).read_text())
    behaviour = Behaviour(
        send_delay=0.01,
        receipt_delay=0.5,
        poll_wait=25,
        heartbeat_every=15,
        report_linger=linger,
    )
    devices = [
        SimulatedDevice(
            base_url=web,
            token=item["token"],
            handle=item["address"],
            behaviour=behaviour,
            poll_url=agents,
        ).start()
        for item in setup["handles"]
    ]
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    received = Counter(
        job.payload.get("message_id") for device in devices for job in list(device.received)
    )
    summary = {
        "received": dict(received),
        "report_retries": sum(device.report_retries for device in devices),
        "refused": sum(len(device.outbox.refused) for device in devices),
        "unreported": sum(len(device.outbox) for device in devices),
    }
    Path(summary_file).write_text(json.dumps(summary))
    os._exit(0)


# --- setup (inside Django, against the scratch database) -----------------------------------


def prepare(tokens_file: str, handles: int) -> None:
    import django

    django.setup()
    from accounts import services as account_services
    from handles import services as handle_services

    account, issued = account_services.account_create(name="E2E bench")
    account_services.account_set_rate_limit(account=account, per_minute=10_000_000)
    result: dict[str, Any] = {"api_key": issued.secret, "handles": []}
    for n in range(handles):
        handle = handle_services.handle_assign(
            account=account,
            address=f"+1415600{n:04d}",
            per_minute=6000,
            burst=100,
            new_contact_budget=None,
        )
        device = handle_services.device_attach(handle=handle, name="e2e", simulated=True)
        result["handles"].append({"address": handle.address, "token": device.token})
    Path(tokens_file).write_text(json.dumps(result))
